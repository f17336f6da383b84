"""Outbox queries: enqueue, claim, and record the outcome of a send.

Claims are safe with several senders: on PostgreSQL the claim locks rows with
FOR UPDATE SKIP LOCKED so two instances never take the same row; on SQLite the
claim is a single UPDATE ... RETURNING, which SQLite runs under its one
writer lock. A claim is a lease: if a sender dies, the row becomes claimable
again when the lease ends. Only the oldest unsent row of each chat is
claimable, so messages to one person arrive in order.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import aliased
from sqlmodel import select as sqlmodel_select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ChannelAccount, OutboxMessage

PENDING, SENDING, SENT, FAILED, DROPPED = "pending", "sending", "sent", "failed", "dropped"


def _claimable(now: datetime, channels: list[str]):  # noqa: ANN202
    earlier = aliased(OutboxMessage)
    blocker = exists().where(
        earlier.channel == OutboxMessage.channel,
        earlier.chat_id == OutboxMessage.chat_id,
        earlier.id < OutboxMessage.id,
        earlier.status.in_([PENDING, SENDING]),
    )
    return and_(
        OutboxMessage.channel.in_(channels),
        or_(
            and_(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now),
            and_(OutboxMessage.status == SENDING, OutboxMessage.claimed_until < now),
        ),
        ~blocker,
    )


async def claim(
    session: AsyncSession,
    *,
    channels: list[str],
    now: datetime,
    worker: str,
    lease: timedelta,
    limit: int,
    chat_ids: list[str] | None = None,
) -> list[OutboxMessage]:
    """Take up to `limit` due rows for `channels` (and `chat_ids`, when given),
    leased to `worker` until now + lease."""
    candidates = select(OutboxMessage.id).where(_claimable(now, channels))
    if chat_ids is not None:
        candidates = candidates.where(OutboxMessage.chat_id.in_(chat_ids))
    candidates = candidates.order_by(OutboxMessage.id).limit(limit)
    if session.bind.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    statement = (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(candidates.scalar_subquery()))
        .values(
            status=SENDING,
            claimed_by=worker,
            claimed_until=now + lease,
            attempts=OutboxMessage.attempts + 1,
        )
        .returning(OutboxMessage.id)
    )
    ids = list((await session.exec(statement)).scalars().all())
    if not ids:
        return []
    rows = await session.exec(
        sqlmodel_select(OutboxMessage)
        .where(OutboxMessage.id.in_(ids))
        .order_by(OutboxMessage.id)
        .execution_options(populate_existing=True)
    )
    return list(rows.all())


async def mark_sent(session: AsyncSession, row_id: int, worker: str, now: datetime) -> None:
    await session.exec(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id, OutboxMessage.claimed_by == worker)
        .values(status=SENT, sent_at=now, claimed_until=None, last_error=None)
    )


async def mark_retry(
    session: AsyncSession, row_id: int, worker: str, at: datetime, error: str
) -> None:
    await session.exec(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id, OutboxMessage.claimed_by == worker)
        .values(status=PENDING, next_attempt_at=at, claimed_until=None, last_error=error[:500])
    )


async def mark_final(
    session: AsyncSession, row_id: int, worker: str, status: str, error: str
) -> None:
    """FAILED (gave up) or DROPPED (recipient blocked): never retried."""
    await session.exec(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id, OutboxMessage.claimed_by == worker)
        .values(status=status, claimed_until=None, last_error=error[:500])
    )


async def deactivate_account(
    session: AsyncSession, account_id: int | None, reason: str, now: datetime
) -> None:
    """Stop sending to an account (blocked or unfollowed) and drop what is queued for it."""
    if account_id is None:
        return
    await session.exec(
        update(ChannelAccount)
        .where(ChannelAccount.id == account_id)
        .values(active=False, inactive_reason=reason)
    )
    await session.exec(
        update(OutboxMessage)
        .where(OutboxMessage.account_id == account_id, OutboxMessage.status == PENDING)
        .values(status=DROPPED, last_error=reason)
    )
