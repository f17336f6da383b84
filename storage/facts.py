"""The agency's figures, kept as people answer rather than counted when asked
(storage/models/facts.py).

Working out where every person's rounds stood at the end of a period, which of
their ratings count and how long each step took is most of the cost of a
summary, and almost none of it changes between two summaries. So:

- each person's part (their facts) is worked out once per period and kept;
- the sums of everyone's facts are kept per agency and period (`Totals`, one
  JSON row), so a summary reads one row however large the agency;
- the database's triggers list the people whose rows changed (`reportstale`);
  `catch_up` takes PEOPLE_BATCH of them off the list, subtracts their old facts
  from the sums, works their facts out again for every period kept of their
  agency and adds the new ones. A background job (jobs/facts.py) does this
  every minute, so a summary (`refresh`) finds little left; a period not kept
  yet is worked out whole, by the same queries, the first time it is asked for.

Each call runs in one writing transaction. Taking entries off the list is one
statement on PostgreSQL (DELETE ... RETURNING): a change that commits meanwhile
stays listed, and the statements that work facts out see every change committed
before they start, so nothing is lost or counted twice. An advisory lock makes
two of them take turns there; on SQLite the write lock does. Ids are bound
PEOPLE_BATCH at a time, never as a list of everyone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    and_,
    case,
    cast,
    delete,
    false,
    func,
    insert,
    literal,
    text,
    true,
    union_all,
    update,
)
from sqlalchemy.orm import aliased
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.arms import STEPS, ArmCounts, DaysBetween, spans
from storage.models import (
    Agency,
    Assessment,
    AssessmentAnswer,
    Journey,
    Person,
    ReportFact,
    ReportFactSkill,
    ReportFactSpan,
    ReportStale,
    ReportTotals,
    Unit,
)
from storage.reports import Period, SkillCell, TallyCell, reported_people, step_then
from storage.timeutil import as_utc

FACTS_LOCK = 0x646C6366  # "dlcf": the PostgreSQL advisory lock `refresh` takes
KEPT = (ReportFactSkill, ReportFactSpan, ReportFact)  # children first
ANALYSE_AFTER = 1_000  # people worked out at once, after which PostgreSQL is told
PEOPLE_BATCH = 450  # people worked out again at once (one statement binds their ids twice)


# ---- the sums -------------------------------------------------------------------------------


@dataclass
class Totals:
    """The sums of one agency's facts for one period, as kept in `ReportTotals.figures`
    (JSON: string keys, lists of whole numbers)."""

    # "unit id|group": enrolled, completed, in progress, open at each step
    tally: dict[str, list[int]] = field(default_factory=dict)
    # skill id: rated before, their sum, paired, the pairs' before and after sums
    skills: dict[str, list[int]] = field(default_factory=dict)
    # "0" nudged, "1" hold-out: people, first rounds that finished each step
    arms: dict[str, list[int]] = field(default_factory=dict)
    days: dict[str, int] = field(default_factory=dict)  # "holdout|step|tenths": rounds

    @classmethod
    def of(cls, figures: dict[str, Any]) -> Totals:
        return cls(
            **{part: dict(figures.get(part, {})) for part in ("tally", "skills", "arms", "days")}
        )

    def figures(self) -> dict[str, Any]:
        return {"tally": self.tally, "skills": self.skills, "arms": self.arms, "days": self.days}

    def add(self, other: Totals, sign: int = 1) -> None:
        """Add (`sign` 1) or take away (-1) `other`; sums that come to nothing go."""
        for mine, theirs in (
            (self.tally, other.tally),
            (self.skills, other.skills),
            (self.arms, other.arms),
        ):
            for key, values in theirs.items():
                summed = [
                    a + sign * b
                    for a, b in zip(mine.get(key, [0] * len(values)), values, strict=True)
                ]
                if any(summed):
                    mine[key] = summed
                else:
                    mine.pop(key, None)
        for key, count in other.days.items():
            left = self.days.get(key, 0) + sign * count
            if left:
                self.days[key] = left
            else:
                self.days.pop(key, None)

    def tally_cells(self, unit_names: dict[int, str]) -> list[TallyCell]:
        """The people per unit (named as the unit is named now) and personnel group."""
        cells = []
        for key, (enrolled, completed, in_progress, *steps) in sorted(self.tally.items()):
            unit, group = key.split("|", 1)
            name = unit_names.get(int(unit), "") if unit else ""
            by_step = dict(zip(STEPS, steps, strict=True))
            cells.append(TallyCell(name, group, enrolled, completed, in_progress, by_step))
        return cells

    def skill_cells(self) -> list[SkillCell]:
        return [SkillCell(skill, *values) for skill, values in sorted(self.skills.items())]

    def arm_counts(self) -> tuple[ArmCounts, ArmCounts]:
        """(nudged, hold-out) as storage.arms counts them."""
        arms = {False: ArmCounts(), True: ArmCounts()}
        for key, (people, *finished) in self.arms.items():
            arm = arms[key == "1"]
            arm.people = people
            arm.finished = dict(zip(STEPS, finished, strict=True))
        for key, count in self.days.items():
            holdout, step, tenths = key.split("|")
            histogram = arms[holdout == "1"].days.setdefault(int(step), {})
            days = max(int(tenths), 0) / 10
            histogram[days] = histogram.get(days, 0) + count
        return arms[False], arms[True]


def _count(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


async def _sums(session: AsyncSession, where: Any) -> dict[tuple[int, datetime], Totals]:
    """The sums of the facts rows for which `where(table)` holds, per agency and period
    (four grouped queries)."""
    found: dict[tuple[int, datetime], Totals] = {}

    def totals(agency_id: int, period_end: datetime) -> Totals:
        return found.setdefault((agency_id, as_utc(period_end)), Totals())

    fact, rating, span = ReportFact, ReportFactSkill, ReportFactSpan
    tally = (
        select(
            fact.agency_id,
            fact.period_end,
            fact.unit_id,
            fact.personnel_group,
            func.count(),
            _count(fact.completed),
            _count(fact.is_open),
            *[_count(and_(fact.is_open, fact.step == step)) for step in STEPS],
        )
        .where(where(fact), fact.reported)
        .group_by(fact.agency_id, fact.period_end, fact.unit_id, fact.personnel_group)
    )
    for agency_id, end, unit, group, *values in (await session.exec(tally)).all():
        key = f"{'' if unit is None else unit}|{group}"
        totals(agency_id, end).tally[key] = [int(v or 0) for v in values]
    arms = (
        select(
            fact.agency_id,
            fact.period_end,
            fact.holdout,
            func.count(),
            *[_count(fact.beyond > step) for step in STEPS],  # type: ignore[operator]
        )
        .where(where(fact), fact.joined)
        .group_by(fact.agency_id, fact.period_end, fact.holdout)
    )
    for agency_id, end, holdout, *values in (await session.exec(arms)).all():
        totals(agency_id, end).arms["1" if holdout else "0"] = [int(v or 0) for v in values]
    paired_pre = case((rating.post.is_not(None), rating.pre), else_=0)  # type: ignore[union-attr]
    skills = (
        select(
            rating.agency_id,
            rating.period_end,
            rating.skill_id,
            func.count(rating.pre),
            func.sum(rating.pre),
            func.count(rating.post),
            func.sum(paired_pre),
            func.coalesce(func.sum(rating.post), 0),
        )
        .where(where(rating))
        .group_by(rating.agency_id, rating.period_end, rating.skill_id)
    )
    for agency_id, end, skill, *values in (await session.exec(skills)).all():
        totals(agency_id, end).skills[skill] = [int(v or 0) for v in values]
    days = (
        select(span.agency_id, span.period_end, span.holdout, span.step, span.tenths, func.count())
        .where(where(span))
        .group_by(span.agency_id, span.period_end, span.holdout, span.step, span.tenths)
    )
    for agency_id, end, holdout, step, tenths, count in (await session.exec(days)).all():
        totals(agency_id, end).days[f"{int(bool(holdout))}|{step}|{tenths}"] = int(count)
    return found


# ---- keeping them up to date ------------------------------------------------------------------


async def refresh(
    session: AsyncSession, agency_id: int, agency_code: str, period: Period
) -> Totals:
    """The agency's sums for `period`, brought up to date (see the module docstring)."""
    while await catch_up(session) == PEOPLE_BATCH:
        pass
    kept = await _kept(session, agency_id, period.end)
    if kept is not None:
        return kept
    return await _work_out_period(session, agency_id, agency_code, period)


