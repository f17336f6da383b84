"""The CSV table: one row per person of a fiscal year, for any spreadsheet.

Column names are stable identifiers (not translated), so scripts can read the
file; dates are ISO days in the agency's own time zone. A round completed in
the year stays in its columns after the person begins the next one.
"""

from __future__ import annotations

from datetime import datetime

from content.loader import Content
from storage.reports import PersonRow
from storage.timeutil import to_local


def csv_header(content: Content) -> list[str]:
    skills = [s.id for s in content.skills]
    return [
        "person_id",
        "name",
        "agency",
        "unit",
        "personnel_group",
        "completed_round",
        "completed_date",
        "current_round",
        "current_step",
        "started_date",
        *[f"pre_{s}" for s in skills],
        *[f"post_{s}" for s in skills],
        "learning_entries",
        "learning_minutes",
        "evidence_entries",
    ]


def _day(moment: datetime | None, tz: str) -> str:
    return to_local(moment, tz).date().isoformat() if moment else ""


def csv_row(content: Content, row: PersonRow) -> list[str | int]:
    skills = [s.id for s in content.skills]
    return [
        row.person_id,
        row.name,
        row.agency_code,
        row.unit,
        row.personnel_group,
        row.completed.round_no if row.completed else "",
        _day(row.completed_at, row.timezone),
        row.current.round_no if row.is_open else "",
        row.current.step if row.is_open else "",
        _day(row.current.started_at, row.timezone) if row.is_open else "",
        *[row.pre.get(s, "") for s in skills],
        *[row.post.get(s, "") for s in skills],
        row.learning_entries,
        row.learning_minutes,
        row.evidence_entries,
    ]
