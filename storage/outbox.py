"""The outbox: the one way a message is queued, and the queries that send it.

`enqueue` is the only builder of outbox rows: replies to a turn, messages to
other people, nudges and weekly posts all go through it, in the transaction
of the state they report.

Claims are safe with several senders: on PostgreSQL the claim locks rows with
FOR UPDATE SKIP LOCKED so two instances never take the same row; on SQLite the
claim is a single UPDATE ... RETURNING, which SQLite runs under its one
writer lock. A claim is a short lease that its sender renews while it works
(`renew`): if a sender dies, its rows become claimable again one lease later,
or at once when a sender on the same machine sees that it is gone (`release`). Only the oldest unsent row of each chat is
claimable, so messages to one person arrive in order.

A turn may write its reply already claimed (`NewMessage.claimed_by`), leased
as a claim leases: its writer sends it right after the commit, and if the
writer dies the lease ends and the row is claimable like any other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import select as sqlmodel_select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.accounts import DROPPED
from storage.models import ChannelAccount, OutboxMessage, Person

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
DEFERRED = "deferred"  # set aside on purpose (see bot.channels.base.Deferred)
__all__ = ["DEFERRED", "DROPPED", "FAILED", "PENDING", "SENDING", "SENT", "NewMessage", "enqueue"]


@dataclass(frozen=True)
class NewMessage:
    """One message to queue: where it goes and its payload (a list of replies as JSON).

    `dedupe_key` makes it at most once: a second message with the same key is
    not written. `reply_token` lets LINE answer for free while it is fresh.
    """

    channel: str
    chat_id: str
    account_id: int | None
    kind: str
    payload: list[dict[str, Any]]
    dedupe_key: str | None = None
    reply_token: str | None = None
    reply_token_expires_at: datetime | None = None
    # Written already claimed by this sender (`claimed_by`, leased until
    # `claimed_until`): the writer sends it right after its transaction commits.
    # If the sender dies first, the lease ends and any sender claims it as usual.
    claimed_by: str | None = None
    claimed_until: datetime | None = None


def _row(message: NewMessage, now: datetime) -> dict[str, Any]:
    claimed = message.claimed_by is not None
    return {
        "channel": message.channel,
        "chat_id": message.chat_id,
        "account_id": message.account_id,
        "kind": message.kind,
        "payload": message.payload,
        "reply_token": message.reply_token,
        "reply_token_expires_at": message.reply_token_expires_at,
        "dedupe_key": message.dedupe_key,
        "status": SENDING if claimed else PENDING,
        "attempts": 1 if claimed else 0,
        "claimed_by": message.claimed_by,
        "claimed_until": message.claimed_until if claimed else None,
        "sent_parts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def as_row(message: NewMessage, row_id: int, now: datetime) -> OutboxMessage:
    """The row `enqueue` wrote for `message` (with id `row_id`), as a sender reads it."""
    return OutboxMessage(id=row_id, **_row(message, now))


def _insert(session: AsyncSession):  # noqa: ANN202
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    return dialect.insert(OutboxMessage)


async def enqueue(
    session: AsyncSession, messages: Sequence[NewMessage], now: datetime
) -> dict[int, int]:
    """Queue `messages`, due now; returns {index in `messages`: new row id}.

    A message whose `dedupe_key` is already in the outbox is not written, and
    its index is missing from the result.
    """
    # Plain SQL on the session's connection (its transaction): no loaded object
    # needs these rows, and the ORM's execution path costs more per statement.
    connection = await session.connection()
    keyed = [(i, m) for i, m in enumerate(messages) if m.dedupe_key is not None]
    plain = [(i, m) for i, m in enumerate(messages) if m.dedupe_key is None]
    written: dict[int, int] = {}
    if keyed:
        index_of = {m.dedupe_key: i for i, m in keyed}
        if len(index_of) != len(keyed):
            raise ValueError("two messages of one batch share a dedupe key")
        statement = (
            _insert(session)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(OutboxMessage.id, OutboxMessage.dedupe_key)
        )
        result = await connection.execute(statement, [_row(m, now) for _, m in keyed])
        for row_id, key in result.all():
            written[index_of[key]] = row_id
    if plain:
        statement = _insert(session).returning(OutboxMessage.id, sort_by_parameter_order=True)
        result = await connection.execute(statement, [_row(m, now) for _, m in plain])
        for (index, _), (row_id,) in zip(plain, result.all(), strict=True):
            written[index] = row_id
    return written


@dataclass(frozen=True)
class Recipient:
    """Who an outbox row goes to, as sending needs it: still reachable, and in which language."""

    active: bool
    person_id: int | None
    lang: str | None


async def recipients(session: AsyncSession, rows: Sequence[OutboxMessage]) -> dict[int, Recipient]:
    """outbox row id -> its recipient, for rows addressed to a person's account.

    Only the person's own chat follows their block: a row for a group they are
    in has no account and is always sendable.
    """
    ids = sorted({r.account_id for r in rows if r.account_id is not None})
    if not ids:
        return {}
    found = await session.exec(
        select(
            ChannelAccount.id, ChannelAccount.active, ChannelAccount.chat_id, Person.id, Person.lang
        )
        .join(Person, Person.id == ChannelAccount.person_id)
        .where(ChannelAccount.id.in_(ids))  # type: ignore[attr-defined]
    )
    accounts = {row[0]: row for row in found.all()}
    result: dict[int, Recipient] = {}
    for row in rows:
        account = accounts.get(row.account_id)
        if account is None:
            continue
        _, active, chat_id, person_id, lang = account
        result[row.id] = Recipient(bool(active) or chat_id != row.chat_id, person_id, lang)
    return result


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


async def mark_sent(
    session: AsyncSession, row_ids: Sequence[int], worker: str, now: datetime
) -> None:
    """Mark rows this worker sent as sent (sends that returned together): right
    after the sends returned, so a crash a moment later does not make another
    sender repeat them. Plain SQL on the session's connection: no loaded object
    needs it."""
    connection = await session.connection()
    await connection.execute(_MARK_SENT, {"ids": list(row_ids), "worker": worker, "now": now})


# Built once: it runs after every send, and building and keying a statement is
# CPU each time.
_MARK_SENT = (
    update(OutboxMessage)
    .where(
        OutboxMessage.id.in_(bindparam("ids", expanding=True)),  # type: ignore[union-attr]
        OutboxMessage.claimed_by == bindparam("worker"),
    )
    .values(status=SENT, sent_at=bindparam("now"), claimed_until=None, last_error=None)
)


async def renew(
    session: AsyncSession, row_ids: Sequence[int], worker: str, until: datetime
) -> None:
    """Extend this worker's lease on rows it is still sending (its heartbeat):
    a live sender keeps its rows however long a send takes, while a dead
    sender's rows come free one short lease after it stopped."""
    await session.exec(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(list(row_ids)),
            OutboxMessage.claimed_by == worker,
            OutboxMessage.status == SENDING,
        )
        .values(claimed_until=until)
    )


