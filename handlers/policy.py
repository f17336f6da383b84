"""The deployment's choices that handlers act on, typed and built once.

`bot.config.Settings.policy()` builds it from the environment; handlers read
`ctx.policy` and never see the raw settings (nor copy their defaults).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time, timedelta


@dataclass(frozen=True)
class Thresholds:
    """The tunable numbers of the reminder rules (see `handlers.reminders.rules`)."""

    stuck_days: int = 7
    inactive_days: int = 3
    max_ignored: int = 3
    goal_days_before: int = 3
    backoff_days: int = 2
    recall_days: int = 3  # days after a learning entry before the bot asks about it
    grace: timedelta = timedelta(minutes=120)


@dataclass(frozen=True)
class Policy:
    """What the handlers need to know about the deployment."""

    timezone: str = "Asia/Bangkok"  # of people and agencies that name none
    lang: str = "th"  # of people who have not chosen one
    inactive_days: int = 14  # /inactive and /nudge without an argument
    weekly_day: int = 4  # the weekly summary: Monday is 0, so 4 is Friday
    weekly_time: time = time(15, 0)
    nudges: Thresholds = field(default_factory=Thresholds)
