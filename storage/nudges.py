"""Nudge queries: plan without doubles, lock a person's due nudges for one
sender, and record what became of them.

Planning is INSERT ... ON CONFLICT DO NOTHING on the unique key (person, kind,
slot), so any number of planners may run at once. Sending locks people, not
single nudges: on PostgreSQL a sender takes the people's counter rows with
FOR UPDATE SKIP LOCKED, so every nudge of one person and slot is claimed by
the same sender and leaves as one message; on SQLite the sender's transaction
holds the database's single write lock (BEGIN IMMEDIATE), which is the same
guarantee. Everything a send does happens in that one transaction: if the
sender dies, nothing happened and the nudges are still planned.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.accounts import reachable
from storage.models import Nudge, NudgeCounter, OutboxMessage
from storage.models.nudges import PLANNED, SKIPPED


def _insert(session: AsyncSession, table: Any):  # noqa: ANN202
    """The dialect's INSERT, which knows ON CONFLICT."""
    if session.bind.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


async def ensure_counters(session: AsyncSession, person_ids: Iterable[int]) -> None:
    """Create the counter (and lock) row of each person that lacks one."""
    values = [{"person_id": pid, "goals_nudged": {}} for pid in sorted(set(person_ids))]
    if not values:
        return
    statement = _insert(session, NudgeCounter).on_conflict_do_nothing(index_elements=["person_id"])
    await session.exec(statement, params=values)


async def insert_planned(
    session: AsyncSession, rows: Sequence[dict[str, Any]]
) -> list[tuple[int, int]]:
    """Insert planned nudges; rows whose (person, kind, slot) exists are left alone.

    Returns (person id, nudge id) of each row that was new.
    """
    if not rows:
        return []
    statement = (
        _insert(session, Nudge)
        .on_conflict_do_nothing(index_elements=["person_id", "kind", "slot"])
        .returning(Nudge.person_id, Nudge.id)
    )
    return [(pid, nid) for pid, nid in (await session.exec(statement, params=list(rows))).all()]


# People looked at per person wanted (other senders may hold some of them),
# and how many pages of due nudges one lock looks through at most.
CANDIDATES_PER_PERSON = 4
MAX_PAGES = 20


async def skip_late(session: AsyncSession, now: datetime, grace: timedelta) -> int:
    """Record as skipped every planned nudge more than `grace` overdue (after
    downtime, or for a channel no instance runs); returns how many."""
    statement = (
        update(Nudge)
        .where(Nudge.status == PLANNED, Nudge.due_at < now - grace)
        .values(status=SKIPPED, reason="late")
        .returning(Nudge.id)
    )
    return len((await session.exec(statement)).all())


async def lock_due_people(
    session: AsyncSession,
    *,
    now: datetime,
    channels: Sequence[str],
    limit: int,
    person_ids: Sequence[int] | None = None,
) -> list[int]:
    """Lock up to `limit` people who have due nudges and can be reached on `channels`.

    Only single-table queries on explicit id lists, so no misjudged plan (a
    wave of due nudges outdates the statistics) can turn a claim quadratic:
    pages of the earliest due nudges (an index range scan that stops early),
    keeping the people reachable here, then their counter rows, locked with
    FOR UPDATE SKIP LOCKED on PostgreSQL so concurrent senders take disjoint
    people. SQLite: the transaction already holds the write lock.
    """
    wanted = limit * CANDIDATES_PER_PERSON
    found: dict[int, None] = {}
    after: tuple[datetime, int] | None = None
    for _ in range(MAX_PAGES):
        page = (
            select(Nudge.id, Nudge.person_id, Nudge.due_at)
            .where(Nudge.status == PLANNED, Nudge.due_at <= now)
            .order_by(Nudge.due_at, Nudge.id)
            .limit(wanted)
        )
        if person_ids is not None:
            page = page.where(Nudge.person_id.in_(list(person_ids)))
        if after is not None:
            page = page.where(tuple_(Nudge.due_at, Nudge.id) > after)
        rows = list((await session.exec(page)).all())
        if not rows:
            break
        after = (rows[-1].due_at, rows[-1].id)
        people = [pid for pid in dict.fromkeys(r.person_id for r in rows) if pid not in found]
        found_accounts = await reachable(session, people, channels) if people else {}
        found.update((pid, None) for pid in people if pid in found_accounts)
        if len(found) >= wanted or len(rows) < wanted:
            break
    if not found:
        return []
    pick = (
        select(NudgeCounter.person_id)
        .where(NudgeCounter.person_id.in_(list(found)))
        .order_by(NudgeCounter.person_id)
        .limit(limit)
    )
    if session.bind.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    return list((await session.exec(pick)).scalars().all())


