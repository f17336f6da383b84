"""The report for OCSC as the sheets of an Excel workbook, for one fiscal year.

Five sheets: a summary by unit and personnel group; one row per person (the
round they completed and the round under way, their logs, each skill's before
and after self-rating); one row per focus skill of each round (target, date,
way of learning, and whether the target was reached at the re-assessment);
one row per use of a skill at work (task, tool, result, and which outcome of
the guideline it served); and one row per skill. Headings
come from content (Thai or English) and dates are written as Buddhist Era
text (day, Thai month name, year + 543, so Excel and LibreOffice show them
the same). The sheets are plain data for `documents.xlsx`, which draws them
off the turn: /export sends the workbook in chat, `dlcoach report` writes the
same bytes to a file.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from content.loader import Content
from handlers.dates import date_text
from handlers.messages import Render
from handlers.reports.arms import arms_sheet
from handlers.reports.figures import STEPS, AgencySummary, Tally, person_growth
from handlers.reports.period import fiscal_year_label
from handlers.reports.summary import group_label, unit_label
from storage.models import Agency
from storage.reports import GoalRow, PersonRow, RoundRow
from storage.timeutil import to_local

TITLE_SIZE, NOTE_SIZE, TEXT_SIZE = 18, 12, 14
Sheet = dict[str, Any]


def report_name(agency: Agency) -> str:
    return f"dlcoach-report-{agency.code}.xlsx"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


class _Report:
    """The sheets of one agency's report in one language."""

    def __init__(self, content: Content, lang: str, agency: Agency, day: date, year: int) -> None:
        self.content, self.lang, self.agency, self.day, self.year = content, lang, agency, day, year
        # Texts that repeat on every row, each made once: a row of 100,000 costs less.
        self._texts: dict[str, str] = {}
        self._days: dict[date, str] = {}
        self._units: dict[str, str] = {}
        self._groups: dict[str, str] = {}

    def t(self, key: str, **values: object) -> str:
        if values:
            return self.content.t(key, self.lang, **values)
        if key not in self._texts:
            self._texts[key] = self.content.t(key, self.lang)
        return self._texts[key]

    def date_text(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        return self.day_text(to_local(moment, self.agency.timezone).date())

    def day_text(self, day: date) -> str:
        if day not in self._days:
            self._days[day] = date_text(self.content, self.lang, day)
        return self._days[day]

    def unit(self, unit: str) -> str:
        if unit not in self._units:
            self._units[unit] = unit_label(self.content, self.lang, unit)
        return self._units[unit]

    def group(self, group_id: str) -> str:
        if group_id not in self._groups:
            self._groups[group_id] = group_label(self.content, self.lang, group_id)
        return self._groups[group_id]

    def _intro(self, title: str) -> list[list[Any]]:
        as_of = self.t(
            "report.as_of",
            agency=self.agency.name,
            fiscal_year=fiscal_year_label(self.content, self.lang, self.year),
            date=date_text(self.content, self.lang, self.day),
        )
        return [
            [title, TITLE_SIZE, True],
            [as_of, TEXT_SIZE, False],
            [self.t("report.note"), NOTE_SIZE, False],
        ]

    # ---- sheet 1: summary ----

    def summary(self, figures: AgencySummary) -> Sheet:
        rows = [self._tally(self.t("report.level_agency"), self.agency.name, figures.total)]
        for unit, tally in figures.by_unit.items():
            name = unit_label(self.content, self.lang, unit)
            rows.append(self._tally(self.t("report.level_unit"), name, tally))
        for group_id, tally in figures.by_group.items():
            name = group_label(self.content, self.lang, group_id)
            rows.append(self._tally(self.t("report.level_group"), name, tally))
        return {
            "title": self.t("report.sheet_summary"),
            "intro": self._intro(self.t("report.title")),
            "header": [
                self.t("report.col_level"),
                self.t("report.col_name"),
                self.t("report.col_enrolled"),
                self.t("report.col_headcount"),
                self.t("report.col_coverage"),
                *[self.t("report.col_step", step=step) for step in STEPS],
                self.t("report.col_completed"),
                self.t("report.col_percent"),
            ],
            "rows": rows,
            "widths": [18, 38, 14, 14, 14, *[10] * len(STEPS), 14, 14],
        }

    def _tally(self, level: str, name: str, tally: Tally) -> list[Any]:
        return [
            level,
            name,
            tally.enrolled,
            tally.headcount,
            tally.coverage,
            *[tally.by_step.get(step, 0) for step in STEPS],
            tally.completed,
            tally.percent_completed,
        ]

    # ---- sheet 2: people ----

    def _status(self, row: PersonRow) -> str:
        if row.completed is None:
            return self.t("report.status_active")
        return self.t("report.status_again" if row.is_open else "report.status_done")

    def people(self, rows: list[PersonRow], *, names: bool) -> Sheet:
        skills = self.content.skills
        lines = []
        for row in rows:
            growth = person_growth(row)
            pre, post = row.pre, row.post
            lines.append(
                [
                    row.number,
                    row.name if names else "",
                    self.unit(row.unit),
                    self.group(row.personnel_group),
                    self._status(row),
                    row.completed.round_no if row.completed else None,
                    self.date_text(row.completed_at),
                    row.current.round_no if row.is_open else None,
                    row.current.step if row.is_open else None,
                    self.date_text(row.current.started_at) if row.is_open else "",
                    row.learning_entries,
                    row.learning_minutes,
                    row.evidence_entries,
                    growth.total if growth.rated else None,
                    *[pre.get(s.id) for s in skills],
                    *[post.get(s.id) for s in skills],
                ]
            )
        return {
            "title": self.t("report.sheet_people"),
            "intro": self._intro(self.t("report.people_title")),
            "header": [
                self.t("report.col_number"),
                self.t("report.col_person"),
                self.t("report.col_unit"),
                self.t("report.col_group"),
                self.t("report.col_status"),
                self.t("report.col_completed_round"),
                self.t("report.col_finished"),
                self.t("report.col_open_round"),
                self.t("report.col_current_step"),
                self.t("report.col_started"),
                self.t("report.col_learning"),
                self.t("report.col_minutes"),
                self.t("report.col_evidence"),
                self.t("report.col_growth"),
                *[self.t("report.col_pre", skill=s.short.get(self.lang)) for s in skills],
                *[self.t("report.col_post", skill=s.short.get(self.lang)) for s in skills],
            ],
            "rows": lines,
            "widths": [8, 28, 30, 26, 22, 10, 20, 10, 10, 20, 12, 12, 12, 12]
            + [12] * (2 * len(skills)),
            "freeze_columns": 2,  # keep number and name in view
        }

    # ---- sheet 3: goals ----

    def _reached(self, item: RoundRow, goal: GoalRow) -> str:
        reached = item.reached(goal)
        if reached is None:
            return self.t("report.reached_pending")
        return self.t("report.reached_yes" if reached else "report.reached_no")

    def goals(self, rows: list[PersonRow], *, names: bool) -> Sheet:
        lines = []
        # Looked up once for the sheet, not goal by goal (over 100,000 rows at scale).
        approaches = {a.id: a.label.get(self.lang) for a in self.content.groups.approaches}
        skill_names = {s.id: s.name.get(self.lang) for s in self.content.skills}
        for row in rows:
            rounds = [r for r in (row.completed, row.current if row.is_open else None) if r]
            for item in {r.journey_id: r for r in rounds}.values():
                for goal in item.goals:
                    lines.append(
                        [
                            row.number,
                            row.name if names else "",
                            item.round_no,
                            skill_names[goal.skill_id],
                            goal.start_level,
                            goal.target_level,
                            self.day_text(goal.target_date) if goal.target_date else "",
                            approaches.get(goal.approach or "", ""),
                            self._reached(item, goal),
                        ]
                    )
        return {
            "title": self.t("report.sheet_goals"),
            "intro": self._intro(self.t("report.goals_title")),
            "header": [
                self.t("report.col_number"),
                self.t("report.col_person"),
                self.t("report.col_round"),
                self.t("report.col_skill_goal"),
                self.t("report.col_start_level"),
                self.t("report.col_target_level"),
                self.t("report.col_target_date"),
                self.t("report.col_approach"),
                self.t("report.col_reached"),
            ],
            "rows": lines,
            "widths": [8, 28, 8, 36, 12, 12, 20, 22, 22],
            "freeze_columns": 2,
        }

    # ---- sheet 4: applied at work ----

    def _outcome(self, outcome_id: str | None) -> str:
        outcome = self.content.outcome(outcome_id or "")
        if outcome is not None:
            return outcome.label.get(self.lang)
        return self.t("report.outcome_other" if outcome_id else "report.outcome_unknown")

    def evidence(self, rows: list[PersonRow], *, names: bool) -> Sheet:
        lines = []
        for row in rows:
            for item in row.evidence:
                skill = self.content.skill(item.skill_id) if item.skill_id else None
                lines.append(
                    [
                        row.number,
                        row.name if names else "",
                        self.unit(row.unit),
                        item.round_no,
                        self.date_text(item.created_at),
                        skill.name.get(self.lang) if skill else "",
                        item.task,
                        item.tool,
                        item.result,
                        self._outcome(item.outcome),
                    ]
                )
        return {
            "title": self.t("report.sheet_evidence"),
            "intro": self._intro(self.t("report.evidence_title")),
            "header": [
                self.t("report.col_number"),
                self.t("report.col_person"),
                self.t("report.col_unit"),
                self.t("report.col_round"),
                self.t("report.col_date"),
                self.t("report.col_skill"),
                self.t("report.col_task"),
                self.t("report.col_tool"),
                self.t("report.col_result"),
                self.t("report.col_outcome"),
            ],
            "rows": lines,
            "widths": [8, 28, 30, 8, 20, 34, 40, 24, 40, 24],
            "freeze_columns": 2,
        }

    # ---- sheet 6 (with a staff list): not joined ----

    def not_joined(self, figures: AgencySummary) -> Sheet:
        lines = [
            [
                line.staff_code,
                unit_label(self.content, self.lang, line.unit),
                group_label(self.content, self.lang, line.personnel_group),
            ]
            for line in figures.not_joined or []
        ]
        return {
            "title": self.t("report.sheet_not_joined"),
            "intro": self._intro(self.t("report.not_joined_title")),
            "header": [
                self.t("report.col_staff_code"),
                self.t("report.col_unit"),
                self.t("report.col_group"),
            ],
            "rows": lines,
            "widths": [20, 36, 30],
        }

    # ---- sheet 5: skills ----

    def skills(self, figures: AgencySummary) -> Sheet:
        dimensions = {d.id: d.name.get(self.lang) for d in self.content.skills_file.dimensions}
        rows = []
        for item in figures.skills:
            skill = self.content.skill(item.skill_id)
            rows.append(
                [
                    skill.name.get(self.lang),
                    dimensions.get(skill.dimension, skill.dimension),
                    item.rated_pre,
                    _round(item.average_pre),
                    item.paired,
                    _round(item.paired_pre),
                    _round(item.paired_post),
                    _round(item.growth),
                ]
            )
        return {
            "title": self.t("report.sheet_skills"),
            "intro": self._intro(self.t("report.skills_title")),
            "header": [
                self.t("report.col_skill"),
                self.t("report.col_dimension"),
                self.t("report.col_rated_pre"),
                self.t("report.col_average_pre"),
                self.t("report.col_paired"),
                self.t("report.col_paired_pre"),
                self.t("report.col_paired_post"),
                self.t("report.col_change"),
            ],
            "rows": rows,
            "widths": [40, 16, 14, 14, 18, 16, 16, 16],
            "freeze_columns": 1,
        }


def report_sheets(
    content: Content,
    lang: str,
    agency: Agency,
    rows: list[PersonRow],
    figures: AgencySummary,
    day: date,
    *,
    names: bool = True,
) -> list[Sheet]:
    """The workbook's sheets. `names=False` leaves the name column empty (numbers only),
    for copies that leave the agency where individuals need not be named."""
    report = _Report(content, lang, agency, day, figures.year)
    return [
        report.summary(figures),
        report.people(rows, names=names),
        report.goals(rows, names=names),
        report.evidence(rows, names=names),
        report.skills(figures),
        *([report.not_joined(figures)] if figures.not_joined is not None else []),
        *(
            [arms_sheet(content, lang, figures.arms, report._intro(report.t("arms.sheet_title")))]
            if figures.arms
            else []
        ),
    ]


def workbook_render(sheets: list[Sheet], failed_text: str | None = None) -> Render:
    """The workbook of `sheets`, to be drawn at delivery (or by an export)."""
    return Render("xlsx", {"sheets": sheets}, as_document=True, failed_text=failed_text)
