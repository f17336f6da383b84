"""Fit the month's planned nudges to a platform's remaining pushes.

For a channel with a monthly push quota, after planning: the pushes nudges may
still take this month (`PushBudget.remaining`, read from the platform and kept
current by counting the pushes sent since) are compared with the nudge messages
waiting in the outbox and those planned and not yet sent this month for the
people reached there (one per person and slot: the nudges of a slot leave
together). When they do not
fit, the most valuable are kept (`handlers.reminders.budget`) and the rest are
set aside as skipped with reason "quota", so the working group sees them. The
month's figures are recorded for /summary either way.

Replies are free and never planned here; nothing is counted for them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.pushes import PushBudget
from handlers.reminders.budget import QUOTA_REASON, Push, month_of, within_budget
from handlers.reminders.facts import load_plans
from handlers.reminders.rules import CHECKIN, FOLLOWUP
from storage import pushes as queries
from storage.accounts import reachable

log = logging.getLogger(__name__)

SHORT_SHARE = 0.9  # planned at or above this share of the pushes left: the quota is short


@dataclass(frozen=True)
class BudgetReport:
    """What fitting one channel's month did."""

    channel: str
    month: str
    remaining: int  # pushes nudges may still take this month, beyond those in the outbox
    planned: int  # messages planned and kept, and those waiting in the outbox
    dropped: int  # messages set aside now (their nudges skipped, reason "quota")
    in_flight: int = 0  # of `planned`, those already in the outbox
    skipped_nudges: int = 0  # nudges skipped with reason "quota" (counted once committed)

    @property
    def short(self) -> bool:
        """The month's pushes do not cover what was planned, or barely: from now on
        the best hour may skip a day that would likely go unanswered. (Within a
        tenth of the pushes left counts as short, so that skipping some days does
        not at once make the quota look ample again.)"""
        return self.dropped > 0 or self.planned >= SHORT_SHARE * (self.remaining + self.in_flight)


async def planned_pushes(
    session: AsyncSession, channel: str, before: datetime, channels: Sequence[str]
) -> list[Push]:
    """The messages the planned nudges due before `before` make for the people
    reached on `channel` (of the `channels` running), one per person and slot (and
    one more where the slot's check-in has a follow-up)."""
    rows = await queries.planned_nudges(session, channel, before)
    if not rows:
        return []
    accounts = await reachable(session, {row.person_id for row in rows}, channels)
    rows = [r for r in rows if r.person_id in accounts and accounts[r.person_id].channel == channel]
    plans = await load_plans(session, {r.person_id for r in rows if r.kind == CHECKIN})
    # A follow-up leaves as a message of its own, after its slot's check-in.
    messages: dict[tuple[int, str, bool], list[Any]] = {}
    for row in rows:
        messages.setdefault((row.person_id, row.slot, row.kind == FOLLOWUP), []).append(row)
    pushes = []
    for (person_id, slot, _), nudges in messages.items():
        pushes.append(
            Push(
                person_id=person_id,
                slot=slot,
                due_at=min(n.due_at for n in nudges),
                kinds=frozenset(n.kind for n in nudges),
                nudge_ids=tuple(n.id for n in nudges),
                has_plan=person_id in plans,
            )
        )
    return pushes


async def fit_budget(
    session: AsyncSession,
    *,
    channel: str,
    budget: PushBudget,
    now: datetime,
    tz: str,
    channels: Sequence[str],
) -> BudgetReport:
    """Keep the month's planned messages on `channel` within `budget`; record the month."""
    month = month_of(now, tz)
    # Nudge messages already in the outbox will be pushed: they take their share first.
    in_flight = await queries.nudges_in_flight(session, channel)
    remaining = max(0, budget.remaining - in_flight)
    bound = await queries.planned_push_bound(session, channel, month.end, (FOLLOWUP,))
    dropped = skipped_nudges = 0
    planned = bound
    if bound > remaining:  # only then is each person's slot looked at
        pushes = await planned_pushes(session, channel, month.end, channels)
        kept, over = within_budget(pushes, remaining)
        if over:
            skipped = await queries.skip_planned(
                session, [i for push in over for i in push.nudge_ids], QUOTA_REASON
            )
            dropped = sum(1 for push in over if skipped.intersection(push.nudge_ids))
            skipped_nudges = len(skipped)
            log.warning(
                "%s: %s pushes left this month for %s planned messages: %s set aside",
                channel,
                remaining,
                len(pushes),
                len(over),
            )
        planned = len(kept)
    await queries.save_month(
        session,
        channel=channel,
        month=month.key,
        quota=budget.quota,
        used=budget.used,
        planned=planned + in_flight,
        dropped=dropped,
        now=now,
    )
    return BudgetReport(
        channel, month.key, remaining, planned + in_flight, dropped, in_flight, skipped_nudges
    )
