"""The hold-out rule, without a database: only the check-ins a person chose, every
other kind (now or added later) skipped with the reason "holdout"."""

from __future__ import annotations

from datetime import date, time

from handlers.reminders.rules import (
    ADMIN,
    CHECKIN,
    GOAL,
    HOLDOUT,
    INACTIVE,
    STUCK,
    Facts,
    GoalFact,
    Prefs,
    Thresholds,
    evaluate,
    is_extra,
    may_nudge_now,
    withheld,
)
from tests.drivers.reminders import bkk

TH = Thresholds()
TUESDAY = date(2026, 12, 8)


def facts(**changes) -> Facts:  # noqa: ANN003
    """Stuck on step 3 since 20 November, a goal due on Thursday 10, active on Sunday 6."""
    base = {
        "person_id": 1,
        "tz": "Asia/Bangkok",
        "onboarded": True,
        "last_active_at": bkk(6, 10),
        "prefs": Prefs(enabled=True, time_local=time(7, 30)),
        "step": 3,
        "progress_at": bkk(20, 9, month=11),
        "goals": (GoalFact(7, "word", 4, date(2026, 12, 10), "course"),),
    }
    base.update(changes)
    return Facts(**base)


def test_every_kind_but_the_check_in_is_an_extra_including_kinds_added_later():
    assert not is_extra(CHECKIN)
    assert all(is_extra(kind) for kind in (STUCK, GOAL, INACTIVE, ADMIN, "comeback", "recall"))
    assert withheld(facts(holdout=True), "followup")
    assert not withheld(facts(holdout=True), CHECKIN)
    assert not withheld(facts(), STUCK)


def test_an_active_hold_out_person_gets_the_check_in_and_the_reason_for_the_rest():
    nudged = evaluate(facts(), TH, TUESDAY)
    assert nudged.kinds == (CHECKIN, STUCK, GOAL) and nudged.goal_ids == (7,)
    held = evaluate(facts(holdout=True), TH, TUESDAY)
    assert held.kinds == (CHECKIN,)
    assert held.due_at == nudged.due_at and held.goal_ids == ()
    assert held.skip[STUCK] == HOLDOUT and held.skip[GOAL] == HOLDOUT


def test_a_quiet_hold_out_person_keeps_the_check_in_instead_of_the_come_back_nudge():
    quiet = {"last_active_at": bkk(1, 10), "goals": ()}
    nudged = evaluate(facts(**quiet), TH, TUESDAY)
    assert nudged.kinds == (INACTIVE,) and nudged.skip[CHECKIN] == "inactive"
    held = evaluate(facts(holdout=True, **quiet), TH, TUESDAY)
    assert held.kinds == (CHECKIN,)
    assert held.skip[INACTIVE] == HOLDOUT and held.skip[STUCK] == HOLDOUT


def test_no_working_group_nudge_for_the_hold_out_group():
    now = bkk(8, 10)
    assert may_nudge_now(facts(), now)
    assert not may_nudge_now(facts(holdout=True), now)


def test_a_blocked_day_is_blocked_for_both_arms_alike():
    for holdout in (False, True):
        slot = evaluate(facts(holdout=holdout), TH, date(2026, 12, 7))  # a holiday
        assert slot.blocked == "holiday" and slot.kinds == ()
