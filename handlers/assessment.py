"""Self-assessments: storing ratings and summarising them.

Ratings are indicative self-ratings on a 1-5 scale described in content/; the
summaries never call them an official level.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Assessment, AssessmentAnswer, Journey
from storage.ratings import store_rating

# Built once: a rating turn reads an assessment and its ratings, and building a
# statement and working out its cache key is CPU on every call.
_ASSESSMENT = select(Assessment).where(
    Assessment.journey_id == bindparam("journey_id"), Assessment.kind == bindparam("kind")
)
# Plain columns, not loaded objects: a rating is stored by an upsert, which an
# answer of the same skill loaded earlier in the session would not see.
_RATINGS = select(AssessmentAnswer.skill_id, AssessmentAnswer.level).where(
    AssessmentAnswer.assessment_id == bindparam("assessment_id")
)


async def get_assessment(session: AsyncSession, journey: Journey, kind: str) -> Assessment | None:
    result = await session.exec(_ASSESSMENT, params={"journey_id": journey.id, "kind": kind})
    return result.first()


async def get_or_start(
    session: AsyncSession, journey: Journey, kind: str, now: datetime
) -> Assessment:
    """The journey's `pre` or `post` assessment, created on first use."""
    found = await get_assessment(session, journey, kind)
    if found is None:
        found = Assessment(
            journey_id=journey.id, person_id=journey.person_id, kind=kind, started_at=now
        )
        session.add(found)
        await session.flush()
    return found


async def ratings(session: AsyncSession, assessment: Assessment | None) -> dict[str, int]:
    """skill id -> level for one assessment."""
    if assessment is None:
        return {}
    result = await session.exec(_RATINGS, params={"assessment_id": assessment.id})
    return {skill_id: level for skill_id, level in result.all()}


async def last_round_ratings(session: AsyncSession, journey: Journey) -> dict[str, int]:
    """The person's ratings at the end of their latest earlier round (its completed
    `post` assessment), so a new round's step 2 can start from them; empty in round 1."""
    if journey.round_no <= 1:  # no earlier round to look for (each rating asks)
        return {}
    result = await session.exec(
        select(Assessment)
        .join(Journey, Journey.id == Assessment.journey_id)  # type: ignore[arg-type]
        .where(
            Journey.person_id == journey.person_id,
            Journey.round_no < journey.round_no,
            Assessment.kind == "post",
            Assessment.completed_at.is_not(None),  # type: ignore[union-attr]
        )
        .order_by(Journey.round_no.desc())  # type: ignore[attr-defined]
        .limit(1)
    )
    return await ratings(session, result.first())


async def save_rating(
    session: AsyncSession, assessment: Assessment, skill_id: str, level: int, now: datetime
) -> None:
    """Store one rating at once; rating the same skill again replaces the old value."""
    assert assessment.id is not None
    await store_rating(session, assessment.id, skill_id, level, now)


@dataclass(frozen=True)
class Summary:
    """What a set of ratings says: the average and the strongest and weakest skills."""

    average: float
    strongest: list[str]
    weakest: list[str]


def summarise(levels: dict[str, int], order: list[str]) -> Summary:
    """Summary of `levels`, with ties kept in the content's skill order."""
    rated = [s for s in order if s in levels]
    if not rated:
        return Summary(0.0, [], [])
    top = max(levels[s] for s in rated)
    bottom = min(levels[s] for s in rated)
    return Summary(
        average=round(sum(levels[s] for s in rated) / len(rated), 1),
        strongest=[s for s in rated if levels[s] == top],
        weakest=[s for s in rated if levels[s] == bottom],
    )


def growth(pre: dict[str, int], post: dict[str, int]) -> dict[str, int]:
    """Post minus pre, for skills rated both times."""
    return {s: post[s] - pre[s] for s in post if s in pre}