async def is_kept(session: AsyncSession, agency_id: int, period: Period) -> bool:
    """Are the agency's sums for `period` kept (worked out whole once already)?"""
    return await _kept(session, agency_id, period.end) is not None


def _totals_row(agency_id: int, period_end: datetime) -> Any:
    return and_(ReportTotals.agency_id == agency_id, ReportTotals.period_end == period_end)


async def _kept(session: AsyncSession, agency_id: int, period_end: datetime) -> Totals | None:
    """The sums kept for the agency and period, or None when it is not kept yet."""
    query = select(ReportTotals.figures).where(_totals_row(agency_id, period_end))
    figures = (await session.exec(query)).first()
    return None if figures is None else Totals.of(figures)


async def catch_up(session: AsyncSession) -> int:
    """Work out again the first PEOPLE_BATCH people the triggers listed (all of
    them go when no period is kept yet: there is nothing to move); how many
    entries of the list were taken."""
    await _take_turns(session)
    if (await session.exec(select(ReportTotals.agency_id).limit(1))).first() is None:
        await session.exec(delete(ReportStale))
        return 0
    taken = await _take_changed(session, PEOPLE_BATCH)
    if taken:
        await _work_out_again(session, sorted(set(taken)))
    return len(taken)


async def _take_changed(session: AsyncSession, limit: int) -> list[int]:
    """Up to `limit` entries of the list (oldest first), taken off it: their people."""
    if session.bind.dialect.name == "postgresql":
        taken = await session.exec(
            text(
                "DELETE FROM reportstale WHERE id IN (SELECT id FROM reportstale"
                " ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED) RETURNING person_id"
            ).bindparams(limit=limit)
        )
        return [person_id for (person_id,) in taken.all()]
    listed = (
        await session.exec(
            select(ReportStale.id, ReportStale.person_id).order_by(ReportStale.id).limit(limit)
        )
    ).all()
    await session.exec(delete(ReportStale).where(ReportStale.id.in_([i for i, _ in listed])))
    return [person_id for _, person_id in listed]


