"""A platform's monthly allowance of pushes, as the core sees it.

Some platforms count the messages a bot sends on its own (pushes) against a
monthly quota; answers to what a person just wrote are free. A channel that
has such a quota says how much of it is left (`Channel.push_budget`); the
nudge planner plans within it without knowing which platform it is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class PushBudget:
    """The month's pushes: the quota, how many are used (as last read plus those
    sent since), and how many of the quota nudges may use (the rest is kept for
    messages that must go, such as answers that missed their free reply)."""

    quota: int
    used: int
    nudge_limit: int

    @property
    def remaining(self) -> int:
        """Pushes nudges may still take this month."""
        return max(0, self.nudge_limit - self.used)


# channel name -> its budget, or None when the platform sets no limit (or cannot say)
PushBudgets = Callable[[str], Awaitable[PushBudget | None]]


async def unlimited(channel: str) -> PushBudget | None:
    """The budget of a channel without a quota: no limit."""
    return None
