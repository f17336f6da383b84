"""The best-hour learner on its own: pure functions, seeded, no database."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, time, timedelta

from handlers.reminders.best_hour import (
    DEFAULT_POLICY,
    NOON,
    HourPolicy,
    Tally,
    allowed_hours,
    belief,
    choose_hour,
    day_seed,
    prior,
)
from handlers.reminders.rules import Prefs

HOURS = DEFAULT_POLICY.candidates
START = date(2027, 1, 11)  # a Monday


def prefs(quiet: tuple[time, time] | None = None) -> Prefs:
    return Prefs(
        enabled=True,
        time_local=time(9, 0),
        quiet_start=quiet[0] if quiet else None,
        quiet_end=quiet[1] if quiet else None,
    )


def test_candidates_inside_the_quiet_hours_are_not_allowed():
    assert allowed_hours(prefs()) == HOURS
    lunch = allowed_hours(prefs((time(12, 0), time(13, 0))))
    assert NOON not in lunch and len(lunch) == len(HOURS) - 1
    evening = allowed_hours(prefs((time(16, 0), time(8, 0))))  # past midnight
    assert evening == (time(9, 0), NOON, time(15, 0))


def test_the_seed_depends_on_the_person_and_the_day_only():
    assert day_seed(7, START) == day_seed(7, START)
    assert day_seed(7, START) != day_seed(8, START)
    assert day_seed(7, START) != day_seed(7, START + timedelta(days=1))


def test_the_agency_prior_is_shrunk_to_a_few_tries():
    a, b = prior(Tally(900, 100))  # a large agency answering 90 % at this hour
    assert a + b == 2 + DEFAULT_POLICY.prior_weight
    assert 0.7 < a / (a + b) < 0.8  # pulled toward it (from 0.5), not drowned in it
    assert prior(Tally()) == (1.0, 1.0)
    # the person's own tries then weigh as much as the whole agency after four
    a, b = belief(Tally(0, 4), Tally(900, 100))
    assert a / (a + b) < 0.5


def test_the_same_counts_and_day_give_the_same_choice():
    own = {NOON: Tally(1, 1), time(9, 0): Tally(1, 2)}
    first = choose_hour(5, START, HOURS, own, {}, current=time(9, 0))
    again = choose_hour(5, START, HOURS, own, {}, current=time(9, 0))
    assert first == again and first.reason == "thompson"
    picks = {
        choose_hour(5, START + timedelta(days=n), HOURS, {}, {}, current=time(9, 0)).at
        for n in range(30)
    }
    assert len(picks) >= 4  # with nothing known yet, it tries the hours


def test_the_usual_hour_moves_only_on_the_persons_own_clear_evidence():
    current = time(9, 0)
    # the agency answers best at noon, the person has never been tried there: no move
    agency = {NOON: Tally(80, 20), current: Tally(20, 80)}
    choice = choose_hour(1, START, HOURS, {}, agency, current=current)
    assert not choice.move and not choice.notice
    # two answers at noon: not yet enough of their own
    choice = choose_hour(1, START, HOURS, {NOON: Tally(2, 0)}, {}, current=current)
    assert not choice.move
    # three of three at noon, none of three at nine: move, and tell
    own = {NOON: Tally(3, 0), current: Tally(0, 3)}
    choice = choose_hour(1, START, HOURS, own, {}, current=current)
    assert (choice.at, choice.reason, choice.move, choice.notice) == (NOON, "move", True, True)
    # once there, it stays the usual hour: no second move, no second notice
    after = choose_hour(1, START, HOURS, own, {}, current=NOON)
    assert not after.move and not after.notice


def test_a_usual_hour_that_is_no_longer_allowed_moves_without_a_notice():
    lunch_quiet = allowed_hours(prefs((time(12, 0), time(13, 0))))
    choice = choose_hour(1, START, lunch_quiet, {}, {}, current=NOON)
    assert choice.move and not choice.notice and choice.at in lunch_quiet


def test_not_today_only_when_the_budget_is_short_and_every_hour_is_unlikely():
    low = {at: Tally(0, 12) for at in HOURS}
    assert choose_hour(1, START, HOURS, low, {}, current=NOON).at is not None
    short = choose_hour(1, START, HOURS, low, {}, current=NOON, budget_short=True)
    assert (short.at, short.reason) == (None, "not_today")
    # one hour that is still answered keeps the day, even when the budget is short
    mixed = dict(low, **{})
    mixed[NOON] = Tally(6, 6)
    kept = choose_hour(1, START, HOURS, mixed, {}, current=NOON, budget_short=True)
    assert kept.at is not None
    # and an unknown person (no counts at all) is never skipped
    assert choose_hour(1, START, HOURS, {}, {}, current=NOON, budget_short=True).at is not None


def test_no_allowed_candidate_keeps_the_persons_own_time():
    choice = choose_hour(1, START, (), {}, {}, current=time(20, 0))
    assert (choice.at, choice.reason) == (time(20, 0), "no_candidates")


def simulate(hidden: time, days: int, seed: int, policy: HourPolicy = DEFAULT_POLICY):
    """A person who answers 85 % of check-ins at `hidden` and 10 % elsewhere."""
    rng = random.Random(seed)
    own: dict[time, Tally] = {}
    current = policy.start
    picks, moves = [], []
    for n in range(days):
        choice = choose_hour(seed, START + timedelta(days=n), HOURS, own, {}, current=current)
        assert choice.at is not None
        if choice.move:
            current = choice.at
            moves.append((n, choice.at))
        answered = rng.random() < (0.85 if choice.at == hidden else 0.10)
        own[choice.at] = own.get(choice.at, Tally()) + Tally(int(answered), int(not answered))
        picks.append(choice.at)
    return picks, moves, current


def test_a_hidden_best_hour_is_found_within_a_few_weeks():
    found = 0
    for seed in range(20):
        picks, moves, current = simulate(NOON, 20, seed)
        if current == NOON:
            found += 1
        assert len(moves) <= 3  # a handful of moves, not one a day
    assert found >= 18
    # and once found, most check-ins go there
    picks, _, _ = simulate(time(15, 0), 40, 3)
    assert Counter(picks[20:])[time(15, 0)] >= 15
