"""Read models for reports: one row per person for a period, from the database only.

A person is in a period's report when a round of theirs was under way during
it: begun before its end, and not finished before its start. Each row keeps
two rounds apart, so a finished round is never hidden by the next one:

- `current`, the latest round begun before the period's end, at the step it
  had reached by then (from the step log), open unless it was completed by then;
- `completed`, the latest round completed within the period (possibly the
  same round).

Logs (learning and evidence entries) count when they were written within the
period, whatever their round. Every query selects by agency with a join, never
with a list of ids, so the size of an agency does not matter to the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Agency,
    Assessment,
    AssessmentAnswer,
    Goal,
    Headcount,
    Idea,
    Journey,
    JourneyStep,
    Person,
    StaffMember,
    StepEntry,
    Unit,
)
from storage.models.admin import TIP
from storage.progress import last_progress
from storage.timeutil import as_utc

STEPS = (1, 2, 3, 4, 5, 6)


@dataclass(frozen=True)
class Period:
    """The span a report covers: from `start` (inclusive) to `end` (exclusive), aware UTC."""

    start: datetime
    end: datetime

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= as_utc(moment) < self.end


@dataclass(frozen=True)
class GoalRow:
    """A focus skill of a round: where the person started, the target, the date, the way."""

    skill_id: str
    start_level: int
    target_level: int | None
    target_date: date | None
    approach: str | None


@dataclass
class RoundRow:
    """One round as the report sees it at the end of the period."""

    journey_id: int
    round_no: int
    step: int
    started_at: datetime
    completed_at: datetime | None  # None: not completed by the end of the period
    pre: dict[str, int] = field(default_factory=dict)
    post: dict[str, int] = field(default_factory=dict)
    goals: list[GoalRow] = field(default_factory=list)

    def reached(self, goal: GoalRow) -> bool | None:
        """Was the goal's target reached at the re-assessment? None before it."""
        if goal.skill_id not in self.post or goal.target_level is None:
            return None
        return self.post[goal.skill_id] >= goal.target_level


@dataclass(frozen=True)
class EvidenceRow:
    """One use of a skill at work, as the person logged it in step 5."""

    person_id: int
    round_no: int
    skill_id: str | None
    task: str
    tool: str
    result: str
    outcome: str | None  # an outcome id from content/groups.yaml, "other", or None (unknown)
    created_at: datetime


@dataclass
class PersonRow:
    """A person in a period's report (see the module docstring)."""

    person_id: int
    number: int | None  # the person's number in their agency (what admins read and type)
    name: str
    agency_code: str
    unit: str
    personnel_group: str
    current: RoundRow
    completed: RoundRow | None = None
    learning_entries: int = 0
    learning_minutes: int = 0
    evidence_entries: int = 0
    evidence: list[EvidenceRow] = field(default_factory=list)
    timezone: str = "Asia/Bangkok"  # the agency's, for showing dates

    @property
    def is_open(self) -> bool:
        """A round is under way at the end of the period."""
        return self.current.completed_at is None

    @property
    def reported(self) -> RoundRow:
        """The round whose ratings stand for the person: the completed one, if any."""
        return self.completed or self.current

    @property
    def pre(self) -> dict[str, int]:
        return self.reported.pre

    @property
    def post(self) -> dict[str, int]:
        return self.reported.post

    @property
    def completed_at(self) -> datetime | None:
        return self.completed.completed_at if self.completed else None

    @property
    def journey_id(self) -> int:
        return self.current.journey_id

    @property
    def round_no(self) -> int:
        return self.current.round_no

    @property
    def current_step(self) -> int:
        return self.current.step

    @property
    def started_at(self) -> datetime:
        return self.current.started_at


def _in_agency(query: Any, agency_code: str | None, person_column: Any) -> Any:
    """Limit `query` to the people of one agency (by a join on the person's agency)."""
    query = query.join(Person, Person.id == person_column).join(
        Agency, Agency.id == Person.agency_id
    )
    if agency_code:
        query = query.where(Agency.code == agency_code)
    return query.where(Person.onboarded_at.is_not(None))  # type: ignore[union-attr]


