"""Read models for reports: one row per person, from the database only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Agency,
    Assessment,
    AssessmentAnswer,
    Journey,
    Person,
    StepEntry,
    Unit,
)


@dataclass
class PersonRow:
    """A person's latest journey round, as the working group reports it."""

    person_id: int
    journey_id: int
    name: str
    agency_code: str
    unit: str
    personnel_group: str
    round_no: int
    current_step: int
    pre: dict[str, int] = field(default_factory=dict)
    post: dict[str, int] = field(default_factory=dict)
    learning_entries: int = 0
    evidence_entries: int = 0
    started_at: datetime | None = None
    completed_at: datetime | None = None
    timezone: str = "Asia/Bangkok"  # the agency's, for showing dates


async def person_rows(session: AsyncSession, agency_code: str | None = None) -> list[PersonRow]:
    """Every onboarded person (of one agency, if given) with their latest round."""
    latest = (
        select(Journey.person_id, func.max(Journey.round_no).label("round_no"))
        .group_by(Journey.person_id)
        .subquery()
    )
    query = (
        select(Person, Agency, Unit, Journey)
        .join(Agency, Agency.id == Person.agency_id)
        .join(Unit, Unit.id == Person.unit_id, isouter=True)
        .join(latest, latest.c.person_id == Person.id)
        .join(
            Journey,
            (Journey.person_id == Person.id) & (Journey.round_no == latest.c.round_no),
        )
        .order_by(Agency.code, Person.id)
    )
    if agency_code:
        query = query.where(Agency.code == agency_code)
    rows: list[PersonRow] = []
    for person, agency, unit, journey in (await session.exec(query)).all():
        rows.append(
            PersonRow(
                person_id=person.id,
                journey_id=journey.id,
                name=person.display_name or "",
                agency_code=agency.code,
                unit=unit.name if unit else "",
                personnel_group=person.personnel_group or "",
                round_no=journey.round_no,
                current_step=journey.current_step,
                started_at=journey.started_at,
                completed_at=journey.completed_at,
                timezone=agency.timezone,
            )
        )
    await _fill_details(session, rows)
    return rows


async def _fill_details(session: AsyncSession, rows: list[PersonRow]) -> None:
    """Ratings and entry counts of the rows' journeys, in two queries."""
    by_journey = {r.journey_id: r for r in rows}
    if not by_journey:
        return
    answers = (
        select(
            Assessment.journey_id,
            Assessment.kind,
            AssessmentAnswer.skill_id,
            AssessmentAnswer.level,
        )
        .join(AssessmentAnswer, AssessmentAnswer.assessment_id == Assessment.id)
        .where(Assessment.journey_id.in_(list(by_journey)))
    )
    for journey_id, kind, skill_id, level in (await session.exec(answers)).all():
        row = by_journey[journey_id]
        (row.pre if kind == "pre" else row.post)[skill_id] = level
    counts = (
        select(StepEntry.journey_id, StepEntry.kind, func.count())
        .where(
            StepEntry.journey_id.in_(list(by_journey)),
            StepEntry.kind.in_(["learning", "evidence"]),
        )
        .group_by(StepEntry.journey_id, StepEntry.kind)
    )
    for journey_id, kind, count in (await session.exec(counts)).all():
        row = by_journey[journey_id]
        if kind == "learning":
            row.learning_entries = count
        else:
            row.evidence_entries = count
