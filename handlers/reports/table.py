"""The CSV table: one row per person (their latest round), for any spreadsheet.

Column names are stable identifiers (not translated), so scripts can read the
file; dates are ISO days in the agency's own time zone.
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
        "round",
        "current_step",
        *[f"pre_{s}" for s in skills],
        *[f"post_{s}" for s in skills],
        "learning_entries",
        "evidence_entries",
        "started_date",
        "completed_date",
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
        row.round_no,
        "done" if row.completed_at else row.current_step,
        *[row.pre.get(s, "") for s in skills],
        *[row.post.get(s, "") for s in skills],
        row.learning_entries,
        row.evidence_entries,
        _day(row.started_at, row.timezone),
        _day(row.completed_at, row.timezone),
    ]
