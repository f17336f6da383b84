"""A fair share for everyone: one person sending hundreds of messages a minute
must not slow the coach down for the rest.

A token bucket per person (channel and platform user id), in this process's
memory: `burst` messages at once, then one every `1 / per_second` seconds.
The first message over the limit gets one polite answer ("please slow down");
the rest of the flood is dropped before it touches the database, until the
bucket has refilled. The bound is per instance: with N instances behind a
load balancer a person gets at most N times the rate, which still keeps a
flood from reaching the database. At most `people` buckets are kept (the
least recently active are forgotten, which only ever gives someone a fresh
bucket).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum


class Verdict(Enum):
    PASS = "pass"  # handle it
    WARN = "warn"  # over the limit for the first time: say "slow down" once
    DROP = "drop"  # still flooding: ignore


@dataclass
class _Bucket:
    tokens: float
    at: float
    warned: bool = False


class FloodGate:
    """Per-person token buckets (see the module docstring)."""

    def __init__(
        self,
        burst: int,
        per_second: float,
        *,
        people: int = 100_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst, self.per_second, self.people, self.monotonic = (
            burst,
            per_second,
            people,
            monotonic,
        )
        self._buckets: OrderedDict[tuple[str, str], _Bucket] = OrderedDict()

    def check(self, channel: str, user_id: str) -> Verdict:
        """Take one token for this person's message, and say what to do with it."""
        now = self.monotonic()
        key = (channel, user_id)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(tokens=float(self.burst), at=now)
            self._buckets[key] = bucket
            while len(self._buckets) > self.people:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.per_second)
            bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            if bucket.tokens >= self.burst / 2:
                bucket.warned = False  # calm again: a later flood is told again
            return Verdict.PASS
        if bucket.warned:
            return Verdict.DROP
        bucket.warned = True
        return Verdict.WARN