def rounds_of(agency_codes: list[str]) -> Any:
    """A query of the ids of every round of these agencies' people (to pass to a
    query as a subquery, never as a list of ids)."""
    return (
        select(Journey.id)
        .join(Person, Person.id == Journey.person_id)
        .join(Agency, Agency.id == Person.agency_id)
        .where(Agency.code.in_(agency_codes))  # type: ignore[attr-defined]
    )


async def _all(session: AsyncSession, query: Any) -> list[Any]:
    """The rows of a query of plain columns, read through the session's connection:
    the ORM's per-row work is a large part of reading 100,000 people."""
    connection = await session.connection()
    return list((await connection.execute(query)).all())


async def _entities(session: AsyncSession, query: Any) -> list[Any]:
    """The rows of a query of whole tables (small ones: headcounts, the staff list)."""
    return list((await session.exec(query)).all())


async def person_rows(
    session: AsyncSession,
    agency_code: str | None,
    period: Period,
    skills: Sequence[str],
) -> list[PersonRow]:
    """Everyone (of one agency, if given) who took part during `period`, by agency and id:
    one query for the people, their two rounds and their log totals, one row per round
    for the ratings of `skills`, one each for goals and evidence entries, all read as
    plain columns."""
    people = reported_people(agency_code, period)
    totals = _log_totals(agency_code, period)
    query = (
        select(*people.c, totals.c.learning, totals.c.minutes, totals.c.evidence)
        .select_from(people)
        .join(totals, totals.c.person_id == people.c.person_id, isouter=True)
        .order_by(people.c.agency, people.c.person_id)
    )
    rows: list[PersonRow] = []
    rounds: dict[int, RoundRow] = {}
    for line in await _all(session, query):
        current = _round_row(
            line.current_id,
            line.current_round,
            line.current_started,
            line.current_completed,
            line.step,
            period,
        )
        completed = None
        if line.completed_id == line.current_id:
            completed = current
        elif line.completed_id is not None:
            completed = _round_row(
                line.completed_id,
                line.completed_round,
                line.completed_started,
                line.completed_at,
                6,
                period,
            )
        for item in (current, completed):
            if item is not None:
                rounds[item.journey_id] = item
        rows.append(
            PersonRow(
                person_id=line.person_id,
                number=line.number,
                name=line.name or "",
                agency_code=line.agency,
                unit=line.unit,
                personnel_group=line.personnel_group,
                current=current,
                completed=completed,
                learning_entries=int(line.learning or 0),
                learning_minutes=int(line.minutes or 0),
                evidence_entries=int(line.evidence or 0),
                timezone=line.timezone,
            )
        )
    await _fill_rounds(session, agency_code, period, rounds, skills)
    await _fill_evidence(session, agency_code, period, {r.person_id: r for r in rows})
    return rows


def _round_row(
    journey_id: int,
    round_no: int,
    started_at: datetime,
    completed_at: datetime | None,
    step: int,
    period: Period,
) -> RoundRow:
    """A round as it stood at the end of the period."""
    if completed_at is not None and as_utc(completed_at) >= period.end:
        completed_at = None  # finished only after the period
    return RoundRow(
        journey_id=journey_id,
        round_no=round_no,
        step=6 if completed_at is not None else step,
        started_at=started_at,
        completed_at=completed_at,
    )


def _levels(skills: Sequence[str]) -> list[Any]:
    """Aggregates of a round's answers: its before rating of each of `skills`, then
    its after rating of each (NULL where there is none)."""
    return [
        func.max(
            case(
                (
                    and_(
                        Assessment.kind == "pre" if before else Assessment.kind != "pre",
                        AssessmentAnswer.skill_id == skill,
                    ),
                    AssessmentAnswer.level,
                ),
                else_=None,
            )
        ).label(f"{'pre' if before else 'post'}_{skill}")
        for before in (True, False)
        for skill in skills
    ]


