"""The report for OCSC as an Excel workbook (XLSX), built with openpyxl.

Three sheets: a summary by unit and personnel group, one row per person (with
each skill's before and after self-rating), and one row per skill. Headings
come from content (Thai or English), dates are written as Buddhist Era text
(a string: day, Thai month name, year + 543, so Excel and LibreOffice show it the same),
and every cell uses a Sarabun-family font name.

It lives with the admin handlers because /export sends it in chat; the
`dlcoach report` command writes the same bytes to a file.
"""

from __future__ import annotations

import io
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from content.loader import Content
from handlers.admin.figures import STEPS, AgencySummary, Tally, person_growth
from handlers.admin.summary import group_label, thai_date, unit_label
from storage.models import Agency
from storage.reports import PersonRow
from storage.timeutil import to_local

FONT_NAME = "TH Sarabun New"
FONT_SIZE = 14
HEADER_FILL = PatternFill("solid", fgColor="DCE6F0")


def report_name(agency: Agency) -> str:
    return f"dlcoach-report-{agency.code}.xlsx"


def _font(bold: bool = False, size: int = FONT_SIZE) -> Font:
    return Font(name=FONT_NAME, size=size, bold=bold)


def _write_row(sheet: Worksheet, values: list[object], *, header: bool = False) -> None:
    sheet.append(values)
    for cell in sheet[sheet.max_row]:
        cell.font = _font(bold=header)
        if header:
            cell.fill = HEADER_FILL
            cell.alignment = Alignment(wrap_text=True, vertical="center")


def _widths(sheet: Worksheet, widths: list[int]) -> None:
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


