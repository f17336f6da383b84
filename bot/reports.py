"""Report files for the working group and OCSC, written from the database."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from content.loader import Content
from storage.reports import PersonRow

if TYPE_CHECKING:
    from bot.app import App


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


async def export_report(
    app: App, out: Path, fmt: str, agency_code: str | None, lang: str, *, names: bool = True
) -> int | None:
    """Write the CSV or XLSX report to `out` and audit the export; returns the number of
    people, or None when `agency_code` names no agency."""
    from sqlmodel import select

    from handlers.admin.summary import agency_summary
    from handlers.admin.xlsx_report import xlsx_report
    from storage.db import transaction
    from storage.models import Agency, AuditLog
    from storage.reports import person_rows
    from storage.timeutil import to_local

    now = app.clock.now()
    async with transaction(app.sessions) as session:
        agency = None
        if agency_code:
            query = select(Agency).where(Agency.code == agency_code)
            agency = (await session.exec(query)).first()
            if agency is None:
                return None
        if fmt == "xlsx":
            assert agency is not None
            rows, figures = await agency_summary(session, app.content, agency)
            day = to_local(now, agency.timezone).date()
            data = xlsx_report(app.content, lang, agency, rows, figures, day, names=names)
            await asyncio.to_thread(out.write_bytes, data)
        else:
            rows = await person_rows(session, agency_code)
            if not names:
                rows = [dataclasses.replace(row, name="") for row in rows]
            await asyncio.to_thread(write_csv, out, app.content, rows)
        session.add(
            AuditLog(
                at=now,
                action="report.export",
                detail={
                    "agency": agency_code or "*",
                    "format": fmt,
                    "people": len(rows),
                    "names": names,
                    "via": "cli",
                },
            )
        )
    return len(rows)