async def table_lines(
    session: AsyncSession, agency_code: str | None, period: Period, skills: Sequence[str]
) -> list[Any]:
    """The CSV table in one query: per person of the period (by agency and id) who
    they are, their completed and open rounds, the ratings of their reported round
    (`pre_<skill>`, `post_<skill>`) and their log totals, as plain columns."""
    people = reported_people(agency_code, period, cte=True)
    ratings = (
        select(people.c.person_id, *_levels(skills))
        .select_from(people)
        .join(Assessment, Assessment.journey_id == people.c.reported)
        .join(AssessmentAnswer, AssessmentAnswer.assessment_id == Assessment.id)
        .group_by(people.c.person_id)
        .subquery()
    )
    totals = _log_totals(agency_code, period)
    query = (
        select(
            people,
            *[c for c in ratings.c if c.name != "person_id"],
            func.coalesce(totals.c.learning, 0).label("learning"),
            func.coalesce(totals.c.minutes, 0).label("minutes"),
            func.coalesce(totals.c.evidence, 0).label("evidence"),
        )
        .join(ratings, ratings.c.person_id == people.c.person_id, isouter=True)
        .join(totals, totals.c.person_id == people.c.person_id, isouter=True)
        .order_by(people.c.agency, people.c.person_id)
    )
    return await _all(session, query)


def _rounds_under_way(agency_code: str | None, period: Period) -> Any:
    """The ids of the agency's rounds that were under way during the period: begun
    before its end and not finished before its start. Every round a report shows is
    among them (the current one while it is open at the end, the one completed within
    the period); a few others may be too, and are skipped. Read from the rounds
    themselves, not from `reported_people` again: as a subquery of the ratings' and
    the goals' queries, that worked out everyone's rounds twice more for each."""
    query = select(Journey.id.label("journey_id")).where(
        Journey.started_at < period.end,
        or_(Journey.completed_at.is_(None), Journey.completed_at >= period.start),  # type: ignore[union-attr,operator]
    )
    return _in_agency(query, agency_code, Journey.person_id).subquery()


async def _fill_rounds(
    session: AsyncSession,
    agency_code: str | None,
    period: Period,
    rounds: dict[int, RoundRow],
    skills: Sequence[str],
) -> None:
    """The ratings and goals of the rounds the rows report (`rounds`, by id), read for
    every round under way during the period: the ratings as one row per round, a
    before and an after column per skill."""
    if not rounds:
        return
    under_way = _rounds_under_way(agency_code, period)
    answers = (
        select(Assessment.journey_id, *_levels(skills))
        .select_from(under_way)
        .join(Assessment, Assessment.journey_id == under_way.c.journey_id)
        .join(AssessmentAnswer, AssessmentAnswer.assessment_id == Assessment.id)
        .group_by(Assessment.journey_id)
    )
    for journey_id, *found in await _all(session, answers):
        item = rounds.get(journey_id)
        if item is None:  # under way, but not the round the report shows
            continue
        for skill, pre, post in zip(
            skills, found[: len(skills)], found[len(skills) :], strict=True
        ):
            if pre is not None:
                item.pre[skill] = pre
            if post is not None:
                item.post[skill] = post
    goals = (
        select(
            Goal.journey_id,
            Goal.skill_id,
            Goal.start_level,
            Goal.target_level,
            Goal.target_date,
            Goal.approach,
        )
        .select_from(under_way)
        .join(Goal, Goal.journey_id == under_way.c.journey_id)
        .order_by(Goal.id)
    )
    for journey_id, *goal in await _all(session, goals):
        item = rounds.get(journey_id)
        if item is not None:
            item.goals.append(GoalRow(*goal))


@dataclass(frozen=True)
class HeadcountCell:
    """How many staff one unit and personnel group has ("" where the cell names none)."""

    unit: str
    personnel_group: str
    count: int


@dataclass(frozen=True)
class StaffLineRow:
    """A line of the staff list that no person has claimed yet."""

    staff_code: str
    unit: str
    personnel_group: str


