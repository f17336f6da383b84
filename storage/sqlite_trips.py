"""One trip to aiosqlite's thread per SQL statement instead of four.

SQLAlchemy's aiosqlite adapter makes a cursor, executes, fetches and closes
it as four separate hand-offs to the driver's thread, each a wake-up of the
event loop; under load every one of them waits for a turn of a busy loop,
while the turn holds SQLite's one write lock. This cursor does all four in
one function run on that thread. Only SQLite uses it (see `storage.db`).
"""

from __future__ import annotations

import collections
from typing import Any

from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
)
from sqlalchemy.util.concurrency import await_


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A client-side cursor whose execute runs, fetches and closes in one call."""

    __slots__ = ("_description", "_rowcount", "_lastrowid")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = {}  # type: ignore[assignment]
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass

    async def _async_soft_close(self) -> None:
        return None  # nothing is open: the rows are fetched already

    def close(self) -> None:
        self._rows.clear()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        try:
            return await_(self._connection._execute(self._run, operation, parameters, False))
        except Exception as error:  # noqa: BLE001 - mapped to the DBAPI's errors
            self._adapt_connection._handle_exception(error)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        try:
            return await_(self._connection._execute(self._run, operation, seq_of_parameters, True))
        except Exception as error:  # noqa: BLE001 - mapped to the DBAPI's errors
            self._adapt_connection._handle_exception(error)

    def _run(self, operation: Any, parameters: Any, many: bool) -> None:
        """On the driver's thread: execute, fetch every row, close."""
        cursor = self._connection._conn.cursor()
        try:
            if many:
                cursor.executemany(operation, parameters)
            elif parameters is None:
                cursor.execute(operation)
            else:
                cursor.execute(operation, parameters)
            description = cursor.description
            rows = cursor.fetchall() if description else []
            self._description, self._rowcount = description, cursor.rowcount
            self._lastrowid = cursor.lastrowid
            self._rows = collections.deque(rows)
        finally:
            cursor.close()


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor


def one_trip(dbapi_connection: Any) -> None:
    """Make a freshly opened aiosqlite connection use `OneTripCursor`."""
    if type(dbapi_connection) is AsyncAdapt_aiosqlite_connection:
        dbapi_connection.__class__ = OneTripConnection
