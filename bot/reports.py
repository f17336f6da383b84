"""Report files for the working group and OCSC, written from the database."""

from __future__ import annotations

import csv
from pathlib import Path

from content.loader import Content
from storage.reports import PersonRow


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
        row.started_at.date().isoformat() if row.started_at else "",
        row.completed_at.date().isoformat() if row.completed_at else "",
    ]


def write_csv(path: Path, content: Content, rows: list[PersonRow]) -> None:
    """UTF-8 with a byte-order mark, so Excel shows Thai names correctly."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(csv_header(content))
        for row in rows:
            writer.writerow(csv_row(content, row))
