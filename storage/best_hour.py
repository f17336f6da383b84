"""Best-hour queries: the hour chosen per person and day, the check-ins it led
to, and the per-hour counts they add up to (handlers.reminders.best_hour).

A day's hour is inserted with ON CONFLICT DO NOTHING, so the first planner to
decide it wins and every other planner and sender reads the same hour. A sent
check-in is settled (added to the counts) exactly once: the UPDATE that marks
it settled returns it only to the transaction that changed it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import BestHourCount, BestHourDay, Person, ReminderPreference

# (successes, failures) per hour
Counts = dict[time, tuple[int, int]]


def _insert(session: AsyncSession, table: Any):  # noqa: ANN202
    if session.bind.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


async def learning(session: AsyncSession, person_ids: Sequence[int]) -> set[int]:
    """Which of `person_ids` let the coach choose their time."""
    if not person_ids:
        return set()
    rows = await session.exec(
        select(ReminderPreference.person_id).where(
            ReminderPreference.person_id.in_(list(person_ids)),
            ReminderPreference.time_fixed.is_(False),
        )
    )
    return set(rows.scalars().all())


async def load_days(session: AsyncSession, person_ids: Sequence[int]) -> dict[int, list[Any]]:
    """The chosen days of each person who lets the coach choose (an empty list for
    one with none yet); rows carry day, at, notice, told."""
    ids = await learning(session, person_ids)
    days: dict[int, list[Any]] = {pid: [] for pid in ids}
    if not ids:
        return days
    rows = await session.exec(
        select(
            BestHourDay.person_id,
            BestHourDay.day,
            BestHourDay.at,
            BestHourDay.notice,
            BestHourDay.told,
        )
        .where(BestHourDay.person_id.in_(sorted(ids)))
        .order_by(BestHourDay.person_id, BestHourDay.day)
    )
    for row in rows.all():
        days[row.person_id].append(row)
    return days


async def insert_days(
    session: AsyncSession, rows: Sequence[dict[str, Any]]
) -> set[tuple[int, date]]:
    """Insert chosen days; a (person, day) already chosen is left alone. Returns the new ones."""
    if not rows:
        return set()
    statement = (
        _insert(session, BestHourDay)
        .on_conflict_do_nothing(index_elements=["person_id", "day"])
        .returning(BestHourDay.person_id, BestHourDay.day)
    )
    return {(pid, day) for pid, day in (await session.exec(statement, params=list(rows))).all()}


async def move_usual(session: AsyncSession, moves: dict[int, time]) -> None:
    """Set the usual hour (the reminder time shown in /remind) of these people."""
    if moves:
        values = [{"person_id": pid, "time_local": at} for pid, at in sorted(moves.items())]
        await session.exec(update(ReminderPreference), params=values)


async def settle(
    session: AsyncSession, person_ids: Iterable[int], now: datetime, window: timedelta
) -> int:
    """Add every sent check-in whose outcome is known (answered, or the window is
    over) to the counts; returns how many were settled."""
    ids = sorted(set(person_ids))
    if not ids:
        return 0
    settled = (
        update(BestHourDay)
        .where(
            BestHourDay.person_id.in_(ids),
            BestHourDay.settled.is_(False),
            BestHourDay.due_at.is_not(None),
            BestHourDay.at.is_not(None),
            or_(BestHourDay.answered_at.is_not(None), BestHourDay.due_at <= now - window),
        )
        .values(settled=True)
        .returning(
            BestHourDay.person_id, BestHourDay.at, BestHourDay.due_at, BestHourDay.answered_at
        )
    )
    counts: dict[tuple[int, time], list[int]] = {}
    rows = list((await session.exec(settled)).all())
    for row in rows:
        won = row.answered_at is not None and row.answered_at - row.due_at <= window
        tally = counts.setdefault((row.person_id, row.at), [0, 0])
        tally[0 if won else 1] += 1
    if counts:
        values = [
            {"person_id": pid, "at": at, "successes": s, "failures": f}
            for (pid, at), (s, f) in sorted(counts.items())
        ]
        statement = _insert(session, BestHourCount)
        statement = statement.on_conflict_do_update(
            index_elements=["person_id", "at"],
            set_={
                "successes": BestHourCount.successes + statement.excluded.successes,
                "failures": BestHourCount.failures + statement.excluded.failures,
            },
        )
        await session.exec(statement, params=values)
    return len(rows)


async def own_counts(session: AsyncSession, person_ids: Sequence[int]) -> dict[int, Counts]:
    rows = await session.exec(
        select(
            BestHourCount.person_id,
            BestHourCount.at,
            BestHourCount.successes,
            BestHourCount.failures,
        ).where(BestHourCount.person_id.in_(list(person_ids)))
    )
    counts: dict[int, Counts] = {}
    for row in rows.all():
        counts.setdefault(row.person_id, {})[row.at] = (row.successes, row.failures)
    return counts


async def agency_counts(
    session: AsyncSession, person_ids: Sequence[int]
) -> tuple[dict[int, int | None], dict[int, Counts]]:
    """Each person's agency, and each of those agencies' sums per hour."""
    people = await session.exec(
        select(Person.id, Person.agency_id).where(Person.id.in_(list(person_ids)))
    )
    agency_of = {row.id: row.agency_id for row in people.all()}
    agencies = sorted({a for a in agency_of.values() if a is not None})
    sums: dict[int, Counts] = {}
    if agencies:
        rows = await session.exec(
            select(
                Person.agency_id,
                BestHourCount.at,
                func.sum(BestHourCount.successes),
                func.sum(BestHourCount.failures),
            )
            .join(Person, Person.id == BestHourCount.person_id)
            .where(Person.agency_id.in_(agencies))
            .group_by(Person.agency_id, BestHourCount.at)
        )
        for agency_id, at, won, lost in rows.all():
            sums.setdefault(agency_id, {})[at] = (int(won or 0), int(lost or 0))
    return agency_of, sums


async def prune(session: AsyncSession, person_ids: Sequence[int], before: date) -> None:
    """Forget chosen days before `before` that need nothing more (settled or never sent)."""
    await session.exec(
        delete(BestHourDay).where(
            BestHourDay.person_id.in_(list(person_ids)),
            BestHourDay.day < before,
            or_(BestHourDay.settled.is_(True), BestHourDay.due_at.is_(None)),
        )
    )


async def mark_sent(session: AsyncSession, sent: Sequence[dict[str, Any]]) -> None:
    """Messages went for these (person_id, day, due_at, notice): check-ins to learn
    from; one that carried the notice of a move has told it for good."""
    if not sent:
        return
    values = [{"person_id": r["person_id"], "day": r["day"], "due_at": r["due_at"]} for r in sent]
    await session.exec(update(BestHourDay), params=values)
    told = sorted({row["person_id"] for row in sent if row.get("notice")})
    if told:
        await session.exec(
            update(BestHourDay)
            .where(BestHourDay.person_id.in_(told), BestHourDay.notice.is_(True))
            .values(told=True)
        )


async def note_answer(session: AsyncSession, person_id: int, now: datetime) -> None:
    """The person wrote: the first answer to each sent, unsettled check-in."""
    await session.exec(
        update(BestHourDay)
        .where(
            and_(
                BestHourDay.person_id == person_id,
                BestHourDay.settled.is_(False),
                BestHourDay.due_at.is_not(None),
                BestHourDay.due_at <= now,
                BestHourDay.answered_at.is_(None),
            )
        )
        .values(answered_at=now)
    )