async def holders(session: AsyncSession) -> list[str]:
    """The senders that hold rows right now (claimed and not finished)."""
    found = await session.exec(
        select(OutboxMessage.claimed_by).where(OutboxMessage.status == SENDING).distinct()
    )
    return [name for name in found.scalars().all() if name]


async def release(session: AsyncSession, workers: Sequence[str], now: datetime) -> int:
    """Make the rows of `workers` (senders known to be gone) claimable at once."""
    if not workers:
        return 0
    result = await session.exec(
        update(OutboxMessage)
        .where(OutboxMessage.status == SENDING, OutboxMessage.claimed_by.in_(list(workers)))
        .values(claimed_until=now - timedelta(seconds=1))  # "ended", as the claim reads it
    )
    return result.rowcount or 0


async def mark_retry(
    session: AsyncSession, row_id: int, worker: str, at: datetime, error: str
) -> None:
    await session.exec(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id, OutboxMessage.claimed_by == worker)
        .values(status=PENDING, next_attempt_at=at, claimed_until=None, last_error=error[:500])
    )


async def record_progress(
    session: AsyncSession, row_id: int, sent_parts: int, *, token_refused: bool = False
) -> None:
    """Remember that the first `sent_parts` platform messages of a row went out,
    and (`token_refused`) that the platform refused the row's reply token.

    A row may need several sends (a long text, a photo and a question); when a
    later one fails and the row is retried, the channel resumes after these
    instead of sending them twice. A refused token is forgotten, so a retry
    pushes. Only a row still being sent is updated.
    """
    values: dict[str, Any] = {"sent_parts": sent_parts}
    if token_refused:
        values.update(reply_token=None, reply_token_expires_at=None)
    await session.exec(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id, OutboxMessage.status == SENDING)
        .values(**values)
    )


