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
the median is read. Two grouped queries, selecting by agency with joins, run side
by side on read sessions of their own.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, literal, union_all
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.types import Float
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Journey, JourneyStep, Person
from storage.reports import steps_since

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


class _DaysBetween(ColumnElement):
    """Days (fractional) from `start` to `end`, in each dialect's own arithmetic."""

    type = Float()
    inherit_cache = True

    def __init__(self, start: Any, end: Any) -> None:
        self.start, self.end = start, end


@compiles(_DaysBetween, "sqlite")
def _days_sqlite(element: _DaysBetween, compiler: Any, **kw: Any) -> str:
    return (
        f"(julianday({compiler.process(element.end, **kw)})"
        f" - julianday({compiler.process(element.start, **kw)}))"
    )


@compiles(_DaysBetween)
def _days_default(element: _DaysBetween, compiler: Any, **kw: Any) -> str:
    return (
        f"(EXTRACT(EPOCH FROM ({compiler.process(element.end, **kw)}"
        f" - {compiler.process(element.start, **kw)})) / 86400.0)"
    )


async def arm_counts(
    reads: async_sessionmaker[AsyncSession], agency_id: int, until: datetime
) -> tuple[ArmCounts, ArmCounts]:
    """(nudged, hold-out): the agency's people who had joined by `until`, the steps
    their first rounds had finished by then, and how long each step took. The two
    grouped queries run side by side, each in a read session of its own."""
    arms = {False: ArmCounts(), True: ArmCounts()}

    async def read(count: Any) -> None:
        async with reads() as session:
            await count(session, arms, agency_id, until)

    await asyncio.gather(read(_count_finished), read(_count_durations))
    return arms[False], arms[True]


async def _count_finished(
    session: AsyncSession, arms: dict[bool, ArmCounts], agency_id: int, until: datetime
) -> None:
    """Each arm's people, and how many of their first rounds finished each step."""
    reached = steps_since(until)  # rounds that have moved on since `until`
    first = aliased(Journey)
    # The first step not yet finished: 7 for a completed round; a round begun after
    # `until` has finished none.
    beyond = case(
        (first.completed_at < until, 7),  # type: ignore[operator]
        (first.started_at >= until, 0),  # type: ignore[operator]
        else_=func.coalesce(reached.c.step, first.current_step),
    )
    people = (
        select(
            Person.holdout,
            func.count(Person.id),  # type: ignore[arg-type]
            *[func.sum(case((beyond > step, 1), else_=0)) for step in STEPS],
        )
        .select_from(Person)
        .join(first, and_(first.person_id == Person.id, first.round_no == 1), isouter=True)
        .join(reached, reached.c.journey_id == first.id, isouter=True)
        .where(Person.agency_id == agency_id, Person.onboarded_at < until)  # type: ignore[operator]
        .group_by(Person.holdout)
    )
    for holdout, count, *finished in (await session.exec(people)).all():
        arm = arms[bool(holdout)]
        arm.people += int(count)
        for step, n in zip(STEPS, finished, strict=True):
            arm.finished[step] += int(n or 0)


async def _count_durations(
    session: AsyncSession, arms: dict[bool, ArmCounts], agency_id: int, until: datetime
) -> None:
    """Each arm's step durations, as histograms in tenths of a day. Both kinds of
    span start from the agency's first rounds and reach the step log through its
    index, so the log of other agencies (or of later rounds) is never read."""
    moved_on = _spans(agency_id, until, completed=False)
    completed = _spans(agency_id, until, completed=True)
    spans = union_all(moved_on, completed).subquery()
    tenths = func.round(_DaysBetween(spans.c.started, spans.c.ended) * literal(10.0))
    durations = select(spans.c.holdout, spans.c.step, tenths, func.count()).group_by(
        spans.c.holdout, spans.c.step, tenths
    )
    for holdout, step, tenth, count in (await session.exec(durations)).all():
        days = max(float(tenth), 0.0) / 10
        histogram = arms[bool(holdout)].days.setdefault(int(step), {})
        histogram[days] = histogram.get(days, 0) + int(count)


def _spans(agency_id: int, until: datetime, *, completed: bool) -> Any:
    """(holdout, step, started, ended) of each step the agency's first rounds had
    finished by `until`: a step ends when the round entered the next one
    (`completed=False`) or, for step 6, when the round was completed."""
    first, start, following = aliased(Journey), aliased(JourneyStep), aliased(JourneyStep)
    ended = first.completed_at if completed else following.entered_at
    query = (
        select(
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
