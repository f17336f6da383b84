"""Planning: turn the rules into nudge rows ahead of time.

The planner is insert-only and idempotent: it computes which nudges belong in
each person's slots from a little before now (missed ones still inside the
grace period) to `horizon` ahead, and inserts them with ON CONFLICT DO NOTHING.
Running it twice, or on three instances at once, changes nothing. Whatever no
longer applies when it falls due is cancelled by the sender, which asks the
same rules again.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.policy import Thresholds
from handlers.reminders.facts import load_facts
from handlers.reminders.rules import (
    CHECKIN,
    COMEBACK,
    FOLLOWUP,
    GOAL,
    RECALL,
    Facts,
    followup_moment,
    slots_between,
)
from jobs.nudge_hours import decide_hours
from storage import nudges as queries
from storage.accounts import reachable, reachable_clause
from storage.models import Person, ReminderPreference
from storage.models.nudges import PLANNED


@dataclass(frozen=True)
class PlanReport:
    people: int
    planned: int
    last_person_id: int | None


def planned_rows(facts: Facts, th: Thresholds, now: datetime, horizon: timedelta) -> list[dict]:
    """The nudge rows one person should have between now - grace and now + horizon."""
    rows = []
    for slot in slots_between(facts, th, now - th.grace, now + horizon):
        due: dict = dict.fromkeys(slot.kinds, slot.due_at)
        if CHECKIN in slot.kinds:  # its follow-up, should it go unanswered
            followup = followup_moment(facts, th, slot.day)
            if followup is not None:
                due[FOLLOWUP] = followup
        for kind, due_at in due.items():
            detail: dict = {}
            if kind == GOAL:
                detail = {"goals": list(slot.goal_ids)}
            elif kind == COMEBACK and slot.plan_day is not None:
                detail = {"plan_day": slot.plan_day.isoformat()}
            elif kind == RECALL:
                detail = {"entry": slot.recall_id}  # what it asks about, once sent
            rows.append(
                {
                    "person_id": facts.person_id,
                    "kind": kind,
                    "slot": slot.key,
                    "due_at": due_at,
                    "status": PLANNED,
                    "detail": detail,
                    "created_at": now,
                }
            )
    return rows


async def plan_people(
    session: AsyncSession,
    person_ids: Sequence[int],
    *,
    now: datetime,
    th: Thresholds,
    horizon: timedelta,
    default_tz: str = "Asia/Bangkok",
    short_channels: Collection[str] = (),
) -> int:
    """Plan the coming nudges of `person_ids`; returns how many rows were new.

    `short_channels`: the channels whose monthly quota is short; for a person
    reached on one of them the coach may skip a day whose check-in would likely
    go unanswered (`handlers.reminders.best_hour`).
    """
    facts = await load_facts(session, person_ids, default_tz)
    short: set[int] = set()
    if short_channels:
        accounts = await reachable(session, person_ids)
        short = {pid for pid, account in accounts.items() if account.channel in short_channels}
    facts = await decide_hours(session, facts, now=now, th=th, horizon=horizon, short=short)
    rows = [row for f in facts.values() for row in planned_rows(f, th, now, horizon)]
    if not rows:
        return 0
    await queries.ensure_counters(session, {row["person_id"] for row in rows})
    return len(await queries.insert_planned(session, rows))


async def candidates(session: AsyncSession, after: int | None, limit: int) -> list[int]:
    """The next `limit` people (by id, after `after`) who could get nudges at all:
    onboarded, reminders on with a time, and reachable on some channel."""
    statement = (
        select(Person.id)
        .join(ReminderPreference, ReminderPreference.person_id == Person.id)
        .where(
            Person.onboarded_at.is_not(None),
            ReminderPreference.enabled.is_(True),
            ReminderPreference.time_local.is_not(None),
            reachable_clause(Person.id),
        )
        .order_by(Person.id)
        .limit(limit)
    )
    if after is not None:
        statement = statement.where(Person.id > after)
    return list((await session.exec(statement)).scalars().all())


async def plan_batch(
    session: AsyncSession,
    *,
    after: int | None,
    limit: int,
    now: datetime,
    th: Thresholds,
    horizon: timedelta,
    default_tz: str = "Asia/Bangkok",
    short_channels: Collection[str] = (),
) -> PlanReport:
    """Plan one batch of people after `after`; the caller loops until it is empty."""
    ids = await candidates(session, after, limit)
    if not ids:
        return PlanReport(0, 0, None)
    planned = await plan_people(
        session,
        ids,
        now=now,
        th=th,
        horizon=horizon,
        default_tz=default_tz,
        short_channels=short_channels,
    )
    return PlanReport(len(ids), planned, ids[-1])
