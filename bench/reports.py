"""Reports at agency scale: /summary, the XLSX workbook and the CSV table for 1,000,
10,000 and 100,000 people, each against a baseline measured in the same run.

For each database (SQLite, and PostgreSQL in a database this run creates and drops)
and each size, the agency is seeded with multi-row inserts (tests/drivers/bulk.py:
people at every step, ratings, goals, learning and evidence), then each measure runs
in a fresh process so its peak memory is its own:

- summary: the figures of /summary (`handlers.reports.summary.agency_figures`)
  once 1 % of the people have re-rated their skills since the last summary (the
  database lists them as changed, and the summary works only them out again, see
  storage/facts.py), against `raw`: two plain GROUP BY queries over the same
  tables (people per unit and group, ratings per skill) - the least any summary
  that counts when asked must ask of the database;
- summary_warm: the same in a process that has worked out changes once before,
  as a server has after its first minute (statements compiled, pages read);
- summary_kept: the same after the minute's background job (jobs/facts.py) has
  worked those people in: what a summary costs once it has caught up;
- summary_first: the first summary after seeding, which works out every person's
  facts (as the first summary after upgrading to them does), against `raw`;
- xlsx: the OCSC workbook as `dlcoach report --format xlsx` writes it
  (`jobs.exports.export_report`: five sheets, about 37 cells per person) beside a
  running server, whose minute job has kept the facts up to date (it runs before
  the clock starts, so the figure does not depend on which measures ran first), against
  openpyxl in write-only mode writing the CSV's rows (one per person, from one
  query), with no styles;
- csv: the CSV table as `dlcoach report` writes it, against Python's csv.writer
  writing the rows of the same one query as they come.

Printed: seconds of ours and of the baseline, their ratio, and how much resident
memory each added at its peak (the process's start-up, about 120 MB of imports,
is left out). Targets at 100,000 people: summary < 1 s and
within 3x of raw; xlsx < 30 s and < 500 MB; csv within 2x of the plain writer.

Usage (from the repository root):

    bench/run reports                   # 1,000, 10,000 and 100,000; SQLite and PostgreSQL
    bench/run reports --quick           # 1,000 and 10,000
    bench/run reports --sizes 5000 --postgres ''   # SQLite only
    bench/run reports --sizes 100000 --only summary,summary_warm

This is a benchmark, not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import multiprocessing as mp
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from openpyxl import Workbook  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker  # noqa: E402
from sqlmodel import select  # noqa: E402

from bench.databases import DEFAULT_SERVER, postgres_database  # noqa: E402
from content.loader import Content, load_content  # noqa: E402
from handlers.clock import FakeClock  # noqa: E402
from handlers.reports.period import fiscal_period  # noqa: E402
from handlers.reports.summary import agency_figures  # noqa: E402
from jobs.exports import export_report  # noqa: E402
from jobs.facts import FactsKeeper  # noqa: E402
from storage.db import (  # noqa: E402
    make_engine,
    make_read_sessionmaker,
    make_sessionmaker,
    transaction,
    writing,
)
from storage.migrate import upgrade  # noqa: E402
from storage.models import Agency  # noqa: E402
from storage.reports import table_lines  # noqa: E402
from tests.drivers.bulk import seed_agency  # noqa: E402

CODE = "BENCH"
YEAR = 2570  # fiscal year of the seeded rounds (October 2026 on)
BEGIN = datetime(2026, 10, 1, 1, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)

RAW_PEOPLE = """
SELECT p.unit_id, p.personnel_group, count(*), sum(CASE WHEN j.completed_at IS NULL THEN 0 ELSE 1 END)
FROM person p JOIN journey j ON j.person_id = p.id
JOIN agency a ON a.id = p.agency_id
WHERE a.code = :code GROUP BY p.unit_id, p.personnel_group
"""
RERATE = """
UPDATE assessmentanswer SET level = level % 5 + 1 WHERE assessment_id IN (
  SELECT s.id FROM assessment s JOIN person p ON p.id = s.person_id
  JOIN agency a ON a.id = p.agency_id WHERE a.code = :code AND p.id % 100 = :remainder
)
"""
RAW_SKILLS = """
SELECT x.skill_id, s.kind, count(*), sum(x.level)
FROM assessmentanswer x JOIN assessment s ON s.id = x.assessment_id
JOIN person p ON p.id = s.person_id JOIN agency a ON a.id = p.agency_id
WHERE a.code = :code GROUP BY x.skill_id, s.kind
"""


# ---- the measures, each run in its own process -------------------------------------------


@dataclass
class Setup:
    """What every measure needs, made before the clock starts (engine connected,
    content loaded), so the figures are of the work alone."""

    url: str
    out: Path
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    reads: async_sessionmaker[AsyncSession]
    content: Content
    agency: Agency


async def summary(setup: Setup) -> None:
    await agency_figures(writing(setup.sessions), setup.content, setup.agency, YEAR)


async def rerate(setup: Setup, remainder: int = 0) -> None:
    """Before `summary`'s clock starts: 1 % of the people re-rate their skills."""
    async with transaction(setup.sessions) as session:
        params = {"code": CODE, "remainder": remainder}
        await session.exec(text(RERATE), params=params)  # type: ignore[call-overload]