async def claim_nudges(
    session: AsyncSession, person_ids: Sequence[int], now: datetime, worker: str
) -> list[Any]:
    """Take the due planned nudges of people this sender has locked, oldest first.

    Rows carry id, person_id, kind, slot, due_at and detail, grouped by person and slot.
    """
    if not person_ids:
        return []
    claimed = (
        update(Nudge)
        .where(
            Nudge.person_id.in_(list(person_ids)),
            Nudge.status == PLANNED,
            Nudge.due_at <= now,
        )
        .values(claimed_by=worker)
        .returning(Nudge.id, Nudge.person_id, Nudge.kind, Nudge.slot, Nudge.due_at, Nudge.detail)
    )
    rows = list((await session.exec(claimed)).all())
    return sorted(rows, key=lambda row: (row.person_id, row.due_at, row.slot, row.id))


async def waiting_messages(session: AsyncSession) -> int:
    """Nudge messages written to the outbox and not yet delivered (all instances)."""
    statement = (
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.status.in_(["pending", "sending"]), OutboxMessage.kind == "nudge")
    )
    return int((await session.exec(statement)).scalar_one())


async def finish_nudges(session: AsyncSession, outcomes: Sequence[dict[str, Any]]) -> None:
    """Record each claimed nudge's end: status, reason, sent_at, outbox_id (by primary key)."""
    if outcomes:
        await session.exec(update(Nudge), params=list(outcomes))


async def save_counters(session: AsyncSession, counters: Sequence[dict[str, Any]]) -> None:
    """Write the counters of the people just served (by primary key)."""
    if counters:
        await session.exec(update(NudgeCounter), params=list(counters))


def nudge_awaits_answer(counter: NudgeCounter | None) -> bool:
    """Whether `note_answer` would change `counter` (as read in this transaction):
    a nudge was sent since the person last answered."""
    if counter is None or counter.last_sent_at is None:
        return False
    return counter.last_answered_at is None or counter.last_answered_at < counter.last_sent_at


async def note_answer(session: AsyncSession, person_id: int, now: datetime) -> None:
    """The person wrote: a nudge sent since their last answer counts as answered,
    and the counts of ignored and unanswered nudges start again from zero (the
    reminder ladder resets, and reminders it paused come back)."""
    await session.exec(
        update(NudgeCounter)
        .where(
            NudgeCounter.person_id == person_id,
            NudgeCounter.last_sent_at.is_not(None),
            or_(
                NudgeCounter.last_answered_at.is_(None),
                NudgeCounter.last_answered_at < NudgeCounter.last_sent_at,
            ),
        )
        .values(
            ignored=0,
            unanswered=0,
            ladder_told_at=None,
            answered=NudgeCounter.answered + 1,
            last_answered_at=now,
        )
    )


async def resume_ladder(session: AsyncSession, person_id: int) -> None:
    """Reminders that paused themselves come back (the person tapped to resume)."""
    await session.exec(
        update(NudgeCounter)
        .where(NudgeCounter.person_id == person_id)
        .values(unanswered=0, ladder_told_at=None)
    )