async def mark_final(
    session: AsyncSession, row_id: int, worker: str, status: str, error: str
) -> None:
    """FAILED (gave up), DROPPED (recipient blocked) or DEFERRED: never retried
    (unless an operator asks: `retry_failed`)."""
    await session.exec(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id, OutboxMessage.claimed_by == worker)
        .values(status=status, claimed_until=None, last_error=error[:500])
    )


# ---- the operator's view (`dlcoach outbox status` / `retry`) ----------------------------


@dataclass(frozen=True)
class StatusLine:
    """How many rows of one channel are in one status, and the oldest one's age."""

    channel: str
    status: str
    count: int
    oldest: datetime | None


async def status_lines(session: AsyncSession) -> list[StatusLine]:
    """Row counts per channel and status (sent rows included), oldest first."""
    found = await session.exec(
        select(
            OutboxMessage.channel,
            OutboxMessage.status,
            func.count(),
            func.min(OutboxMessage.created_at),
        )
        .group_by(OutboxMessage.channel, OutboxMessage.status)
        .order_by(OutboxMessage.channel, OutboxMessage.status)
    )
    return [StatusLine(*row) for row in found.all()]


async def failed_rows(session: AsyncSession, limit: int = 20) -> list[OutboxMessage]:
    """The most recent failed rows, for an operator to look at before retrying."""
    found = await session.exec(
        sqlmodel_select(OutboxMessage)
        .where(OutboxMessage.status == FAILED)
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    )
    return list(found.all())


async def retry_failed(
    session: AsyncSession,
    now: datetime,
    *,
    row_ids: Sequence[int] | None = None,
    channel: str | None = None,
) -> int:
    """Queue failed rows again as if new (a fresh horizon and attempt count);
    `row_ids` or `channel` narrow it down. Returns how many were re-queued."""
    statement = update(OutboxMessage).where(OutboxMessage.status == FAILED)
    if row_ids is not None:
        statement = statement.where(OutboxMessage.id.in_(list(row_ids)))
    if channel is not None:
        statement = statement.where(OutboxMessage.channel == channel)
    result = await session.exec(
        statement.values(
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            claimed_by=None,
            claimed_until=None,
        )
    )
    return result.rowcount or 0


HISTORY_LIMIT = 50  # rows a chat's history returns at once


async def sent_to_chat(
    session: AsyncSession, channel: str, chat_id: str, after: int, limit: int = HISTORY_LIMIT
) -> list[OutboxMessage]:
    """The rows sent to one chat of `channel` after row `after`, oldest first: what
    a channel with no platform of its own (the web chat) shows. Finished rows are
    kept for `DLCOACH_KEEP_OUTBOX_DAYS` and go with an erased person's data."""
    query = (
        sqlmodel_select(OutboxMessage)
        .where(
            OutboxMessage.chat_id == chat_id,
            OutboxMessage.channel == channel,
            OutboxMessage.id > after,  # type: ignore[operator]
            OutboxMessage.status == SENT,
        )
        .order_by(OutboxMessage.id)  # type: ignore[arg-type]
        .limit(limit)
    )
    return list((await session.exec(query)).all())
