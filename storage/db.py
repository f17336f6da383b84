"""The async engine and sessions, from one `DATABASE_URL`.

People write plain `sqlite:///file.db` or `postgresql://user@host/db`; the
async driver (aiosqlite, asyncpg) is chosen here so nobody has to know it.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import partial

import aiosqlite
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession


def async_url(database_url: str) -> str:
    """Map a plain database URL to its async-driver form."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        url = url.set(drivername="sqlite+aiosqlite")
    elif backend in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+asyncpg")
    else:
        raise ValueError(
            f"DATABASE_URL: unsupported database {backend!r} (use sqlite or postgresql)"
        )
    return url.render_as_string(hide_password=False)


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


SQLITE_BUSY_MS = 10_000  # how long a writer waits for another to finish


def _sqlite_pragmas(busy_ms: int):  # noqa: ANN202
    def on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001
        """WAL and a busy timeout let the console, the server and tests share one file.

        The driver's own transaction handling is switched off (it would start a
        transaction only at the first write, and a SAVEPOINT release could commit
        early); `_sqlite_begin` starts every transaction explicitly instead.
        """
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cursor.close()

    return on_connect


# An execution option: transactions on connections that carry it only read, so
# on SQLite they start with a plain BEGIN and never wait for the write lock.
READ_ONLY = "dlcoach_read_only"


def _sqlite_begin(connection) -> None:  # noqa: ANN001
    """BEGIN IMMEDIATE takes the write lock up front, so a read-then-write turn
    never fails half way because another process wrote in between. A read-only
    connection (`READ_ONLY`) begins a deferred transaction instead: in WAL mode
    it reads a snapshot at once, whoever holds the write lock."""
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(
    database_url: str,
    *,
    sqlite_busy_ms: int = SQLITE_BUSY_MS,
    pool_size: int | None = None,
    max_overflow: int | None = None,
    **kwargs: object,
) -> AsyncEngine:
    """An async engine for `database_url`, with SQLite tuned for several writers
    (`sqlite_busy_ms`: how long to wait for the file's write lock before giving up)
    and PostgreSQL's pool sized as given (`pool_size` kept open, `max_overflow` more
    when busy; SQLAlchemy's 5 and 10 when not given)."""
    url = async_url(database_url)
    if not url.startswith("sqlite"):
        # A connection cut by a database restart is noticed at checkout, not mid-turn.
        kwargs.setdefault("pool_pre_ping", True)
        if pool_size is not None:
            kwargs.setdefault("pool_size", pool_size)
        if max_overflow is not None:
            kwargs.setdefault("max_overflow", max_overflow)
    if make_url(url).get_backend_name() == "sqlite":
        kwargs.setdefault("async_creator", _quick_capable(url))
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(engine):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(sqlite_busy_ms))
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine


