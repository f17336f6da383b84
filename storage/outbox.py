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

from sqlalchemy import and_, func, or_, select, update
from sqlmodel import select as sqlmodel_select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ChannelAccount, OutboxMessage

PENDING, SENDING, SENT, FAILED, DROPPED = "pending", "sending", "sent", "failed", "dropped"
DEFERRED = "deferred"  # set aside on purpose (see bot.channels.base.Deferred)


# Candidates looked at per row wanted: other senders may hold some of them.
CANDIDATES_PER_ROW = 4


def _due(now: datetime):  # noqa: ANN202
    return or_(
        and_(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == SENDING, OutboxMessage.claimed_until < now),
    )


def _chat_heads(now: datetime, channels: list[str], chat_ids: list[str] | None, limit: int):  # noqa: ANN202
    """Ids of the oldest unsent row of each chat, where that row is due, oldest first.

    One scan of the unsent rows with a window function and no join: the plan
    cannot turn quadratic when the planner misjudges a sudden wave of rows
    (a correlated "no earlier unsent row" check can, e.g. under a nudge wave).
    """
    ranked = select(
        OutboxMessage.id,
        OutboxMessage.status,
        OutboxMessage.next_attempt_at,
        OutboxMessage.claimed_until,
        func.row_number()
        .over(
            partition_by=(OutboxMessage.channel, OutboxMessage.chat_id), order_by=OutboxMessage.id
        )
        .label("place"),
    ).where(OutboxMessage.channel.in_(channels), OutboxMessage.status.in_([PENDING, SENDING]))
    if chat_ids is not None:
        ranked = ranked.where(OutboxMessage.chat_id.in_(chat_ids))
    ranked = ranked.subquery()
    return (
        select(ranked.c.id)
        .where(
            ranked.c.place == 1,
            or_(
                and_(ranked.c.status == PENDING, ranked.c.next_attempt_at <= now),
                and_(ranked.c.status == SENDING, ranked.c.claimed_until < now),
            ),
        )
        .order_by(ranked.c.id)
        .limit(limit)
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
    if session.bind.dialect.name == "postgresql":
        # FOR UPDATE cannot sit on a window function: find the heads first, then
        # lock them (re-checked under the lock: another sender may have taken one).
        found = await session.exec(_chat_heads(now, channels, chat_ids, limit * CANDIDATES_PER_ROW))
        heads = list(found.scalars().all())
        if not heads:
            return []
        candidates = (
            select(OutboxMessage.id)
            .where(OutboxMessage.id.in_(heads), _due(now))
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    else:  # SQLite: one statement under the single write lock
        candidates = _chat_heads(now, channels, chat_ids, limit)
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


async def mark_sent_many(
    session: AsyncSession, row_ids: list[int], worker: str, now: datetime
) -> None:
    """`mark_sent` for many rows in one statement (a delivery wave)."""
    await session.exec(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(row_ids), OutboxMessage.claimed_by == worker)
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


async def record_progress(session: AsyncSession, row_id: int, sent_parts: int) -> None:
    """Remember that the first `sent_parts` platform messages of a row went out.

    A row may need several sends (a long text, a photo and a question); when a
    later one fails and the row is retried, the channel resumes after these
    instead of sending them twice. Only a row still being sent is updated.
    """
    await session.exec(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id, OutboxMessage.status == SENDING)
        .values(sent_parts=sent_parts)
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
