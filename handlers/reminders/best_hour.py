"""The best hour: for people who let the coach choose their reminder time, learn
the hour at which they answer, among a few candidate hours inside their allowed
hours.

How it decides, in words (every number is in `HourPolicy`):
- Each candidate hour has a Beta(a, b) belief about "the person answers a
  check-in sent at this hour within `window`". It starts from the agency's
  record at that hour, shrunk to at most `prior_weight` tries (so a large
  agency does not drown the person's own answers), on top of Beta(1, 1); each
  of the person's own check-ins at that hour then adds one success or one
  failure.
- Each day, one draw from every hour's belief (Thompson sampling, seeded by
  the person and the date, so a run can be repeated exactly); the hour with
  the highest draw carries that day's check-in. Hours the person rarely
  answers at are drawn high less and less often; untried ones still get tried.
- The person's usual hour (their reminder time, shown in /remind) moves when
  another hour has a clearly better expected rate (by `move_margin`) from at
  least `move_min_tries` of their own check-ins there. On that day the
  check-in goes at the new hour, and that message tells them, once per move.
- "Not today": when the LINE quota is short (the caller says so) and even the
  best hour's expected rate is below `skip_below`, the day gets no check-in.

Everything here is pure: counts in, a choice out.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, time, timedelta

from handlers.reminders.rules import Prefs, local_slot_time

MORNING, NINE, NOON, AFTERNOON, EVENING = (
    time(7, 30),
    time(9, 0),
    time(12, 0),
    time(15, 0),
    time(17, 0),
)


@dataclass(frozen=True)
class HourPolicy:
    """The best-hour learner's numbers."""

    candidates: tuple[time, ...] = (MORNING, NINE, NOON, AFTERNOON, EVENING)
    start: time = NINE  # the first usual hour of someone who lets the coach choose
    window: timedelta = timedelta(hours=2)  # an answer within this long is a success
    prior_weight: float = 4.0  # the agency's rate counts as at most this many tries
    move_margin: float = 0.10  # how much better an hour must be to move the usual hour
    move_min_tries: int = 3  # own check-ins at the new hour before moving there
    skip_below: float = 0.15  # "not today" below this expected rate, when quota is short
    decide_ahead: timedelta = timedelta(hours=2)  # decide a day this long before its first hour


DEFAULT_POLICY = HourPolicy()


@dataclass(frozen=True)
class Tally:
    """Check-ins at one hour: answered in time, and not."""

    successes: int = 0
    failures: int = 0

    @property
    def tries(self) -> int:
        return self.successes + self.failures

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.successes + other.successes, self.failures + other.failures)

    def __sub__(self, other: Tally) -> Tally:
        return Tally(
            max(0, self.successes - other.successes), max(0, self.failures - other.failures)
        )


NONE = Tally()


@dataclass(frozen=True)
class HourChoice:
    """One day's decision: the hour (None: not today), and why."""

    at: time | None
    reason: str  # "thompson", "move", "start", "not_today", "no_candidates"
    move: bool = False  # the usual hour moves to `at`
    notice: bool = False  # and the person is told so (a move on their own evidence)
    expected: Mapping[time, float] = field(default_factory=dict)  # each hour's expected rate
    drawn: Mapping[time, float] = field(default_factory=dict)  # the day's draws


def allowed_hours(prefs: Prefs, policy: HourPolicy = DEFAULT_POLICY) -> tuple[time, ...]:
    """The candidate hours the person's quiet hours leave as they are."""
    return tuple(
        at for at in policy.candidates if local_slot_time(replace(prefs, time_local=at)) == at
    )


def day_seed(person_id: int, day: date) -> int:
    """A seed for one person and day: the same on every run and every machine."""
    digest = hashlib.sha256(f"best-hour:{person_id}:{day.isoformat()}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def prior(agency: Tally, policy: HourPolicy = DEFAULT_POLICY) -> tuple[float, float]:
    """Beta(1, 1) plus the agency's rate at this hour, worth at most `prior_weight` tries."""
    rate = (agency.successes + 1) / (agency.tries + 2)
    weight = min(float(agency.tries), policy.prior_weight)
    return 1.0 + weight * rate, 1.0 + weight * (1.0 - rate)


def belief(own: Tally, agency: Tally, policy: HourPolicy = DEFAULT_POLICY) -> tuple[float, float]:
    """The Beta belief about one hour: the agency prior, then the person's own tries."""
    a, b = prior(agency, policy)
    return a + own.successes, b + own.failures


def expected_rates(
    hours: Sequence[time],
    own: Mapping[time, Tally],
    agency: Mapping[time, Tally],
    policy: HourPolicy = DEFAULT_POLICY,
) -> dict[time, float]:
    """Each hour's expected answer rate (the mean of its belief)."""
    rates = {}
    for at in hours:
        a, b = belief(own.get(at, NONE), agency.get(at, NONE), policy)
        rates[at] = a / (a + b)
    return rates


def leader(rates: Mapping[time, float]) -> time:
    """The hour with the best expected rate (the earlier one on a tie)."""
    return max(sorted(rates), key=lambda at: rates[at])


def should_move(
    current: time | None,
    best: time,
    rates: Mapping[time, float],
    own: Mapping[time, Tally],
    policy: HourPolicy = DEFAULT_POLICY,
) -> bool:
    """Move the usual hour from `current` to `best`? Only on clear evidence of
    the person's own."""
    if best == current or current not in rates:
        return False
    return (
        own.get(best, NONE).tries >= policy.move_min_tries
        and rates[best] - rates[current] >= policy.move_margin
    )


def choose_hour(
    person_id: int,
    day: date,
    hours: Sequence[time],
    own: Mapping[time, Tally],
    agency: Mapping[time, Tally],
    *,
    current: time | None,
    budget_short: bool = False,
    policy: HourPolicy = DEFAULT_POLICY,
) -> HourChoice:
    """The hour of the person's check-in on `day`, among `hours` (allowed candidates).

    `own` and `agency` are the check-ins so far per hour (the agency's without
    the person's own); `current` is the person's usual hour.
    """
    if not hours:
        return HourChoice(current, "no_candidates")
    rates = expected_rates(hours, own, agency, policy)
    if budget_short and max(rates.values()) < policy.skip_below:
        return HourChoice(None, "not_today", expected=rates)
    best = leader(rates)
    if current not in rates:  # no usual hour yet, or it is not allowed any more
        return HourChoice(best, "start", move=True, expected=rates)
    if should_move(current, best, rates, own, policy):
        return HourChoice(best, "move", move=True, notice=True, expected=rates)
    rng = random.Random(day_seed(person_id, day))
    drawn = {}
    for at in hours:
        a, b = belief(own.get(at, NONE), agency.get(at, NONE), policy)
        drawn[at] = rng.betavariate(a, b)
    pick = max(hours, key=lambda at: drawn[at])
    return HourChoice(pick, "thompson", expected=rates, drawn=drawn)
