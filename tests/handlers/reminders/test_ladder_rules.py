"""The reminder ladder and the come-back rules as pure functions: the pause at K
unanswered reminders, the follow-up's window, the missed plan day, fresh starts."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time

from content.loader import load_content
from handlers.reminders.facts import Story
from handlers.reminders.render import RESUME, render_nudges
from handlers.reminders.rules import (
    CHECKIN,
    COMEBACK,
    FOLLOWUP,
    INACTIVE,
    KINDS,
    LADDER,
    LearnedHour,
    Prefs,
    Thresholds,
    evaluate,
    followup_moment,
    followup_skip,
    fresh_start,
    is_extra,
    missed_plan_day,
)
from tests.drivers.reminders import bkk
from tests.handlers.reminders.test_rules import facts

TH = Thresholds()
PLAN = "เมื่อถึงบ่ายวันศุกร์ ฉันจะฝึกสูตร SUMIF ใน Excel 15 นาที"


def d(day: int, month: int = 12) -> date:
    return date(2026, month, day)


def test_new_kinds_are_listed_as_extra_and_the_slot_kinds_know_them():
    assert is_extra(FOLLOWUP) and is_extra(COMEBACK)
    assert not is_extra(CHECKIN) and not is_extra(LADDER)
    assert COMEBACK in KINDS and LADDER in KINDS and FOLLOWUP not in KINDS


def test_the_ladder_pauses_at_k_unanswered_and_tells_once():
    assert evaluate(facts(unanswered=4), TH, d(8)).kinds == (CHECKIN,)
    told = evaluate(facts(unanswered=5), TH, d(8))
    assert told.kinds == (LADDER,) and told.skip[CHECKIN] == "ladder_paused"
    after = evaluate(facts(unanswered=5, ladder_told_at=bkk(8, 7, 30)), TH, d(9))
    assert after.kinds == () and after.blocked == "ladder_paused"
    # K is a setting
    assert evaluate(facts(unanswered=2), replace(TH, max_unanswered=2), d(8)).kinds == (LADDER,)


def test_the_ladder_notice_waits_for_the_inactive_back_off_and_is_not_sent_after_the_last():
    quiet = facts(last_active_at=bkk(1, 10), unanswered=5, ignored=1, last_inactive_due=bkk(8, 7))
    assert evaluate(quiet, TH, d(9)).blocked == "backoff"  # 2 days after Tue 8
    assert evaluate(quiet, TH, d(11)).kinds == (LADDER,)
    stopped = replace(quiet, ignored=3)  # they had "my last reminder for now" already
    assert evaluate(stopped, TH, d(11)).blocked == "stopped"


def test_the_follow_up_falls_inside_the_allowed_hours_of_the_same_day_or_not_at_all():
    assert followup_moment(facts(), TH, d(8)) == bkk(8, 9, 30)
    evening = facts(prefs=Prefs(True, time(19, 0)))
    assert followup_moment(evening, TH, d(8)) is None  # 21:00 is after 20:00
    assert followup_moment(evening, replace(TH, followup_until=time(21, 0)), d(8)) == bkk(8, 21)
    quiet = facts(prefs=Prefs(True, time(7, 30), quiet_start=time(9), quiet_end=time(10)))
    assert followup_moment(quiet, TH, d(8)) is None
    late = facts(prefs=Prefs(True, time(23, 0)))
    assert followup_moment(late, replace(TH, followup_until=time(23, 59)), d(8)) is None


def test_the_follow_up_of_a_coach_chosen_hour_follows_that_days_hour():
    hours = {d(8): LearnedHour(time(12, 0)), d(9): LearnedHour(None), d(11): LearnedHour(time(19))}
    person = facts(hours=hours)  # their own time is 07:30
    assert followup_moment(person, TH, d(8)) == bkk(8, 14)
    assert followup_moment(person, TH, d(9)) is None  # not today: no check-in to follow
    assert followup_moment(person, TH, d(10)) is None  # not decided yet
    assert followup_moment(person, TH, d(11)) is None  # 21:00 is after 20:00
    sent = replace(person, last_checkin_due=bkk(8, 12))
    assert followup_skip(sent, TH, d(8), bkk(8, 14)) is None
    assert followup_skip(sent, TH, d(8), bkk(8, 9, 30)) == "rescheduled"  # planned by 07:30
    assert followup_skip(sent, TH, d(9), bkk(9, 9, 30)) == "not_today"


def test_a_missed_plan_day_is_one_that_was_a_working_day_and_passed_without_a_word():
    person = facts(plan_weekday=4, plan_at=bkk(4, 9), last_active_at=bkk(10, 10))
    assert missed_plan_day(person, d(14)) == d(11)  # Friday 11 passed in silence
    assert missed_plan_day(person, d(11)) is None  # the Friday before: the plan was new
    assert missed_plan_day(replace(person, last_active_at=bkk(11, 16)), d(14)) is None
    assert missed_plan_day(replace(person, comeback_for=d(11)), d(14)) is None  # once
    assert missed_plan_day(replace(person, plan_weekday=None), d(14)) is None
    assert missed_plan_day(replace(person, step=6), d(14)) is None
    # Monday 7 December is a holiday: no Monday meeting to miss
    monday = replace(person, plan_weekday=0, last_active_at=bkk(4, 10))
    assert missed_plan_day(monday, d(8)) is None
    assert missed_plan_day(monday, d(15)) == d(14)
    # in the slot: with the check-in (active) or with the inactive nudge
    active = evaluate(
        replace(monday, last_active_at=bkk(13, 10), progress_at=bkk(13, 9)), TH, d(15)
    )
    assert active.kinds == (CHECKIN, COMEBACK) and active.plan_day == d(14)
    assert evaluate(person, TH, d(14)).kinds == (INACTIVE, COMEBACK)


def test_fresh_starts_fall_on_the_first_working_day_of_a_week_or_month():
    person = facts()
    assert fresh_start(person, d(1)) == "month"  # Tuesday 1 December
    assert fresh_start(person, d(8)) == "week"  # Monday 7 is a holiday
    assert fresh_start(person, d(9)) is None
    assert fresh_start(person, d(14)) == "week"
    assert fresh_start(person, d(12)) is None  # a Saturday is no working day
    assert fresh_start(person, date(2027, 2, 1)) == "month"


def test_the_check_in_text_frames_a_fresh_start_and_the_come_back_quotes_the_plan():
    content = load_content()
    story = Story(name="สมชาย", lang="th", plan=PLAN, last_learning=None, last_evidence=None)

    def text(day: date, kinds: tuple[str, ...], plan_day: date | None = None) -> str:
        return render_nudges(
            content,
            facts(),
            story,
            TH,
            kinds=kinds,
            day=day,
            due_at=bkk(day.day, 7, 30),
            goal_ids=(),
            nudge_ids=[1],
            plan_day=plan_day,
        ).text

    assert text(d(8), (CHECKIN,)).startswith(content.t("reminders.fresh_week", "th"))
    assert text(d(1), (CHECKIN,)).startswith(content.t("reminders.fresh_month", "th"))
    assert "🌱" not in text(d(9), (CHECKIN,))
    comeback = text(d(15), (CHECKIN, COMEBACK), plan_day=d(11))
    assert f"“{PLAN}”" in comeback and comeback.count(PLAN) == 1
    assert content.t("reminders.comeback_smaller", "th") in comeback


def test_the_pause_notice_offers_one_tap_to_resume_in_a_short_callback():
    content = load_content()
    story = Story(name="", lang="en", plan=PLAN, last_learning=None, last_evidence=None)
    reply = render_nudges(
        content,
        facts(),
        story,
        TH,
        kinds=(LADDER,),
        day=d(9),
        due_at=bkk(9, 7, 30),
        goal_ids=(),
        nudge_ids=[1],
    )
    assert reply.text == content.t("reminders.ladder_noname", "en", count=5)
    assert "5" in reply.text
    assert reply.choices[0].id == RESUME and len(RESUME.encode()) <= 64