async def rerate_warm(setup: Setup) -> None:
    """Before `summary_warm`'s clock starts: another 1 % re-rate and a summary works
    them in, as the minute's job has done in a server that has run for a minute
    (its statements compiled, the tables' pages read); then 1 % re-rate."""
    await rerate(setup, remainder=50)
    await summary(setup)
    await rerate(setup)


async def rerate_kept(setup: Setup) -> None:
    """Before `summary_kept`'s clock starts: 1 % re-rate, and the minute's job runs."""
    await rerate(setup)
    await keep_facts(setup)


async def keep_facts(setup: Setup) -> None:
    """Before `xlsx`'s clock starts (and after `summary_kept`'s re-rating): the minute's
    job brings the facts up to date."""
    await FactsKeeper(setup.sessions, FakeClock(NOW)).tick()


async def raw(setup: Setup) -> None:
    async with setup.engine.connect() as connection:
        for query in (RAW_PEOPLE, RAW_SKILLS):
            (await connection.execute(text(query), {"code": CODE})).all()


async def _export(setup: Setup, fmt: str) -> None:
    clock = FakeClock(NOW)
    await export_report(setup.sessions, setup.content, clock, setup.out, fmt, CODE, "th", year=YEAR)


async def xlsx(setup: Setup) -> None:
    await _export(setup, "xlsx")


async def csv_ours(setup: Setup) -> None:
    await _export(setup, "csv")


async def _rows(setup: Setup) -> list[Any]:
    """The CSV's one query, as the baselines read it."""
    skills = [skill.id for skill in setup.content.skills]
    async with setup.sessions() as session:
        return await table_lines(session, CODE, fiscal_period(YEAR, "Asia/Bangkok"), skills)


async def write_only(setup: Setup) -> None:
    rows = await _rows(setup)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("people")
    sheet.append(list(rows[0]._fields) if rows else [])
    for row in rows:  # Excel has no time zones: moments are written as UTC
        sheet.append([v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in row])
    book.save(setup.out)


async def plain_csv(setup: Setup) -> None:
    rows = await _rows(setup)
    with setup.out.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(rows[0]._fields) if rows else [])
        writer.writerows(rows)