async def headcounts(session: AsyncSession, agency_id: int) -> list[HeadcountCell]:
    """The agency's recorded headcount, cell by cell (empty when none is recorded)."""
    query = (
        select(Headcount, Unit)
        .join(Unit, Unit.id == Headcount.unit_id, isouter=True)
        .where(Headcount.agency_id == agency_id)
    )
    return [
        HeadcountCell(unit.name if unit else "", cell.personnel_group or "", cell.count)
        for cell, unit in await _entities(session, query)
    ]


async def not_joined(session: AsyncSession, agency_id: int) -> list[StaffLineRow] | None:
    """Lines of the staff list with a staff code nobody has claimed, by unit and code;
    None when the agency's staff list gives no staff codes (nobody can be named)."""
    query = (
        select(StaffMember, Unit)
        .join(Unit, Unit.id == StaffMember.unit_id, isouter=True)
        .where(StaffMember.agency_id == agency_id, StaffMember.staff_code.is_not(None))  # type: ignore[union-attr]
    )
    lines = await _entities(session, query)
    if not lines:
        return None
    rows = [
        StaffLineRow(member.staff_code, unit.name if unit else "", member.personnel_group or "")
        for member, unit in lines
        if member.person_id is None
    ]
    return sorted(rows, key=lambda r: (r.unit == "", r.unit, r.staff_code))


def _logs(agency_code: str | None, period: Period, *columns: Any) -> Any:
    """Learning and evidence entries of the agency's people written within the period."""
    return _in_agency(
        select(*columns).join(Journey, Journey.id == StepEntry.journey_id),
        agency_code,
        StepEntry.person_id,
    ).where(
        StepEntry.kind.in_(["learning", "evidence"]),  # type: ignore[attr-defined]
        StepEntry.created_at >= period.start,
        StepEntry.created_at < period.end,
    )


def _log_totals(agency_code: str | None, period: Period) -> Any:
    """Per person: learning entries, their minutes and evidence entries in the period."""
    learning = StepEntry.kind == "learning"
    minutes = StepEntry.data["minutes"].as_integer()  # type: ignore[index]
    return (
        _logs(
            agency_code,
            period,
            StepEntry.person_id,
            func.sum(case((learning, 1), else_=0)).label("learning"),
            func.sum(case((and_(learning, minutes > 0), minutes), else_=0)).label("minutes"),
            func.sum(case((learning, 0), else_=1)).label("evidence"),
        )
        .group_by(StepEntry.person_id)
        .subquery()
    )


async def _fill_evidence(
    session: AsyncSession, agency_code: str | None, period: Period, rows: dict[int, PersonRow]
) -> None:
    """The evidence entries written within the period, in the order they were written."""
    if not rows:
        return
    query = (
        _logs(
            agency_code,
            period,
            StepEntry.person_id,
            StepEntry.skill_id,
            StepEntry.text,
            StepEntry.data,
            StepEntry.created_at,
            Journey.round_no,
        )
        .where(StepEntry.kind == "evidence")
        .order_by(StepEntry.id)
    )
    for person_id, skill_id, entry_text, data, created_at, round_no in await _all(session, query):
        row = rows.get(person_id)
        if row is None:
            continue
        data = data or {}
        row.evidence.append(
            EvidenceRow(
                person_id=person_id,
                round_no=round_no,
                skill_id=skill_id,
                task=str(data.get("task", entry_text)),
                tool=str(data.get("tool", "")),
                result=str(data.get("result", "")),
                outcome=data.get("outcome"),
                created_at=created_at,
            )
        )


@dataclass
class WeekActivity:
    """What happened in an agency during one week (for the weekly post)."""

    joined: int = 0  # people who finished onboarding
    steps_completed: int = 0  # steps finished (a new step entered, or a round completed)
    rounds_completed: int = 0
    uses_at_work: int = 0  # evidence entries written
    tips: list[str] = field(default_factory=list)  # tips shared on completing a round
    newly_inactive: int = 0  # people whose last progress crossed the inactive threshold


