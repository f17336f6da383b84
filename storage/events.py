"""Platform event ids already handled: a redelivered webhook is recognised and
answered with nothing done."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ProcessedEvent


async def record_first(session: AsyncSession, channel: str, event_id: str, now: datetime) -> bool:
    """Store the event id in the session's transaction; False when it was stored
    already (a redelivery, or the same event being handled elsewhere right now).

    One statement (INSERT ... ON CONFLICT DO NOTHING) instead of a look-up and a
    savepoint: this runs at the start of every turn, while SQLite's write lock is held.
    """
    dialect = session.bind.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(ProcessedEvent)
        .values(channel=channel, event_id=event_id, processed_at=now)
        .on_conflict_do_nothing(index_elements=["channel", "event_id"])
    )
    connection = await session.connection()  # plain SQL: nothing loaded needs it
    result = await connection.execute(statement)
    return result.rowcount == 1
