"""Pushes of one platform this month: what is planned for its people, what the
planner set aside, and the per-month record /summary reads.

The planner writes the record (`save_month`) each time it fits the month's
nudges to the platform's remaining pushes; the summary only reads it, so a
report never has to ask the platform.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, false, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.accounts import reachable_clause
from storage.batches import id_batches
from storage.models import ChannelAccount, Nudge, OutboxMessage, Person, PushMonth
from storage.models.nudges import PLANNED, SKIPPED


def _planned(channel: str, before: datetime) -> Any:
    """Planned nudges due before `before` of people with an active account on `channel`."""
    return (
        Nudge.status == PLANNED,
        Nudge.due_at < before,
        reachable_clause(Nudge.person_id, [channel]),
    )


async def planned_push_bound(
    session: AsyncSession, channel: str, before: datetime, own_message: Sequence[str] = ()
) -> int:
    """At most how many messages the planned nudges make (one per person and slot, and
    one more for each nudge of the `own_message` kinds, which leave on their own),
    counting everyone with an account on `channel` (some may be reached elsewhere)."""
    alone = Nudge.kind.in_(own_message) if own_message else false()  # type: ignore[attr-defined]
    slots = (
        select(Nudge.person_id, Nudge.slot, case((alone, Nudge.kind), else_=""))
        .where(*_planned(channel, before))
        .distinct()
    )
    counted = select(func.count()).select_from(slots.subquery())
    return int((await session.exec(counted)).scalar_one())


async def nudges_in_flight(session: AsyncSession, channel: str) -> int:
    """Nudge messages on `channel` written to the outbox and not yet pushed: the
    platform has not counted them yet, but they will be."""
    statement = (
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.channel == channel,
            OutboxMessage.kind == "nudge",
            OutboxMessage.status.in_(["pending", "sending"]),
        )
    )
    return int((await session.exec(statement)).scalar_one())


async def planned_nudges(session: AsyncSession, channel: str, before: datetime) -> list[Any]:
    """The planned nudges behind `planned_push_bound`: id, person_id, kind, slot, due_at."""
    statement = (
        select(Nudge.id, Nudge.person_id, Nudge.kind, Nudge.slot, Nudge.due_at)
        .where(*_planned(channel, before))
        .order_by(Nudge.person_id, Nudge.slot, Nudge.id)
    )
    return list((await session.exec(statement)).all())


async def skip_planned(session: AsyncSession, nudge_ids: Sequence[int], reason: str) -> set[int]:
    """Set aside these nudges (status "skipped" with `reason`) unless a sender has
    already settled them; returns the ids set aside."""
    skipped: set[int] = set()
    for ids in id_batches(nudge_ids):
        statement = (
            update(Nudge)
            .where(Nudge.id.in_(ids), Nudge.status == PLANNED)
            .values(status=SKIPPED, reason=reason)
            .returning(Nudge.id)
        )
        skipped.update((await session.exec(statement)).scalars().all())
    return skipped


async def save_month(
    session: AsyncSession,
    *,
    channel: str,
    month: str,
    quota: int,
    used: int,
    planned: int,
    dropped: int,
    now: datetime,
) -> None:
    """Record the month's figures; `dropped` adds to what was set aside before."""
    insert = (postgresql if session.bind.dialect.name == "postgresql" else sqlite).insert
    statement = insert(PushMonth).values(
        channel=channel,
        month=month,
        quota=quota,
        used=used,
        planned=planned,
        dropped=dropped,
        updated_at=now,
    )
    statement = statement.on_conflict_do_update(
        index_elements=["channel", "month"],
        set_={
            "quota": statement.excluded.quota,
            "used": statement.excluded.used,
            "planned": statement.excluded.planned,
            "dropped": PushMonth.__table__.c.dropped + statement.excluded.dropped,
            "updated_at": statement.excluded.updated_at,
        },
    )
    await session.exec(statement)


async def agency_push_months(session: AsyncSession, agency_id: int, month: str) -> list[PushMonth]:
    """The month's records of the platforms on which the agency has people."""
    channels = (
        select(ChannelAccount.channel)
        .join(Person, Person.id == ChannelAccount.person_id)
        .where(Person.agency_id == agency_id, ChannelAccount.active.is_(True))
        .distinct()
    )
    statement = (
        select(PushMonth)
        .where(PushMonth.month == month, PushMonth.channel.in_(channels))
        .order_by(PushMonth.channel)
    )
    return list((await session.exec(statement)).scalars().all())