async def week_activity(
    session: AsyncSession, agency_id: int, week: Period, inactive_after: timedelta
) -> WeekActivity:
    """The week's new enrolments, finished steps and rounds, uses at work and tips, and
    who went quiet during it (no progress for `inactive_after`, counted from this week)."""
    activity = WeekActivity()

    def in_week(column: Any) -> Any:
        return (column >= week.start) & (column < week.end)

    async def count(query: Any) -> int:
        return int((await session.exec(query)).one())

    in_agency = Person.agency_id == agency_id
    activity.joined = await count(
        select(func.count()).select_from(Person).where(in_agency, in_week(Person.onboarded_at))
    )
    steps = await count(
        select(func.count())
        .select_from(JourneyStep)
        .join(Person, Person.id == JourneyStep.person_id)
        .where(in_agency, JourneyStep.step > 1, in_week(JourneyStep.entered_at))
    )
    activity.rounds_completed = await count(
        select(func.count())
        .select_from(Journey)
        .join(Person, Person.id == Journey.person_id)
        .where(in_agency, in_week(Journey.completed_at))
    )
    activity.steps_completed = steps + activity.rounds_completed
    activity.uses_at_work = await count(
        select(func.count())
        .select_from(StepEntry)
        .join(Person, Person.id == StepEntry.person_id)
        .where(in_agency, StepEntry.kind == "evidence", in_week(StepEntry.created_at))
    )
    tips = await _all(
        session,
        select(Idea.text)
        .where(Idea.agency_id == agency_id, Idea.kind == TIP, in_week(Idea.created_at))
        .order_by(Idea.id),
    )
    activity.tips = [tip for (tip,) in tips]
    open_rounds = (
        select(Journey.id)
        .join(Person, Person.id == Journey.person_id)
        .where(in_agency, Journey.completed_at.is_(None))  # type: ignore[union-attr]
    )
    moved = await last_progress(session, open_rounds)
    quiet_from, quiet_to = week.start - inactive_after, week.end - inactive_after
    activity.newly_inactive = sum(1 for at in moved.values() if quiet_from <= at < quiet_to)
    return activity


# ---- figures computed in the database (the summary needs counts, not people) ----------------


@dataclass(frozen=True)
class TallyCell:
    """The people of one unit and personnel group in a period, counted in the database."""

    unit: str
    personnel_group: str
    enrolled: int
    completed: int
    in_progress: int
    by_step: dict[int, int]


@dataclass(frozen=True)
class SkillCell:
    """One skill's ratings in the people's reported rounds, summed in the database."""

    skill_id: str
    rated_pre: int
    sum_pre: int
    paired: int
    paired_sum_pre: int
    paired_sum_post: int


def steps_since(until: datetime) -> Any:
    """For each round that has entered a step since `until`, the highest step it had
    entered before then (from the step log). Steps only move forward, so every other
    round was then at the step it is at now; for a moment still to come this is no
    round at all, and the database finds that out without reading the log."""
    moved_on = Journey.step_started_at >= until  # type: ignore[operator]
    return (
        select(JourneyStep.journey_id, func.max(JourneyStep.step).label("step"))
        .join(Journey, Journey.id == JourneyStep.journey_id)
        .where(moved_on, JourneyStep.entered_at < until)
        .group_by(JourneyStep.journey_id)
        .subquery()
    )


def step_then(round_: Any, until: datetime) -> Any:
    """The step `round_` was at by `until`: the step it is at now, unless it has
    entered a step since (steps only move forward); then the highest step its log
    shows before `until`, asked of that round alone, through the log's index. For a
    few people's rounds; `steps_since` reads the log once for a whole agency's."""
    before = (
        select(func.max(JourneyStep.step))
        .where(JourneyStep.journey_id == round_.id, JourneyStep.entered_at < until)
        .scalar_subquery()
    )
    return case(
        (round_.step_started_at >= until, func.coalesce(before, round_.current_step)),
        else_=round_.current_step,
    )


