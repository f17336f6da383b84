"""Deciding the coach's hour of each day, for people who let it choose.

The planner calls `decide_hours` before it turns the rules into nudge rows: a
day is decided `decide_ahead` before its first candidate hour (so yesterday's
answers are in), once; the choice is a row (`storage.best_hour`), so every
planner and sender sees the same hour. Deciding a day first settles the
person's check-ins whose outcome is known, then asks the pure learner
(`handlers.reminders.best_hour`) with the agency's counts as the prior.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.policy import Thresholds
from handlers.reminders.best_hour import (
    DEFAULT_POLICY,
    HourPolicy,
    Tally,
    allowed_hours,
    choose_hour,
)
from handlers.reminders.rules import Facts, LearnedHour, day_blocked, days_between
from storage import best_hour as store

KEEP_DAYS = 7  # chosen days kept this long after they are settled


def _moment(day: date, at: time, tz: str) -> datetime:
    return datetime.combine(day, at, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def days_to_decide(
    facts: Facts, th: Thresholds, now: datetime, horizon: timedelta, policy: HourPolicy
) -> list[tuple[date, tuple[time, ...]]]:
    """The days of this person that are due a decision now, each with the
    candidate hours still ahead (all of them unless the planner was down)."""
    if facts.hours is None or facts.prefs is None:
        return []
    wanted = []
    for day in days_between(now - th.grace, now + horizon, facts.tz):
        if day_blocked(facts, day) != "undecided":
            continue
        allowed = allowed_hours(facts.prefs, policy)
        if not allowed:  # quiet hours leave no candidate: their own time, as it is
            wanted.append((day, ()))
            continue
        ahead = tuple(at for at in allowed if _moment(day, at, facts.tz) >= now)
        if ahead and _moment(day, ahead[0], facts.tz) - now <= policy.decide_ahead:
            wanted.append((day, ahead))
    return wanted


def _tallies(counts: store.Counts) -> dict[time, Tally]:
    return {at: Tally(s, f) for at, (s, f) in counts.items()}


async def decide_hours(
    session: AsyncSession,
    facts: dict[int, Facts],
    *,
    now: datetime,
    th: Thresholds,
    horizon: timedelta,
    short: Collection[int] = (),
    policy: HourPolicy = DEFAULT_POLICY,
) -> dict[int, Facts]:
    """Decide the days that are due a decision; returns the facts with them.
    `short`: the people reached on a channel whose quota is short."""
    wanted = {
        pid: days
        for pid, f in facts.items()
        if (days := days_to_decide(f, th, now, horizon, policy))
    }
    if not wanted:
        return facts
    ids = sorted(wanted)
    await store.settle(session, ids, now, policy.window)
    own = await store.own_counts(session, ids)
    agency_of, agency_sums = await store.agency_counts(session, ids)
    rows: list[dict] = []
    moves: dict[int, tuple[date, time]] = {}  # person -> (day of the move, new usual hour)
    for pid in ids:
        f = facts[pid]
        assert f.prefs is not None and f.hours is not None
        mine = _tallies(own.get(pid, {}))
        agency = _tallies(agency_sums.get(agency_of.get(pid) or -1, {}))
        others = {at: tally - mine.get(at, Tally()) for at, tally in agency.items()}
        current = f.prefs.time_local
        pending = any(learned.notice for learned in f.hours.values())
        for day, ahead in wanted[pid]:
            choice = choose_hour(
                pid,
                day,
                ahead,
                mine,
                others,
                current=current,
                budget_short=pid in short,
                policy=policy,
            )
            if choice.move and choice.at is not None:
                current = choice.at
                moves[pid] = (day, current)
            # a notice whose day's message never went rides the next one at that hour
            notice = choice.notice or (pending and choice.at == current)
            rows.append(
                {
                    "person_id": pid,
                    "day": day,
                    "at": choice.at,
                    "reason": choice.reason,
                    "notice": notice,
                    "told": False,
                    "settled": False,
                    "created_at": now,
                }
            )
    new = await store.insert_days(session, rows)
    # only the planner whose row went in moves the usual hour
    await store.move_usual(
        session, {pid: at for pid, (day, at) in moves.items() if (pid, day) in new}
    )
    first_day = min(day for days in wanted.values() for day, _ in days)
    await store.prune(session, ids, first_day - timedelta(days=KEEP_DAYS))
    loaded = await store.load_days(session, ids)
    updated = dict(facts)
    for pid in ids:
        hours = {d.day: LearnedHour(d.at, d.notice and not d.told) for d in loaded.get(pid, [])}
        updated[pid] = replace(facts[pid], hours=hours)
    return updated
