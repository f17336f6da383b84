"""The working group's figures, computed from the report read model.

A person counts as completed when they completed a round within the period,
and as in progress, at their step, when a round of theirs is under way; a
person who completed a round and began the next is both, so a new round never
takes a completion away. Ratings are those of the person's reported round (the
completed one, if any); growth per skill is averaged over the people who rated
that skill both before (step 2) and after (step 6), so before and after always
describe the same people.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.reports.arms import ArmComparison
from storage.progress import last_progress
from storage.reports import (
    STEPS,
    HeadcountCell,
    PersonRow,
    SkillCell,
    StaffLineRow,
    TallyCell,
    rounds_of,
)
from storage.timeutil import as_utc


@dataclass
class Tally:
    """Head counts for a set of people: enrolled, completed, and in progress per step."""

    enrolled: int = 0
    completed: int = 0
    in_progress: int = 0
    headcount: int | None = None  # None: the agency recorded none
    by_step: dict[int, int] = field(default_factory=lambda: dict.fromkeys(STEPS, 0))

    def add(self, cell: TallyCell) -> None:
        """Count the people of `cell` in."""
        self.enrolled += cell.enrolled
        self.completed += cell.completed
        self.in_progress += cell.in_progress
        for step, count in cell.by_step.items():
            self.by_step[step] = self.by_step.get(step, 0) + count

    @property
    def percent_completed(self) -> int:
        return round(100 * self.completed / self.enrolled) if self.enrolled else 0

    @property
    def coverage(self) -> int | None:
        """Enrolled as a percentage of the headcount (None without a headcount)."""
        if not self.headcount:
            return None
        return round(100 * self.enrolled / self.headcount)

    def count(self, cells: Iterable[HeadcountCell]) -> None:
        """Add these headcount cells to the tally's headcount."""
        for cell in cells:
            self.headcount = (self.headcount or 0) + cell.count


@dataclass(frozen=True)
class SkillFigures:
    """One skill: how many rated it before, their average, and the paired before/after."""

    skill_id: str
    rated_pre: int
    average_pre: float | None
    paired: int
    paired_pre: float | None
    paired_post: float | None

    @property
    def growth(self) -> float | None:
        if self.paired_pre is None or self.paired_post is None:
            return None
        return self.paired_post - self.paired_pre


@dataclass
class AgencySummary:
    """The figures of /summary, the weekly post and the report's summary sheet."""

    total: Tally
    by_unit: dict[str, Tally]  # unit name ("" for people without a unit)
    by_group: dict[str, Tally]  # personnel group id ("" when not given)
    skills: list[SkillFigures]
    year: int = 0  # the fiscal year (Buddhist Era) the figures are of
    # Lines of the staff list nobody has claimed (None: the list names nobody).
    not_joined: list[StaffLineRow] | None = None
    # Nudged vs hold-out (None: not computed, e.g. figures for one person).
    arms: ArmComparison | None = None


def _mean(total: int, count: int) -> float | None:
    return total / count if count else None


def _row_cell(row: PersonRow) -> TallyCell:
    """One person as a cell of one."""
    step = {row.current_step: 1} if row.is_open else {}
    return TallyCell(
        row.unit, row.personnel_group, 1, int(row.completed is not None), int(row.is_open), step
    )


def _row_skills(rows: list[PersonRow], skill_ids: list[str]) -> list[SkillCell]:
    """The ratings of `rows` summed per skill, as the database sums them: in one pass
    over the rows (a pass per skill read every row's ratings nine times over, most of
    the time of summing 100,000 people)."""
    rated = dict.fromkeys(skill_ids, 0)
    sum_pre = dict.fromkeys(skill_ids, 0)
    paired = dict.fromkeys(skill_ids, 0)
    paired_pre = dict.fromkeys(skill_ids, 0)
    paired_post = dict.fromkeys(skill_ids, 0)
    for row in rows:
        reported = row.reported
        post = reported.post
        for skill, before in reported.pre.items():
            if skill not in rated:
                continue
            rated[skill] += 1
            sum_pre[skill] += before
            after = post.get(skill)
            if after is not None:
                paired[skill] += 1
                paired_pre[skill] += before
                paired_post[skill] += after
    return [
        SkillCell(
            skill,
            rated[skill],
            sum_pre[skill],
            paired[skill],
            paired_pre[skill],
            paired_post[skill],
        )
        for skill in skill_ids
    ]


def summarise(
    rows: Iterable[PersonRow],
    skill_ids: list[str],
    group_ids: list[str],
    headcount: Iterable[HeadcountCell] = (),
) -> AgencySummary:
    """Figures of `rows` against the `headcount` (what `figures_of` makes of the same
    people counted in the database)."""
    rows = list(rows)
    cells = [_row_cell(row) for row in rows]
    return figures_of(cells, _row_skills(rows, skill_ids), skill_ids, group_ids, headcount)


