"""The CSV table: one row per person of a fiscal year, for any spreadsheet.

Column names are stable identifiers (not translated), so scripts can read the
file; dates are ISO days in the agency's own time zone. A round completed in
the year stays in its columns after the person begins the next one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from content.loader import Content
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


def csv_rows(content: Content, lines: Iterable[Any], *, names: bool) -> Iterator[list[object]]:
    """The table's rows from `storage.reports.table_lines` (names left empty unless
    `names`: the file may leave the agency)."""
    skills = [s.id for s in content.skills]
    ratings = [f"pre_{s}" for s in skills] + [f"post_{s}" for s in skills]
    for line in lines:
        tz = line.timezone
        is_open = line.is_open == 1
        values = line._mapping
        yield [
            line.person_id,
            (line.name or "") if names else "",
            line.agency,
            line.unit,
            line.personnel_group,
            line.completed_round if line.completed_id is not None else "",
            _day(line.completed_at, tz),
            line.current_round if is_open else "",
            line.step if is_open else "",
            _day(line.current_started, tz) if is_open else "",
            *[values[column] if values[column] is not None else "" for column in ratings],
            line.learning,
            line.minutes,
            line.evidence,
        ]