MEASURES: dict[str, Callable[[Setup], Coroutine[Any, Any, None]]] = {
    "summary_first": summary,
    "summary": summary,
    "summary_warm": summary,
    "summary_kept": summary,
    "raw": raw,
    "xlsx": xlsx,
    "write_only": write_only,
    "csv": csv_ours,
    "plain_csv": plain_csv,
}
# What runs before a measure's clock starts.
PREPARE: dict[str, Callable[[Setup], Coroutine[Any, Any, None]]] = {
    "summary": rerate,
    "summary_warm": rerate_warm,
    "summary_kept": rerate_kept,
    "xlsx": keep_facts,
}
PAIRS = (
    ("summary_first", "raw"),
    ("summary", "raw"),
    ("summary_warm", "raw"),
    ("summary_kept", "raw"),
    ("xlsx", "write_only"),
    ("csv", "plain_csv"),
)


def _reset_peak() -> None:
    """Start the kernel's count of peak resident memory afresh (Linux clear_refs)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def _memory_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS, VmHWM), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


async def _timed(name: str, url: str, out: Path) -> tuple[float, float]:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    async with sessions() as session:
        agency = (await session.exec(select(Agency).where(Agency.code == CODE))).one()
    reads = make_read_sessionmaker(engine)
    setup = Setup(url, out, engine, sessions, reads, load_content(), agency)
    if name in PREPARE:
        await PREPARE[name](setup)
    _reset_peak()
    before = _memory_mb("VmRSS")
    started = time.perf_counter()
    await MEASURES[name](setup)
    seconds = time.perf_counter() - started
    peak = _memory_mb("VmHWM")
    await engine.dispose()
    return seconds, max(peak - before, 0.0)


def _in_child(name: str, url: str, out: str) -> tuple[float, float]:
    return asyncio.run(_timed(name, url, Path(out)))


def measure(name: str, url: str, workdir: Path) -> tuple[float, float]:
    """Seconds and the peak memory it added (MB) of one measure, in a fresh process
    (a failure in it is raised here)."""
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(_in_child, name, url, str(workdir / f"{name}.out")).result()


# ---- seeding and the table -----------------------------------------------------------------


async def _seed(url: str, people: int) -> float:
    engine = make_engine(url)
    await upgrade(engine)
    sessions = make_sessionmaker(engine)
    started = time.perf_counter()
    await seed_agency(sessions, CODE, people, BEGIN)
    seconds = time.perf_counter() - started
    await engine.dispose()
    return seconds


def run_size(
    database: str, url: str, people: int, workdir: Path, only: set[str] | None = None
) -> list[str]:
    seeded = asyncio.run(_seed(url, people))
    lines = [f"| {database} | {people:,} | seed | {seeded:.1f} | | | |"]
    print(lines[-1], flush=True)
    for ours, baseline in PAIRS:
        if only and ours not in only:
            continue
        ours_s, ours_mb = measure(ours, url, workdir)
        base_s, base_mb = measure(baseline, url, workdir)
        lines.append(
            f"| {database} | {people:,} | {ours} | {ours_s:.2f} | {base_s:.2f} "
            f"| {ours_s / base_s:.2f} | {ours_mb:.0f} / {base_mb:.0f} |"
        )
        print(lines[-1], flush=True)
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 and 10,000 people only")
    parser.add_argument("--sizes", help="comma-separated numbers of people (overrides --quick)")
    parser.add_argument(
        "--postgres",
        default=DEFAULT_SERVER,
        help="a PostgreSQL server to make a scratch database on ('' skips PostgreSQL)",
    )
    parser.add_argument(
        "--only",
        help="comma-separated measures to run, e.g. summary,summary_warm (default: all)",
    )
    args = parser.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    if args.sizes:
        sizes = [int(n) for n in args.sizes.split(",")]
    print("| database | people | measure | ours s | baseline s | ratio | added MB ours / base |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for people in sizes:
            url = f"sqlite:///{workdir / f'reports-{people}.db'}"
            run_size("SQLite", url, people, workdir, only)
        if args.postgres:
            for people in sizes:
                with postgres_database(args.postgres, "bench_reports") as url:
                    if url is None:
                        break
                    run_size("PostgreSQL", url, people, workdir, only)


if __name__ == "__main__":
    main()