async def forget(session: AsyncSession, person_id: int) -> None:
    """Take a person who is about to be erased out of every sum kept, and their facts
    with them (their rows would go with the person, the sums would not)."""
    await _take_turns(session)
    await _work_out_again(session, [person_id], again=False)


async def _take_turns(session: AsyncSession) -> None:
    """On PostgreSQL, wait for any other transaction moving the sums (the lock is
    held to the end of this one); on SQLite the write lock already does this."""
    if session.bind.dialect.name == "postgresql":
        await session.exec(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=FACTS_LOCK))


async def _work_out_again(session: AsyncSession, people: list[int], *, again: bool = True) -> None:
    """For these people (at most PEOPLE_BATCH): their old facts out of the sums and the
    tables, and (`again`) their facts worked out again for every period kept of
    their agency, and those into the sums."""

    def theirs(table: Any) -> Any:
        return table.person_id.in_(people)

    moved = await _sums(session, theirs)
    for table in KEPT:
        await session.exec(delete(table).where(theirs(table)))
    added = await _add_again(session, people) if again else {}
    for agency_id, end in moved.keys() | added.keys():
        totals = await _kept(session, agency_id, end)
        if totals is None:  # facts of a period no longer kept: nothing to move
            continue
        if (agency_id, end) in moved:
            totals.add(moved[agency_id, end], -1)
        if (agency_id, end) in added:
            totals.add(added[agency_id, end])
        await session.exec(
            update(ReportTotals).where(_totals_row(agency_id, end)).values(figures=totals.figures())
        )


async def _add_again(
    session: AsyncSession, people: list[int]
) -> dict[tuple[int, datetime], Totals]:
    """Work these people's facts out for every period kept of their agency; their sums."""
    kept = (
        select(
            ReportTotals.agency_id, Agency.code, ReportTotals.period_start, ReportTotals.period_end
        )
        .join(Agency, Agency.id == ReportTotals.agency_id)
        .where(ReportTotals.agency_id.in_(select(Person.agency_id).where(Person.id.in_(people))))
    )
    for agency_id, code, start, end in (await session.exec(kept)).all():
        await _add(session, agency_id, code, Period(start, end), Person.id.in_(people))
    return await _sums(session, lambda table: table.person_id.in_(people))


async def _work_out_period(
    session: AsyncSession, agency_id: int, agency_code: str, period: Period
) -> Totals:
    """Everyone's facts for a period not kept yet, and their sums, kept from now on."""
    for table in KEPT:  # none should be there; a period is kept whole or not at all
        await session.exec(
            delete(table).where(table.agency_id == agency_id, table.period_end == period.end)
        )
    added = await _add(session, agency_id, agency_code, period, None)
    if added >= ANALYSE_AFTER and session.bind.dialect.name == "postgresql":
        # The planner's picture of tables that have just grown is of them nearly empty
        # and autovacuum looks again only after a while: tell it now.
        for table in KEPT:
            await session.exec(text(f"ANALYZE {table.__tablename__}"))

    def of_period(table: Any) -> Any:
        return and_(table.agency_id == agency_id, table.period_end == period.end)

    totals = (await _sums(session, of_period)).get((agency_id, as_utc(period.end)), Totals())
    row = {
        "agency_id": agency_id,
        "period_end": period.end,
        "period_start": period.start,
        "figures": totals.figures(),
    }
    await session.exec(insert(ReportTotals).values(row))
    return totals


