"""Messages to people other than the sender: written as outbox rows in the
turn's own transaction, so they go out exactly when the command commits.

A person is reached on one account only (the active one they wrote from most
recently), never on an account that blocked the bot or was deactivated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.messages import Reply
from storage.models import ChannelAccount, OutboxMessage, Person


async def reachable_accounts(
    session: AsyncSession, person_ids: Iterable[int]
) -> dict[int, ChannelAccount]:
    """person id -> the active account to write to (most recently used first)."""
    ids = list(set(person_ids))
    if not ids:
        return {}
    result = await session.exec(
        select(ChannelAccount).where(
            ChannelAccount.person_id.in_(ids),  # type: ignore[attr-defined]
            ChannelAccount.active.is_(True),  # type: ignore[attr-defined]
        )
    )
    chosen: dict[int, ChannelAccount] = {}
    for account in result.all():
        best = chosen.get(account.person_id)
        if best is None or _last_used(account) > _last_used(best):
            chosen[account.person_id] = account
    return chosen


def _last_used(account: ChannelAccount) -> tuple[float, int]:
    moment = account.last_incoming_at or account.created_at
    return (moment.timestamp() if moment else 0.0, account.id or 0)


async def _key_taken(session: AsyncSession, key: str | None) -> bool:
    if key is None:
        return False
    found = await session.exec(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key))
    return found.first() is not None


async def push_to_people(
    session: AsyncSession,
    people: Iterable[Person],
    make_replies: Callable[[Person], list[Reply]],
    *,
    kind: str,
    now: datetime,
    dedupe: Callable[[Person], str] | None = None,
) -> list[int]:
    """One outbox row per reachable person; returns the ids of the people written to.

    `dedupe` gives a key per person: a person whose key is already in the
    outbox is skipped (e.g. one admin nudge per person per day).
    """
    people = list(people)
    accounts = await reachable_accounts(session, [p.id for p in people if p.id is not None])
    reached: list[int] = []
    for person in people:
        account = accounts.get(person.id)  # type: ignore[arg-type]
        if account is None:
            continue
        key = dedupe(person) if dedupe else None
        if await _key_taken(session, key):
            continue
        session.add(
            OutboxMessage(
                channel=account.channel,
                chat_id=account.chat_id,
                account_id=account.id,
                kind=kind,
                payload=[r.to_json() for r in make_replies(person)],
                dedupe_key=key,
                next_attempt_at=now,
                created_at=now,
            )
        )
        reached.append(person.id)  # type: ignore[arg-type]
    await session.flush()
    return reached


async def push_to_chat(
    session: AsyncSession,
    channel: str,
    chat_id: str,
    replies: list[Reply],
    *,
    kind: str,
    now: datetime,
    dedupe_key: str | None = None,
) -> OutboxMessage | None:
    """One outbox row for a group chat (no person's account behind it); None if already queued."""
    if await _key_taken(session, dedupe_key):
        return None
    row = OutboxMessage(
        channel=channel,
        chat_id=chat_id,
        account_id=None,
        kind=kind,
        payload=[r.to_json() for r in replies],
        dedupe_key=dedupe_key,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row
