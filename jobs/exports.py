"""Report files for the working group and OCSC, written from the database
(`dlcoach report`): the CSV table of everyone, or one agency's XLSX workbook.

The same builders as /export in chat (`handlers.reports`), drawn by the same
renderers (`documents`), in a worker thread so a large agency does not hold
up anything else; every export leaves a row in the audit log.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from content.loader import Content
from documents.table import csv_bytes
from documents.xlsx import workbook
from handlers.clock import Clock
from handlers.reports.period import current_fiscal_year, fiscal_period
from handlers.reports.summary import agency_summary
from handlers.reports.table import csv_header, csv_rows
from handlers.reports.workbook import report_sheets
from storage import audit
from storage.db import read_sessions_of, transaction, writing
from storage.models import Agency
from storage.reports import table_lines
from storage.timeutil import to_local


async def report_file(
    sessions: async_sessionmaker[AsyncSession],
    content: Content,
    now: datetime,
    fmt: str,
    agency: Agency | None,
    lang: str,
    *,
    year: int,
    names: bool = False,
    timezone: str = "Asia/Bangkok",
) -> tuple[bytes, int]:
    """The CSV (every agency when `agency` is None) or XLSX report of fiscal year
    `year`, and the number of people in it; read on read sessions and drawn in a
    worker thread, so neither the write lock nor the event loop waits for it (only
    the comparison of the arms brings the facts up to date, in a short transaction
    of its own)."""
    reads = read_sessions_of(sessions)
    if fmt == "xlsx":
        assert agency is not None
        rows, figures = await agency_summary(reads, writing(sessions), content, agency, year)
        day = to_local(now, agency.timezone).date()
        sheets = report_sheets(content, lang, agency, rows, figures, day, names=names)
        return await asyncio.to_thread(workbook, sheets), len(rows)
    skills = [s.id for s in content.skills]
    period = fiscal_period(year, agency.timezone if agency else timezone)
    async with reads() as session:
        lines = await table_lines(session, agency.code if agency else None, period, skills)
    body = csv_rows(content, lines, names=names)
    return await asyncio.to_thread(csv_bytes, csv_header(content), body), len(lines)


async def export_report(
    sessions: async_sessionmaker[AsyncSession],
    content: Content,
    clock: Clock,
    out: Path,
    fmt: str,
    agency_code: str | None,
    lang: str,
    *,
    year: int | None = None,
    timezone: str = "Asia/Bangkok",
    names: bool = False,
) -> int | None:
    """Write the CSV or XLSX report of fiscal year `year` (Buddhist Era; the current one
    by default) to `out` and audit the export; returns the number of people, or None
    when `agency_code` names no agency."""
    now = clock.now()
    reads = read_sessions_of(sessions)
    # Read on read sessions and written outside any transaction: on SQLite a writing
    # transaction would hold the one write lock (the server's turns wait on it) for
    # as long as a large agency's workbook takes.
    agency = None
    if agency_code:
        async with reads() as session:
            found = await session.exec(select(Agency).where(Agency.code == agency_code))
            agency = found.first()
        if agency is None:
            return None
    tz = agency.timezone if agency else timezone
    year = year or current_fiscal_year(now, tz)
    data, people = await report_file(
        sessions, content, now, fmt, agency, lang, year=year, names=names, timezone=tz
    )
    await asyncio.to_thread(out.write_bytes, data)
    async with transaction(sessions) as session:  # the file is written: say so
        audit.record(
            session,
            now,
            "report.export",
            agency=agency_code or "*",
            format=fmt,
            fiscal_year=year,
            people=people,
            names=names,
            via="cli",
        )
    return people