async def unit_names(session: AsyncSession, agency_id: int) -> dict[int, str]:
    """The agency's units by id, named as they are now."""
    rows = await session.exec(select(Unit.id, Unit.name).where(Unit.agency_id == agency_id))
    return {unit_id: name for unit_id, name in rows.all()}


# ---- working facts out -------------------------------------------------------------------------


def _period_end(period: Period) -> Any:
    """The period's end as a value of the facts' `period_end` column."""
    return literal(period.end, type_=ReportFact.__table__.c.period_end.type)


async def _add(
    session: AsyncSession, agency_id: int, agency_code: str, period: Period, who: Any
) -> int:
    """Work out the facts of the agency's people for which `who` holds (everyone when
    None) for `period`; the number of people worked out."""
    await _add_skills(session, agency_id, agency_code, period, who)
    await _add_spans(session, agency_id, period, who)
    return await _add_facts(session, agency_id, agency_code, period, who)


async def _add_skills(
    session: AsyncSession, agency_id: int, agency_code: str, period: Period, who: Any
) -> None:
    """Each before rating of the people's reported rounds, with the same
    round's after rating of that skill. Both are reached from the round through the
    indexes (its assessment of each kind, then its answers)."""
    people = reported_people(agency_code, period, step=False, only=who)
    pre, post = aliased(Assessment), aliased(Assessment)
    before, after = aliased(AssessmentAnswer), aliased(AssessmentAnswer)
    ratings = (
        select(
            people.c.person_id,
            _period_end(period),
            literal(agency_id),
            before.skill_id,
            before.level,
            after.level,
        )
        .select_from(people)
        .join(pre, and_(pre.journey_id == people.c.reported, pre.kind == "pre"))
        .join(before, before.assessment_id == pre.id)
        .join(post, and_(post.journey_id == people.c.reported, post.kind != "pre"), isouter=True)
        .join(
            after,
            and_(after.assessment_id == post.id, after.skill_id == before.skill_id),
            isouter=True,
        )
    )
    columns = ["person_id", "period_end", "agency_id", "skill_id", "pre", "post"]
    await session.exec(insert(ReportFactSkill).from_select(columns, ratings))


async def _add_spans(session: AsyncSession, agency_id: int, period: Period, who: Any) -> None:
    """How long each step took that the people's first rounds had finished
    by the end, in tenths of a day."""
    both = union_all(
        spans(agency_id, period.end, completed=False, only=who),
        spans(agency_id, period.end, completed=True, only=who),
    ).subquery()
    tenths = func.round(DaysBetween(both.c.started, both.c.ended) * literal(10.0))
    rows = select(
        both.c.person_id,
        _period_end(period),
        literal(agency_id),
        both.c.holdout,
        both.c.step,
        cast(tenths, Integer),
    )
    columns = ["person_id", "period_end", "agency_id", "holdout", "step", "tenths"]
    await session.exec(insert(ReportFactSpan).from_select(columns, rows))


async def _add_facts(
    session: AsyncSession, agency_id: int, agency_code: str, period: Period, who: Any
) -> int:
    """One row for each of the people, whether or not they are in the
    period's report: their cell of the tally and how far their first round went."""
    people = reported_people(agency_code, period, only=who)
    until = period.end
    first = aliased(Journey)
    # The first step not yet finished: 7 for a completed round; a round begun after
    # the end has finished none.
    beyond = case(
        (first.completed_at < until, 7),  # type: ignore[operator]
        (first.started_at >= until, 0),  # type: ignore[operator]
        else_=step_then(first, until),
    )
    rows = (
        select(
            Person.id,
            _period_end(period),
            literal(agency_id),
            Person.unit_id,
            func.coalesce(Person.personnel_group, ""),
            case((people.c.person_id.is_not(None), true()), else_=false()),
            people.c.step,
            case((people.c.is_open == 1, true()), else_=false()),
            case((people.c.completed == 1, true()), else_=false()),
            case((Person.onboarded_at < until, true()), else_=false()),  # type: ignore[operator]
            Person.holdout,
            beyond,
        )
        .select_from(Person)
        .join(people, people.c.person_id == Person.id, isouter=True)
        .join(first, and_(first.person_id == Person.id, first.round_no == 1), isouter=True)
        .where(Person.agency_id == agency_id)
    )
    if who is not None:
        rows = rows.where(who)
    columns = [
        "person_id",
        "period_end",
        "agency_id",
        "unit_id",
        "personnel_group",
        "reported",
        "step",
        "is_open",
        "completed",
        "joined",
        "holdout",
        "beyond",
    ]
    result = await session.exec(insert(ReportFact).from_select(columns, rows))
    return max(result.rowcount or 0, 0)
