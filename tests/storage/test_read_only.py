"""Reads do not wait for SQLite's write lock; read-then-write work still takes it."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from storage.db import make_engine, make_read_sessionmaker, make_sessionmaker, transaction
from storage.migrate import upgrade
from storage.models import Agency

WAIT_MS = 2000  # the busy timeout: a read that waited for the lock would take this long


def hold_write_lock(path: str) -> sqlite3.Connection:
    """Another process's writer: BEGIN IMMEDIATE and keep it (call it in a thread)."""
    holder = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


async def test_a_read_only_session_reads_while_another_connection_holds_the_write_lock(tmp_path):
    path = tmp_path / "locked.db"
    engine = make_engine(f"sqlite:///{path}", sqlite_busy_ms=WAIT_MS)
    try:
        await upgrade(engine)
        async with transaction(make_sessionmaker(engine)) as session:
            session.add(Agency(code="RO", name="Read only"))
        holder = await asyncio.to_thread(hold_write_lock, str(path))
        try:
            began = time.monotonic()
            async with transaction(make_read_sessionmaker(engine)) as session:
                found = (await session.exec(select(Agency.name).where(Agency.code == "RO"))).all()
            took = time.monotonic() - began
            assert found == ["Read only"]
            assert took < WAIT_MS / 1000 / 4, f"the read waited {took:.2f}s for the write lock"

            # A read-then-write transaction still takes the lock up front (and so waits).
            began = time.monotonic()
            with pytest.raises(OperationalError, match="locked"):
                async with transaction(make_sessionmaker(engine)) as session:
                    await session.exec(select(Agency.id))
            assert time.monotonic() - began >= WAIT_MS / 1000 * 0.9
        finally:
            holder.rollback()
            holder.close()
    finally:
        await engine.dispose()
