"""Which nudges to keep when a platform's monthly pushes run short (pure).

One message per person and slot carries every nudge of that slot, so a push
is a person-slot, not a kind: a push is kept or dropped whole, and it is worth
its most valuable nudge. The order follows the evidence on what raises
completion: a check-in that quotes the person's own if-then plan and a
come-back nudge first (planning prompts, a welcome back after a miss), and a
message the working group sent (support from supervisors); then a goal date
coming up, then help when stuck, then the gentle nudge after silence, then a
check-in without a plan to quote and its follow-up (plain reminders do
little). The notice that reminders paused themselves comes just after the
first group, so nobody's reminders stop unexplained. Any kind not named here
is worth the least. Equal worth: the earlier push first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from handlers.reminders.rules import (
    ADMIN,
    CHECKIN,
    COMEBACK,
    FOLLOWUP,
    GOAL,
    INACTIVE,
    LADDER,
    STUCK,
)

PLAN_CHECKIN = "checkin:plan"  # a check-in that quotes the person's if-then plan

VALUE = {
    PLAN_CHECKIN: 6,
    COMEBACK: 6,
    ADMIN: 6,
    LADDER: 5,  # the notice that reminders paused: without it they stop unexplained
    GOAL: 4,
    STUCK: 3,
    INACTIVE: 2,
    CHECKIN: 1,
    FOLLOWUP: 1,  # a second push for the same check-in
}
UNKNOWN_VALUE = 0
QUOTA_REASON = "quota"  # Nudge.reason of a nudge dropped for the month's pushes


def kind_value(kind: str, *, has_plan: bool) -> int:
    """What one nudge of `kind` is worth; unknown kinds are worth the least."""
    if kind == CHECKIN and has_plan:
        return VALUE[PLAN_CHECKIN]
    return VALUE.get(kind, UNKNOWN_VALUE)


@dataclass(frozen=True)
class Push:
    """One planned message: a person's slot and the nudges it would carry."""

    person_id: int
    slot: str
    due_at: datetime
    kinds: frozenset[str]
    nudge_ids: tuple[int, ...]
    has_plan: bool = False

    @property
    def value(self) -> int:
        return max((kind_value(k, has_plan=self.has_plan) for k in self.kinds), default=0)


def within_budget(pushes: Iterable[Push], budget: int) -> tuple[list[Push], list[Push]]:
    """(kept, dropped): at most `budget` pushes kept, the most valuable first."""
    ranked = sorted(pushes, key=lambda p: (-p.value, p.due_at, p.person_id, p.slot))
    budget = max(0, budget)
    return ranked[:budget], ranked[budget:]


@dataclass(frozen=True)
class Month:
    """A calendar month in a time zone: its key ("2026-12") and its UTC bounds."""

    key: str
    start: datetime
    end: datetime


def month_of(moment: datetime, tz: str) -> Month:
    """The local month `moment` falls in."""
    zone = ZoneInfo(tz)
    local = moment.astimezone(zone)
    start = datetime(local.year, local.month, 1, tzinfo=zone)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    end = datetime(year, month, 1, tzinfo=zone)
    return Month(f"{local.year:04d}-{local.month:02d}", start.astimezone(UTC), end.astimezone(UTC))