class QuickConnection(aiosqlite.Connection):
    """aiosqlite's connection, able to run its calls on the caller's thread.

    aiosqlite hands every call to a thread of its own and back: creating the
    cursor, executing, fetching and closing are four hand-offs a statement, and
    between them the event loop runs whatever else is ready. Inside a writing
    transaction that holds SQLite's one write lock, that stretched a turn's
    hold on the lock to twice its own work, and every other writer waited for
    it. While `quick` is set (see `transaction(quick=True)`, between BEGIN
    IMMEDIATE and COMMIT, so no statement ever waits for a lock), calls run at
    once; BEGIN, COMMIT (which may sync the file) and everything outside such
    a transaction still go through aiosqlite's thread.
    """

    quick = False

    async def _execute(self, fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if self.quick and self._connection is not None:
            return fn(*args, **kwargs)
        return await super()._execute(fn, *args, **kwargs)


def _quick_capable(url: str) -> Callable[[], object] | None:
    """An `async_creator` that opens `QuickConnection`s with the arguments the
    dialect would give `aiosqlite.connect`; None for a database that lives in one
    thread only (in-memory SQLite), which keeps aiosqlite's own connection."""
    engine_url = make_url(url)
    args, kwargs = engine_url.get_dialect()().create_connect_args(engine_url)
    if kwargs.get("check_same_thread", True):
        return None

    async def connect() -> QuickConnection:
        return await QuickConnection(partial(sqlite3.connect, *args, **kwargs), 64)

    return connect


async def _quick_driver(session: AsyncSession) -> QuickConnection | None:
    """The session's connection, begun, when it can run statements at once."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    return driver if isinstance(driver, QuickConnection) else None


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def read_only(engine: AsyncEngine) -> AsyncEngine:
    """The same engine (and pool) for work that only reads: on SQLite its
    transactions do not take the write lock. Writing through it is a bug (on
    SQLite the write may then fail with "database is locked" instead of waiting)."""
    return engine.execution_options(**{READ_ONLY: True})


def make_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for read-only paths (health check, media fetch, CLI listings): see
    `read_only`. Read-then-write work uses `make_sessionmaker` and `transaction`."""
    return make_sessionmaker(read_only(engine))


def read_sessions_of(
    sessions: async_sessionmaker[AsyncSession],
) -> async_sessionmaker[AsyncSession]:
    """The read-only twin of `sessions` (same engine and pool): reports read through
    it on connections of their own, outside the turn's writing transaction, so a
    long count neither holds SQLite's write lock nor waits for it."""
    bind = sessions.kw.get("bind")
    if not isinstance(bind, AsyncEngine):
        raise TypeError("sessions are not bound to an engine")
    return make_read_sessionmaker(bind)


# SQLite has one writer. Inside a process, writers (turns, delivery, jobs) queue
# on one asyncio lock per database instead of meeting at the file lock, where
# SQLite's busy handler sleeps in steps of up to 100 ms before it looks again.
_WRITE_LOCKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _write_lock(sessions: async_sessionmaker[AsyncSession]) -> asyncio.Lock | None:
    """The in-process write lock of a SQLite database (None: PostgreSQL, or read-only)."""
    bind = sessions.kw.get("bind")
    if not isinstance(bind, AsyncEngine) or not is_sqlite(bind):
        return None
    if bind.get_execution_options().get(READ_ONLY):
        return None
    # One lock per pool (an engine and its read-only twin share it) and event loop.
    per_loop = _WRITE_LOCKS.setdefault(bind.sync_engine.pool, weakref.WeakKeyDictionary())
    loop = asyncio.get_running_loop()
    lock = per_loop.get(loop)
    if lock is None:
        lock = per_loop[loop] = asyncio.Lock()
    return lock


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession], *, quick: bool = False
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on any error. On SQLite,
    writing transactions of this process take turns (see `_write_lock`).

    `quick`: the work is a few short statements (a turn, delivery's bookkeeping),
    so on SQLite they run without thread hand-offs (`QuickConnection`) and the
    write lock is held for the work alone. A long statement in a quick
    transaction would hold up the whole event loop: work that may take long
    calls `off_the_loop` first."""
    lock = _write_lock(sessions)
    if lock is None:
        async with sessions() as session, session.begin():
            yield session
        return
    async with lock, sessions() as session, session.begin():
        driver = await _quick_driver(session) if quick else None
        if driver is None:
            yield session
            return
        driver.quick = True
        try:
            yield session
            await session.flush()  # the unit of work's writes, before COMMIT goes back
        finally:
            driver.quick = False


async def off_the_loop(session: AsyncSession) -> None:
    """The rest of the session's quick transaction goes through aiosqlite's
    thread again: for work that may take long (an admin's summary over 100,000
    people, a broadcast's rows for a whole agency), so the event loop keeps
    answering webhooks and health checks meanwhile. Elsewhere it does nothing."""
    driver = await _quick_driver(session)
    if driver is not None:
        driver.quick = False


def writing(
    sessions: async_sessionmaker[AsyncSession],
) -> Callable[[], AbstractAsyncContextManager[AsyncSession]]:
    """A way to open `transaction(sessions)` later, for work that needs a short
    writing transaction of its own (a summary bringing its facts up to date)."""
    return partial(transaction, sessions)
