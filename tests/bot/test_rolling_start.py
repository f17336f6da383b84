"""Two `dlcoach serve` instances started together against one PostgreSQL database
(a rolling restart, or a first deployment of two): the schema is migrated once,
by one of them, under the migration lock; the other waits for it, finds the
schema at head and starts as well."""

from __future__ import annotations

import asyncio
import os
import socket
import sys

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from storage.db import async_url, make_engine
from storage.migrate import MIGRATION_LOCK, revisions

MIGRATED = "migrated the database from an empty database to"
UP_TO_DATE = "the database schema is up to date"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def start_serve(tmp_path, database_url: str, port: int) -> asyncio.subprocess.Process:  # noqa: ANN001
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LINE_", "TELEGRAM_", "DLCOACH_", "DATABASE_URL"))
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        "--port",
        str(port),
        env={**keep, "DATABASE_URL": database_url},
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def waiting_for_the_lock(url: str) -> int:
    """How many sessions wait for the migration lock (not granted)."""
    engine = create_async_engine(async_url(url))
    try:
        async with engine.connect() as connection:
            return (
                await connection.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                        " AND objid = :key AND NOT granted"
                    ),
                    {"key": MIGRATION_LOCK},
                )
            ).scalar_one()
    finally:
        await engine.dispose()


async def healthy(port: int, seconds: float = 90) -> bool:
    async with httpx.AsyncClient() as client:
        for _ in range(int(seconds * 5)):
            try:
                if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    return False


async def test_two_instances_started_together_migrate_once(tmp_path, postgres_url):
    # Hold the lock so that both instances are surely at the migration at once.
    holder = create_async_engine(async_url(postgres_url))
    ports = [free_port(), free_port()]
    processes: list[asyncio.subprocess.Process] = []
    try:
        async with holder.connect() as held:
            await held.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
            processes = [await start_serve(tmp_path, postgres_url, port) for port in ports]
            for _ in range(600):
                if await waiting_for_the_lock(postgres_url) == 2:
                    break
                assert all(p.returncode is None for p in processes), "an instance stopped"
                await asyncio.sleep(0.1)
            assert await waiting_for_the_lock(postgres_url) == 2
            await held.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
        assert all(await asyncio.gather(*(healthy(port) for port in ports)))
    finally:
        await holder.dispose()
        for process in processes:
            if process.returncode is None:
                process.terminate()
        logs = [
            (await asyncio.wait_for(p.communicate(), 30))[1].decode(errors="replace")
            for p in processes
        ]
    # uvicorn stops cleanly on SIGTERM, then ends with that signal.
    assert all(p.returncode in (0, -15) for p in processes), logs
    assert all("Application shutdown complete" in log for log in logs), logs
    assert sum(MIGRATED in log for log in logs) == 1, logs
    assert sum(UP_TO_DATE in log for log in logs) == 1, logs
    assert not any("Traceback" in log for log in logs), logs
    assert sum("created the demo agency" in log for log in logs) == 1, logs
    engine = make_engine(postgres_url)
    try:
        current, heads = await revisions(engine)
    finally:
        await engine.dispose()
    assert current == heads