class _Report:
    """The workbook of one agency in one language."""

    def __init__(self, content: Content, lang: str, agency: Agency, day: date) -> None:
        self.content, self.lang, self.agency, self.day = content, lang, agency, day
        self.book = Workbook()

    def t(self, key: str, **values: object) -> str:
        return self.content.t(key, self.lang, **values)

    def date_text(self, moment) -> str:  # noqa: ANN001 - an aware datetime or None
        if moment is None:
            return ""
        return thai_date(self.content, self.lang, to_local(moment, self.agency.timezone).date())

    def _title(self, sheet: Worksheet, title: str) -> None:
        sheet.append([title])
        sheet["A1"].font = _font(bold=True, size=18)
        sheet.append(
            [self.t("report.as_of", agency=self.agency.name, date=self.date_text_of_day())]
        )
        sheet["A2"].font = _font()
        sheet.append([self.t("report.note")])
        sheet["A3"].font = _font(size=12)
        sheet.append([])

    def date_text_of_day(self) -> str:
        return thai_date(self.content, self.lang, self.day)

    # ---- sheet 1: summary ----

    def summary(self, figures: AgencySummary) -> None:
        sheet = self.book.active
        sheet.title = self.t("report.sheet_summary")
        self._title(sheet, self.t("report.title"))
        _write_row(
            sheet,
            [
                self.t("report.col_level"),
                self.t("report.col_name"),
                self.t("report.col_enrolled"),
                *[self.t("report.col_step", step=step) for step in STEPS],
                self.t("report.col_completed"),
                self.t("report.col_percent"),
            ],
            header=True,
        )
        header_row = sheet.max_row
        self._tally(sheet, self.t("report.level_agency"), self.agency.name, figures.total)
        for unit, tally in figures.by_unit.items():
            name = unit_label(self.content, self.lang, unit)
            self._tally(sheet, self.t("report.level_unit"), name, tally)
        for group_id, tally in figures.by_group.items():
            name = group_label(self.content, self.lang, group_id)
            self._tally(sheet, self.t("report.level_group"), name, tally)
        sheet.freeze_panes = f"A{header_row + 1}"
        _widths(sheet, [18, 38, 14, *[10] * len(STEPS), 14, 14])

    def _tally(self, sheet: Worksheet, level: str, name: str, tally: Tally) -> None:
        _write_row(
            sheet,
            [
                level,
                name,
                tally.enrolled,
                *[tally.by_step.get(step, 0) for step in STEPS],
                tally.completed,
                tally.percent_completed,
            ],
        )

    # ---- sheet 2: people ----

    def people(self, rows: list[PersonRow], *, names: bool) -> None:
        sheet = self.book.create_sheet(self.t("report.sheet_people"))
        self._title(sheet, self.t("report.people_title"))
        skills = self.content.skills
        _write_row(
            sheet,
            [
                self.t("report.col_number"),
                self.t("report.col_person"),
                self.t("report.col_unit"),
                self.t("report.col_group"),
                self.t("report.col_round"),
                self.t("report.col_current_step"),
                self.t("report.col_status"),
                self.t("report.col_started"),
                self.t("report.col_finished"),
                self.t("report.col_learning"),
                self.t("report.col_evidence"),
                self.t("report.col_growth"),
                *[self.t("report.col_pre", skill=s.short.get(self.lang)) for s in skills],
                *[self.t("report.col_post", skill=s.short.get(self.lang)) for s in skills],
            ],
            header=True,
        )
        sheet.freeze_panes = f"C{sheet.max_row + 1}"  # keep number and name in view
        for row in rows:
            growth = person_growth(row)
            _write_row(
                sheet,
                [
                    row.person_id,
                    row.name if names else "",
                    unit_label(self.content, self.lang, row.unit),
                    group_label(self.content, self.lang, row.personnel_group),
                    row.round_no,
                    row.current_step,
                    self.t("report.status_done" if row.completed_at else "report.status_active"),
                    self.date_text(row.started_at),
                    self.date_text(row.completed_at),
                    row.learning_entries,
                    row.evidence_entries,
                    growth.total if growth.rated else None,
                    *[row.pre.get(s.id) for s in skills],
                    *[row.post.get(s.id) for s in skills],
                ],
            )
        _widths(sheet, [8, 28, 30, 26, 8, 10, 14, 20, 20, 12, 12, 12, *[12] * (2 * len(skills))])

    # ---- sheet 3: skills ----

    def skills(self, figures: AgencySummary) -> None:
        sheet = self.book.create_sheet(self.t("report.sheet_skills"))
        self._title(sheet, self.t("report.skills_title"))
        _write_row(
            sheet,
            [
                self.t("report.col_skill"),
                self.t("report.col_dimension"),
                self.t("report.col_rated_pre"),
                self.t("report.col_average_pre"),
                self.t("report.col_paired"),
                self.t("report.col_paired_pre"),
                self.t("report.col_paired_post"),
                self.t("report.col_change"),
            ],
            header=True,
        )
        sheet.freeze_panes = f"B{sheet.max_row + 1}"
        dimensions = {d.id: d.name.get(self.lang) for d in self.content.skills_file.dimensions}
        for item in figures.skills:
            skill = self.content.skill(item.skill_id)
            _write_row(
                sheet,
                [
                    skill.name.get(self.lang),
                    dimensions.get(skill.dimension, skill.dimension),
                    item.rated_pre,
                    _round(item.average_pre),
                    item.paired,
                    _round(item.paired_pre),
                    _round(item.paired_post),
                    _round(item.growth),
                ],
            )
        _widths(sheet, [40, 16, 14, 14, 18, 16, 16, 16])

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.book.save(buffer)
        return buffer.getvalue()


def xlsx_report(
    content: Content,
    lang: str,
    agency: Agency,
    rows: list[PersonRow],
    figures: AgencySummary,
    day: date,
    *,
    names: bool = True,
) -> bytes:
    """The workbook as bytes. `names=False` leaves the name column empty (numbers only),
    for copies that leave the agency where individuals need not be named."""
    report = _Report(content, lang, agency, day)
    report.summary(figures)
    report.people(rows, names=names)
    report.skills(figures)
    return report.to_bytes()
