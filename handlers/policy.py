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
    # The reminder ladder: one follow-up this long after an unanswered check-in,
    # no later than `followup_until` (local) on the same day; after `max_unanswered`
    # slot messages in a row with no answer, reminders pause until the person writes.
    followup_delay: timedelta = timedelta(hours=2)
    followup_until: time = time(20, 0)
    max_unanswered: int = 5
    # Coming back: a first message after this many silent days is welcomed.
    comeback_days: int = 7


@dataclass(frozen=True)
class Policy:
    """What the handlers need to know about the deployment."""

    timezone: str = "Asia/Bangkok"  # of people and agencies that name none
    lang: str = "th"  # of people who have not chosen one
    inactive_days: int = 14  # /inactive and /nudge without an argument
    weekly_day: int = 4  # the weekly summary: Monday is 0, so 4 is Friday
    weekly_time: time = time(15, 0)
    # Where the working group's dashboard is reached (the sign-in links of /web).
    dashboard_url: str = "http://127.0.0.1:8080"
    nudges: Thresholds = field(default_factory=Thresholds)

    def weekly_slot(self, day: int | None, at: time | None) -> tuple[int, time]:
        """When an agency's weekly summary goes out: its own day and time where it
        chose them (the dashboard's settings), else the deployment's."""
        return (self.weekly_day if day is None else day, self.weekly_time if at is None else at)