def reported_people(
    agency_code: str | None,
    period: Period,
    *,
    cte: bool = False,
    step: bool = True,
    only: Any = None,
) -> Any:
    """One row per person of the period's report (see the module docstring): who they
    are, their current round (the latest begun before the end; `step`, the highest it
    had entered by then) and the latest round completed within the period, whether a
    round is open at the end, and the id of the round whose ratings stand for them.
    With `step=False` the step is the round's step now and the step log is not read,
    for queries that do not use it (the database would join the log all the same).
    `only`: a condition on `Person` that limits the rows to some people; their steps
    are then looked up round by round (`step_then`) instead of from a pass over the
    whole log, which would cost as much for a few people as for the agency."""
    current, completed = aliased(Journey), aliased(Journey)
    entered = steps_since(period.end) if step and only is None else None

    def begun(round_: Any) -> Any:
        return round_.started_at < period.end

    def finished(round_: Any) -> Any:
        return and_(
            begun(round_),
            round_.completed_at >= period.start,
            round_.completed_at < period.end,
        )

    def no_later(round_: Any, counts: Any) -> Any:
        """No later round of the same person for which `counts` holds: an anti-join,
        which PostgreSQL estimates well, where a join on each person's max(round_no)
        made it expect a few hundred rows and loop."""
        later = aliased(Journey)
        return ~(
            select(later.id)
            .where(
                later.person_id == round_.person_id,
                later.round_no > round_.round_no,
                counts(later),
            )
            .exists()
        )

    is_open = or_(current.completed_at.is_(None), current.completed_at >= period.end)  # type: ignore[union-attr,operator]
    query = (
        select(
            Person.id.label("person_id"),  # type: ignore[union-attr]
            Person.agency_number.label("number"),  # type: ignore[attr-defined]
            Person.display_name.label("name"),  # type: ignore[union-attr]
            Agency.code.label("agency"),  # type: ignore[attr-defined]
            Agency.timezone.label("timezone"),  # type: ignore[attr-defined]
            func.coalesce(Unit.name, "").label("unit"),
            func.coalesce(Person.personnel_group, "").label("personnel_group"),
            current.id.label("current_id"),  # type: ignore[union-attr]
            current.round_no.label("current_round"),
            current.started_at.label("current_started"),
            current.completed_at.label("current_completed"),
            _step_column(current, entered, period.end, step=step).label("step"),
            completed.id.label("completed_id"),  # type: ignore[union-attr]
            completed.round_no.label("completed_round"),
            completed.started_at.label("completed_started"),
            completed.completed_at.label("completed_at"),
            case((is_open, 1), else_=0).label("is_open"),
            case((completed.id.is_not(None), 1), else_=0).label("completed"),  # type: ignore[union-attr]
            func.coalesce(completed.id, current.id).label("reported"),
        )
        .select_from(Person)
        .join(Agency, Agency.id == Person.agency_id)
        .join(Unit, Unit.id == Person.unit_id, isouter=True)
        .join(
            current,
            and_(current.person_id == Person.id, begun(current), no_later(current, begun)),
        )
        .join(
            completed,
            and_(
                completed.person_id == Person.id,
                finished(completed),
                no_later(completed, finished),
            ),
            isouter=True,
        )
        .where(
            Person.onboarded_at.is_not(None),  # type: ignore[union-attr]
            or_(is_open, completed.id.is_not(None)),  # type: ignore[union-attr]
        )
    )
    if entered is not None:
        query = query.join(entered, entered.c.journey_id == current.id, isouter=True)
    if agency_code:
        query = query.where(Agency.code == agency_code)
    if only is not None:
        query = query.where(only)
    return query.cte("people") if cte else query.subquery()


def _step_column(current: Any, entered: Any, until: datetime, *, step: bool) -> Any:
    """`reported_people`'s step: now (`step` False), from `entered` (`steps_since`,
    joined) for everyone, or round by round when there is none (a few people)."""
    if not step:
        return current.current_step
    if entered is None:
        return step_then(current, until)
    return func.coalesce(entered.c.step, current.current_step)
