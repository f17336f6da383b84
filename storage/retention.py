"""Forgetting on schedule: processed-event ids and finished outbox rows are kept
only as long as they are useful.

Event ids guard against redeliveries, which come within hours (LINE) or a
day (Telegram); sent, dropped and deferred outbox rows are kept a while for
operators to look at. Failed rows stay until an operator retries or they age
out with the rest. A chat account's one-way key on an audit row (the guess
limits count wrong codes by it) is needed for `audit.GUESS_WINDOW` only, and
is taken off after that, so the log does not tie a person's acts together
for longer than the limit needs. Everything is done in bounded batches so a
purge never holds the database for long.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, tuple_, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AuditLog, OutboxMessage, ProcessedEvent
from storage.outbox import DEFERRED, DROPPED, FAILED, SENT

BATCH = 5_000


async def purge_events(session: AsyncSession, before: datetime) -> int:
    """Delete up to BATCH processed-event ids recorded before `before`."""
    key = tuple_(ProcessedEvent.channel, ProcessedEvent.event_id)
    old = (
        select(ProcessedEvent.channel, ProcessedEvent.event_id)
        .where(ProcessedEvent.processed_at < before)
        .limit(BATCH)
    )
    result = await session.exec(delete(ProcessedEvent).where(key.in_(old)))
    return result.rowcount or 0


async def purge_outbox(session: AsyncSession, before: datetime) -> int:
    """Delete up to BATCH finished outbox rows created before `before`."""
    ids = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status.in_([SENT, DROPPED, DEFERRED, FAILED]),
            OutboxMessage.created_at < before,
        )
        .limit(BATCH)
        .scalar_subquery()
    )
    result = await session.exec(delete(OutboxMessage).where(OutboxMessage.id.in_(ids)))
    return result.rowcount or 0


async def forget_account_keys(session: AsyncSession, before: datetime) -> int:
    """Take the account key off up to BATCH audit rows recorded before `before`."""
    keyed = (
        select(AuditLog.id, AuditLog.detail)
        .where(AuditLog.at < before, AuditLog.detail["account"].as_string().is_not(None))
        .limit(BATCH)
    )
    rows = (await session.exec(keyed)).all()
    for row_id, detail in rows:
        kept = {key: value for key, value in detail.items() if key != "account"}
        await session.exec(update(AuditLog).where(AuditLog.id == row_id).values(detail=kept))
    return len(rows)


def cutoff(now: datetime, days: float) -> datetime:
    return now - timedelta(days=days)
