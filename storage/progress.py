"""When a person last moved on in a journey round: the one rule.

Moving on is entering a step, writing an entry (a reason, a plan, a learning
or evidence entry, a reflection, a tip), setting a goal, or giving a rating.
The working group's /inactive list and the "stuck" nudge both ask this.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.batches import id_batches
from storage.models import Assessment, AssessmentAnswer, Goal, Journey, StepEntry
from storage.timeutil import as_utc


async def last_progress(
    session: AsyncSession, journey_ids: Iterable[int] | Select[Any]
) -> dict[int, datetime]:
    """journey id -> the last moment the person moved on in that round (aware UTC).

    `journey_ids` is ids (asked in batches) or a query selecting them, which stays
    in the database; either way any number of rounds works."""
    if isinstance(journey_ids, Select):
        return await _last_progress(session, journey_ids)
    latest: dict[int, datetime] = {}
    for ids in id_batches(journey_ids):
        latest.update(await _last_progress(session, ids))
    return latest


async def _last_progress(
    session: AsyncSession, ids: list[int] | Select[Any]
) -> dict[int, datetime]:
    queries = (
        select(Journey.id, Journey.step_started_at).where(Journey.id.in_(ids)),
        select(StepEntry.journey_id, func.max(StepEntry.created_at))
        .where(StepEntry.journey_id.in_(ids))
        .group_by(StepEntry.journey_id),
        select(Goal.journey_id, func.max(Goal.created_at))
        .where(Goal.journey_id.in_(ids))
        .group_by(Goal.journey_id),
        select(Assessment.journey_id, func.max(AssessmentAnswer.answered_at))
        .join(AssessmentAnswer, AssessmentAnswer.assessment_id == Assessment.id)
        .where(Assessment.journey_id.in_(ids))
        .group_by(Assessment.journey_id),
    )
    latest: dict[int, datetime] = {}
    for query in queries:
        for journey_id, moment in (await session.exec(query)).all():
            if moment is None:
                continue
            moment = as_utc(moment)
            if journey_id not in latest or moment > latest[journey_id]:
                latest[journey_id] = moment
    return latest
