"""Quick transactions on SQLite: statements between BEGIN IMMEDIATE and COMMIT
run on the event loop's thread (no hand-offs to aiosqlite's), everything else
still goes through aiosqlite's thread, and what they write commits or rolls
back like any other transaction."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import event, text
from sqlmodel import select

from storage.db import (
    QuickConnection,
    make_engine,
    make_sessionmaker,
    off_the_loop,
    transaction,
)
from storage.migrate import upgrade
from storage.models import Agency


@pytest.fixture
async def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'quick.db'}")

    @event.listens_for(engine.sync_engine, "connect")
    def _thread_function(dbapi_connection, _record) -> None:  # noqa: ANN001
        # SQLite calls a Python function on the thread that runs the statement.
        dbapi_connection.create_function("runs_on", 0, threading.get_ident)

    await upgrade(engine)
    yield engine
    await engine.dispose()


async def thread_of(session) -> int:  # noqa: ANN001
    connection = await session.connection()
    return (await connection.execute(text("SELECT runs_on()"))).scalar_one()


async def test_a_quick_transaction_runs_its_statements_on_the_loops_thread(engine) -> None:
    sessions = make_sessionmaker(engine)
    here = threading.get_ident()
    async with transaction(sessions, quick=True) as session:
        assert await thread_of(session) == here
        session.add(Agency(code="Q1", name="Quick"))
    async with transaction(sessions) as session:
        assert await thread_of(session) != here  # an ordinary one hands off
        names = (await session.exec(select(Agency.name).where(Agency.code == "Q1"))).all()
    assert names == ["Quick"]


async def test_long_work_in_a_quick_transaction_goes_back_to_aiosqlites_thread(engine) -> None:
    """An admin's summary over a whole agency runs inside a turn: from
    `off_the_loop` on, the turn's statements leave the event loop free."""
    sessions = make_sessionmaker(engine)
    here = threading.get_ident()
    async with transaction(sessions, quick=True) as session:
        assert await thread_of(session) == here
        await off_the_loop(session)
        assert await thread_of(session) != here
        session.add(Agency(code="Q4", name="Long"))
    async with transaction(sessions, quick=True) as session:  # the next one is quick again
        assert await thread_of(session) == here
        assert (await session.exec(select(Agency.name).where(Agency.code == "Q4"))).one() == "Long"


async def test_a_failed_quick_transaction_rolls_back_and_leaves_no_quick_connection(
    engine,
) -> None:
    sessions = make_sessionmaker(engine)
    with pytest.raises(RuntimeError, match="half way"):
        async with transaction(sessions, quick=True) as session:
            session.add(Agency(code="Q2", name="Never"))
            await session.flush()
            raise RuntimeError("half way")
    async with transaction(sessions) as session:
        assert (await session.exec(select(Agency).where(Agency.code == "Q2"))).all() == []
        connection = await session.connection()
        driver = (await connection.get_raw_connection()).driver_connection
        assert isinstance(driver, QuickConnection)
        assert driver.quick is False
        assert await thread_of(session) != threading.get_ident()


async def test_quick_transactions_still_take_turns(engine) -> None:
    """Two quick writers at once: each reads then writes, and neither loses the
    other's update (the process's write lock orders them)."""
    sessions = make_sessionmaker(engine)
    async with transaction(sessions) as session:
        session.add(Agency(code="Q3", name="0"))

    async def bump() -> None:
        async with transaction(sessions, quick=True) as session:
            agency = (await session.exec(select(Agency).where(Agency.code == "Q3"))).one()
            await asyncio.sleep(0)  # let the other writer try to start
            agency.name = str(int(agency.name) + 1)

    await asyncio.gather(*[bump() for _ in range(20)])
    async with transaction(sessions) as session:
        assert (await session.exec(select(Agency.name).where(Agency.code == "Q3"))).one() == "20"


async def test_in_memory_sqlite_keeps_aiosqlites_own_connection() -> None:
    """An in-memory database lives on one thread, so it is never quick."""
    engine = make_engine("sqlite://")
    try:
        async with transaction(make_sessionmaker(engine), quick=True) as session:
            connection = await session.connection()
            driver = (await connection.get_raw_connection()).driver_connection
            assert not isinstance(driver, QuickConnection)
            assert (await connection.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()
