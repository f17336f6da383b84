"""Platform event ids already handled: a redelivered webhook is recognised and
answered with nothing done."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ProcessedEvent


async def record_first(session: AsyncSession, channel: str, event_id: str, now: datetime) -> bool:
    """Store the event id in the session's transaction; False when it was stored
    already (a redelivery, or the same event being handled elsewhere right now).

    One statement (INSERT ... ON CONFLICT DO NOTHING) instead of a look-up and a
    savepoint: this runs at the start of every turn, while SQLite's write lock is held.
    """
    statement = _record_statement(session.bind.dialect.name == "postgresql")
    connection = await session.connection()  # plain SQL: nothing loaded needs it
    result = await connection.execute(
        statement, {"channel": channel, "event_id": event_id, "processed_at": now}
    )
    return result.rowcount == 1


@functools.cache
def _record_statement(postgres: bool) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING, built once per dialect: it runs at the
    start of every turn, and building and keying a statement is CPU each time."""
    insert = postgresql.insert if postgres else sqlite.insert
    return insert(ProcessedEvent).on_conflict_do_nothing(index_elements=["channel", "event_id"])