def figures_of(
    cells: Iterable[TallyCell],
    skill_cells: Iterable[SkillCell],
    skill_ids: list[str],
    group_ids: list[str],
    headcount: Iterable[HeadcountCell] = (),
) -> AgencySummary:
    """Figures of people counted per unit and group (`cells`, in the order their first
    person joined) against the `headcount`; units sorted by name (no unit last), groups
    in content order. A headcount cell counts for its unit and its group when it names
    them, and for the agency always."""
    headcount_cells = list(headcount)
    total = Tally()
    units: dict[str, Tally] = {}
    groups: dict[str, Tally] = {g: Tally() for g in group_ids}
    for cell in cells:
        total.add(cell)
        units.setdefault(cell.unit, Tally()).add(cell)
        groups.setdefault(cell.personnel_group, Tally()).add(cell)
    total.count(headcount_cells)
    for line in headcount_cells:
        if line.unit:
            units.setdefault(line.unit, Tally()).count([line])
        if line.personnel_group:
            groups.setdefault(line.personnel_group, Tally()).count([line])
    rated = {cell.skill_id: cell for cell in skill_cells}
    skills = []
    for skill in skill_ids:
        cell = rated.get(skill) or SkillCell(skill, 0, 0, 0, 0, 0)
        skills.append(
            SkillFigures(
                skill_id=skill,
                rated_pre=cell.rated_pre,
                average_pre=_mean(cell.sum_pre, cell.rated_pre),
                paired=cell.paired,
                paired_pre=_mean(cell.paired_sum_pre, cell.paired),
                paired_post=_mean(cell.paired_sum_post, cell.paired),
            )
        )
    ordered_units = dict(sorted(units.items(), key=lambda item: (item[0] == "", item[0])))
    return AgencySummary(total=total, by_unit=ordered_units, by_group=groups, skills=skills)


# ---- people -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Growth:
    """One person's change between their before and after self-ratings."""

    total: int
    grown: int  # skills rated higher after than before
    rated: int  # skills rated both times

    @property
    def average(self) -> float:
        return self.total / self.rated if self.rated else 0.0


def person_growth(row: PersonRow) -> Growth:
    """Growth in the person's reported round (the completed one, if any)."""
    reported = row.reported
    pre = reported.pre
    diffs = [after - pre[s] for s, after in reported.post.items() if s in pre]
    return Growth(total=sum(diffs), grown=sum(1 for d in diffs if d > 0), rated=len(diffs))


@dataclass(frozen=True)
class Applied:
    """What a person showed of applying their skills: the evidence that an exemplary
    learner is proposed on (self-rated growth alone is easy to inflate)."""

    uses: int  # evidence entries in the period
    outcomes: int  # distinct outcomes of the guideline those uses served
    goals_reached: int  # focus skills re-rated at or above their target
    growth: Growth


def applied(row: PersonRow) -> Applied:
    outcomes = {e.outcome for e in row.evidence if e.outcome and e.outcome != "other"}
    reported = row.reported
    reached = sum(1 for goal in reported.goals if reported.reached(goal))
    return Applied(len(row.evidence), len(outcomes), reached, person_growth(row))


def exemplary(rows: Iterable[PersonRow], limit: int = 10) -> list[tuple[PersonRow, Applied]]:
    """Candidates for recognition among those who completed a round: most uses at
    work first, then the widest range of outcomes, goals reached, and only then
    self-rated growth; earlier completion breaks ties."""
    done = [(row, applied(row)) for row in rows if row.completed is not None]
    done.sort(
        key=lambda pair: (
            -pair[1].uses,
            -pair[1].outcomes,
            -pair[1].goals_reached,
            -pair[1].growth.total,
            -pair[1].growth.grown,
            as_utc(pair[0].completed_at),
        )
    )
    return done[:limit]


async def lagging(
    session: AsyncSession, rows: list[PersonRow], now: datetime, days: int
) -> list[tuple[PersonRow, int]]:
    """People with a round under way who have not moved on for `days` days or more,
    with the number of idle days; by unit (no unit last), then longest idle first."""
    open_rows = [r for r in rows if r.is_open]
    agencies = sorted({r.agency_code for r in open_rows})
    moved = await last_progress(session, rounds_of(agencies)) if agencies else {}
    found = []
    for row in open_rows:
        since = moved.get(row.journey_id) or as_utc(row.started_at or now)
        idle = now - since
        if idle >= timedelta(days=days):
            found.append((row, idle.days))
    found.sort(key=lambda pair: (pair[0].unit == "", pair[0].unit, -pair[1], pair[0].person_id))
    return found
