"""Where a person can be reached: the one rule, and what follows from a block.

A person is reached on one account only: the active one they wrote from most
recently (on one of the channels running, when the caller says which). An
account stops being active when the person blocks or unfollows the bot, and
becomes active again when they write.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.batches import id_batches
from storage.models import ChannelAccount, OutboxMessage

DROPPED = "dropped"  # outbox status of a message that will not go (the account is gone)


@dataclass(frozen=True)
class Account:
    """A reachable account: where a person's messages go."""

    id: int
    person_id: int
    channel: str
    chat_id: str


def account_hash(channel: str, user_id: str) -> str:
    """A stand-in for a platform id where the id itself must not be kept (a refusal)."""
    return hashlib.sha256(f"{channel}:{user_id}".encode()).hexdigest()


def reachable_clause(person_id: Any, channels: Sequence[str] | None = None) -> ColumnElement[bool]:
    """SQL: the person `person_id` (a column or value) has an account the rule accepts."""
    query = select(ChannelAccount.id).where(
        ChannelAccount.person_id == person_id,
        ChannelAccount.active.is_(True),  # type: ignore[attr-defined]
    )
    if channels is not None:
        query = query.where(ChannelAccount.channel.in_(list(channels)))  # type: ignore[attr-defined]
    return query.exists()


async def reachable(
    session: AsyncSession, person_ids: Iterable[int], channels: Sequence[str] | None = None
) -> dict[int, Account]:
    """person id -> the account to write to, for each of `person_ids` that has one
    (asked in batches of ids, so any number of people can be looked up)."""
    found: dict[int, Account] = {}
    for ids in id_batches(person_ids):
        found.update(await _reachable(session, ids, channels))
    return found


async def _reachable(
    session: AsyncSession, ids: list[int], channels: Sequence[str] | None
) -> dict[int, Account]:
    query = select(
        ChannelAccount.id,
        ChannelAccount.person_id,
        ChannelAccount.channel,
        ChannelAccount.chat_id,
        ChannelAccount.last_incoming_at,
        ChannelAccount.created_at,
    ).where(
        ChannelAccount.person_id.in_(ids),  # type: ignore[attr-defined]
        ChannelAccount.active.is_(True),  # type: ignore[attr-defined]
    )
    if channels is not None:
        query = query.where(ChannelAccount.channel.in_(list(channels)))  # type: ignore[attr-defined]
    best: dict[int, Any] = {}
    for row in (await session.exec(query)).all():
        current = best.get(row.person_id)
        if current is None or _recency(row) > _recency(current):
            best[row.person_id] = row
    return {pid: Account(row.id, pid, row.channel, row.chat_id) for pid, row in best.items()}


def _recency(row: Any) -> tuple[float, int]:
    seen = row.last_incoming_at or row.created_at
    return (seen.timestamp() if seen else 0.0, row.id)


async def deactivate(session: AsyncSession, account_id: int | None, reason: str) -> None:
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
        .where(OutboxMessage.account_id == account_id, OutboxMessage.status == "pending")
        .values(status=DROPPED, last_error=reason)
    )


async def forget_menus(session: AsyncSession, channel: str) -> int:
    """Mark every account of `channel` as having no menu sent, so each person's next
    reply sends theirs again (after the platform's menus were replaced); returns
    how many accounts had one."""
    result = await session.exec(
        update(ChannelAccount)
        .where(ChannelAccount.channel == channel, ChannelAccount.menu.is_not(None))
        .values(menu=None)
    )
    return result.rowcount or 0
