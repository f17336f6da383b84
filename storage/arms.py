"""The hold-out group: who is in it, and the counts that compare it with the nudged.

Each agency keeps a share of its people (`Agency.holdout_percent`) who get only
the check-ins they chose. Whether a person is one of them is drawn once, when
they join the agency, from a hash of the agency's own seed and the person's id,
and stored on the person (`Person.holdout`): the same seed and id always give
the same answer, so the draw can be checked afterwards, and changing the share
later changes nobody who already joined. (Migration 0010 drew everyone who had
joined before it with the same rule.)

The comparison counts each person's first round only, as it stood at `until`:
how many people are in each arm, how many finished each of the six steps (a
step is finished when the round entered a later one, or was completed), and,
per step, how long it took (from entering the step to entering the next, or to
completing the round for step 6) as a histogram in tenths of a day, from which
the median is read. The spans are worked out here, person by person, into each
person's facts, and the arms are counted from those (storage.facts).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.types import Float
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Journey, JourneyStep, Person

STEPS = (1, 2, 3, 4, 5, 6)
DEFAULT_PERCENT = 10
MAX_PERCENT = 50  # a hold-out larger than the nudged group would make little sense


def holdout_draw(seed: str, person_id: int) -> float:
    """The person's draw in [0, 1): the first 8 bytes of sha256("<seed>:<id>")."""
    digest = hashlib.sha256(f"{seed}:{person_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def in_holdout(seed: str, person_id: int, percent: int) -> bool:
    """Is the person in the hold-out group of an agency keeping `percent` % back?"""
    return holdout_draw(seed, person_id) * 100 < percent


@dataclass
class ArmCounts:
    """One arm (nudged or hold-out) as counted in the database."""

    people: int = 0
    finished: dict[int, int] = field(default_factory=lambda: dict.fromkeys(STEPS, 0))
    # step -> {days (to a tenth): how many rounds took that long}
    days: dict[int, dict[float, int]] = field(default_factory=dict)


class DaysBetween(ColumnElement):
    """Days (fractional) from `start` to `end`, in each dialect's own arithmetic."""

    type = Float()
    inherit_cache = True

    def __init__(self, start: Any, end: Any) -> None:
        self.start, self.end = start, end


@compiles(DaysBetween, "sqlite")
def _days_sqlite(element: DaysBetween, compiler: Any, **kw: Any) -> str:
    return (
        f"(julianday({compiler.process(element.end, **kw)})"
        f" - julianday({compiler.process(element.start, **kw)}))"
    )


@compiles(DaysBetween)
def _days_default(element: DaysBetween, compiler: Any, **kw: Any) -> str:
    return (
        f"(EXTRACT(EPOCH FROM ({compiler.process(element.end, **kw)}"
        f" - {compiler.process(element.start, **kw)})) / 86400.0)"
    )


def spans(agency_id: int, until: datetime, *, completed: bool, only: Any = None) -> Any:
    """(person_id, holdout, step, started, ended) of each step the agency's first
    rounds had finished by `until`: a step ends when the round entered the next one
    (`completed=False`) or, for step 6, when the round was completed. Both kinds of
    span start from the agency's first rounds and reach the step log through its
    index, so the log of other agencies (or of later rounds) is never read. `only`:
    a condition on `Person` that limits them to some people."""
    first, start, following = aliased(Journey), aliased(JourneyStep), aliased(JourneyStep)
    ended = first.completed_at if completed else following.entered_at
    query = (
        select(
            Person.id.label("person_id"),  # type: ignore[union-attr]
            Person.holdout.label("holdout"),
            start.step.label("step"),
            start.entered_at.label("started"),
            ended.label("ended"),  # type: ignore[union-attr]
        )
        .select_from(Person)
        .join(first, and_(first.person_id == Person.id, first.round_no == 1))
        .join(start, start.journey_id == first.id)
        .where(Person.agency_id == agency_id, Person.onboarded_at < until)  # type: ignore[operator]
    )
    if only is not None:
        query = query.where(only)
    if completed:
        return query.where(start.step == 6, first.completed_at < until)  # type: ignore[operator]
    next_step = and_(
        following.journey_id == start.journey_id,
        following.step == start.step + 1,
        following.entered_at < until,
    )
    return query.join(following, next_step)


async def holdout_tally(session: AsyncSession, agency_id: int) -> tuple[int, int]:
    """(people, of whom in the hold-out group) among those who joined the agency."""
    query = select(
        func.count(Person.id),  # type: ignore[arg-type]
        func.coalesce(func.sum(case((Person.holdout, 1), else_=0)), 0),
    ).where(Person.agency_id == agency_id, Person.onboarded_at.is_not(None))  # type: ignore[union-attr]
    people, held = (await session.exec(query)).one()
    return int(people), int(held)
