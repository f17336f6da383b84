"""The recall rule without a database: which learning entry a slot asks about,
when, and that it never asks about one entry twice."""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from datetime import date, time

from handlers.reminders.render import short_quote
from handlers.reminders.rules import (
    RECALL,
    RECALL_WINDOW_DAYS,
    Facts,
    Learned,
    Prefs,
    RecallFacts,
    Thresholds,
    evaluate,
)
from tests.drivers.reminders import bkk

TH = Thresholds()  # recall_days 3


def d(day: int) -> date:
    return date(2026, 12, day)


def person(*entries: Learned, last_due=None, **changes) -> Facts:  # noqa: ANN001, ANN003
    """Active (wrote Tue 8), step 4, reminders at 07:30 every day, nothing stuck."""
    base = {
        "person_id": 1,
        "tz": "Asia/Bangkok",
        "onboarded": True,
        "last_active_at": bkk(8, 10),
        "prefs": Prefs(True, time(7, 30), frozenset(range(7))),
        "weekends_ok": True,
        "holidays_ok": True,
        "step": 4,
        "progress_at": bkk(8, 9),
        "recall": RecallFacts(tuple(entries), last_due),
    }
    base.update(changes)
    return Facts(**base)


def learned(entry_id: int, day: int, hour: int = 9) -> Learned:
    return Learned(entry_id, bkk(day, hour), "sheet", f"entry {entry_id}")


def test_the_recall_waits_recall_days_after_the_entry():
    entry = learned(1, 6, 9)  # Sunday 6 at 09:00: ripe from Wednesday 9 at 09:00
    assert RECALL not in evaluate(person(entry), TH, d(9)).kinds  # 07:30 is too early
    slot = evaluate(person(entry), TH, d(10))
    assert RECALL in slot.kinds and slot.recall_id == 1
    assert evaluate(person(entry), TH, d(9)).skip[RECALL] == "no_recall"
    sooner = replace(TH, recall_days=1)
    earlier = person(entry, last_active_at=bkk(7, 10))
    assert evaluate(earlier, sooner, d(8)).recall_id == 1
    assert evaluate(earlier, TH, d(8)).recall_id is None


def test_the_newest_ripe_entry_is_asked_about_and_a_stale_one_never():
    old, ripe, fresh = learned(1, 1), learned(2, 5), learned(3, 9)
    slot = evaluate(person(fresh, ripe, old), TH, d(10))
    assert slot.recall_id == 2  # 3 is too new, 1 is older than ripe
    # the slot of Thu 10 at 07:30 looks back recall_days + RECALL_WINDOW_DAYS: to Mon 30 Nov 07:30
    assert RECALL_WINDOW_DAYS == 7
    inside = Learned(4, bkk(30, 7, 30, month=11), "sheet", "x")
    outside = Learned(5, bkk(30, 7, 29, month=11), "sheet", "x")
    assert evaluate(person(inside), TH, d(10)).recall_id == 4
    assert evaluate(person(outside), TH, d(10)).recall_id is None


def test_an_entry_asked_about_is_not_asked_again_and_recalls_are_spaced():
    first, second = learned(1, 4), learned(2, 5)
    # once 2 was asked about (in the 07:30 slot of Tue 8, say) the facts no longer hold it
    after = person(first, last_due=bkk(8, 7, 30))
    assert evaluate(after, TH, d(10)).recall_id is None  # at most one every recall_days
    assert evaluate(after, TH, d(11)).recall_id == 1  # then the older one, once
    assert evaluate(person(last_due=bkk(8, 7, 30)), TH, d(11)).recall_id is None
    assert evaluate(person(first, second), TH, d(10)).recall_id == 2


def test_no_recall_for_a_finished_journey_or_someone_gone_quiet():
    entry = learned(1, 6)
    assert evaluate(person(entry, journey_done=True), TH, d(10)).kinds == ()
    quiet = person(entry, last_active_at=bkk(1, 10))
    slot = evaluate(quiet, TH, d(10))
    assert slot.kinds == ("inactive",) and slot.skip[RECALL] == "inactive"


def test_a_long_thai_entry_is_quoted_whole_letters_only():
    text = "เรียนรู้การใช้สูตร SUMIF " + "ที่" * 60
    quoted = short_quote(text, 80)
    assert quoted.endswith("…") and len(quoted) <= 81
    kept = quoted[:-1]
    assert text.startswith(kept)
    assert unicodedata.category(text[len(kept)]) != "Mn"  # no vowel or tone mark cut off
