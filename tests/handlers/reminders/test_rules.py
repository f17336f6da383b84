"""Reminder rules, planning and sending: holidays, weekends, quiet hours, pause,
back-off, downtime, and that nothing is planned or sent twice."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import select

from handlers.reminders.rules import (
    Facts,
    GoalFact,
    Prefs,
    Thresholds,
    due_moment,
    evaluate,
    in_quiet,
    is_thai_holiday,
    local_slot_time,
)
from storage.models import Nudge, NudgeCounter, OutboxMessage
from storage.models.nudges import CANCELLED, SENT, SKIPPED
from tests.drivers.chat import RecordingChannel, make_app
from tests.drivers.reminders import BANGKOK, Profile, World, bkk

TH = Thresholds()


def facts(**changes) -> Facts:  # noqa: ANN003
    """An active person on step 4 with reminders at 07:30 Monday to Friday."""
    prefs = changes.pop("prefs", Prefs(enabled=True, time_local=time(7, 30)))
    base = {
        "person_id": 1,
        "tz": "Asia/Bangkok",
        "onboarded": True,
        "last_active_at": bkk(6, 10),
        "prefs": prefs,
        "step": 4,
        "progress_at": bkk(5, 9),
    }
    base.update(changes)
    return Facts(**base)


def d(day: int) -> date:
    return date(2026, 12, day)


# ---- the rules, without a database -------------------------------------------------


def test_weekends_and_thai_holidays_are_off_unless_the_agency_allows_them():
    assert is_thai_holiday(d(7)) and is_thai_holiday(d(10)) and not is_thai_holiday(d(8))
    person = facts(prefs=Prefs(True, time(7, 30), frozenset(range(7))))
    assert evaluate(person, TH, d(7)).blocked == "holiday"
    assert evaluate(person, TH, d(12)).blocked == "weekend"
    assert evaluate(person, TH, d(8)).kinds == ("checkin",)
    open_agency = facts(
        prefs=Prefs(True, time(7, 30), frozenset(range(7))), weekends_ok=True, holidays_ok=True
    )
    assert evaluate(open_agency, TH, d(7)).kinds == ("checkin",)
    recent = replace(open_agency, last_active_at=bkk(11, 10))
    assert evaluate(recent, TH, d(12)).kinds == ("checkin",)
    # the person's own weekdays still count
    assert evaluate(facts(weekends_ok=True), TH, d(12)).blocked == "day_off"


def test_the_slot_is_stored_in_utc_from_the_persons_time_zone():
    assert due_moment(facts(), d(8)) == datetime(2026, 12, 8, 0, 30, tzinfo=UTC)
    tokyo = facts(tz="Asia/Tokyo")
    assert due_moment(tokyo, d(8)) == datetime(2026, 12, 7, 22, 30, tzinfo=UTC)
    assert evaluate(facts(), TH, d(8)).key == "2026-12-08T07:30"


def test_quiet_hours_move_the_slot_to_their_end_or_drop_it():
    lunch = Prefs(True, time(12, 15), quiet_start=time(12, 0), quiet_end=time(13, 0))
    assert local_slot_time(lunch) == time(13, 0)
    night = Prefs(True, time(22, 30), quiet_start=time(21, 0), quiet_end=time(6, 0))
    assert local_slot_time(night) is None
    early = Prefs(True, time(5, 0), quiet_start=time(21, 0), quiet_end=time(6, 0))
    assert local_slot_time(early) == time(6, 0)
    assert evaluate(facts(prefs=night), TH, d(8)).blocked == "quiet"
    assert in_quiet(time(23, 0), time(21, 0), time(6, 0))
    assert not in_quiet(time(6, 0), time(21, 0), time(6, 0))


def test_a_pause_runs_through_its_last_day_and_does_not_count_as_silence():
    paused = facts(prefs=Prefs(True, time(7, 30), paused_until=d(9)), last_active_at=bkk(1, 10))
    assert evaluate(paused, TH, d(9)).blocked == "paused"
    # silent for 10 days, but 8 of them on pause: a normal check-in on the 11th
    assert evaluate(paused, TH, d(11)).kinds == ("checkin",)


def test_inactive_nudges_back_off_and_stop_after_three_ignored():
    quiet = facts(
        prefs=Prefs(True, time(12, 0), frozenset(range(7))),
        weekends_ok=True,
        holidays_ok=True,
        last_active_at=bkk(4, 10),
    )
    assert evaluate(quiet, TH, d(7)).kinds == ("inactive",)
    once = replace(quiet, ignored=1, last_inactive_due=bkk(7, 12))
    assert evaluate(once, TH, d(8)).blocked == "backoff"
    assert evaluate(once, TH, d(9)).kinds == ("inactive",)  # 2 days later
    twice = replace(once, ignored=2, last_inactive_due=bkk(9, 12))
    assert evaluate(twice, TH, d(12)).blocked == "backoff"
    assert evaluate(twice, TH, d(13)).kinds == ("inactive",)  # 4 days later
    thrice = replace(twice, ignored=3, last_inactive_due=bkk(13, 12))
    assert evaluate(thrice, TH, d(30)).blocked == "stopped"
    # writing again makes them active: check-ins, no inactive nudge (and, since
    # their step has not moved for weeks, a stuck nudge in the same message)
    back = replace(thrice, ignored=0, last_active_at=bkk(28, 9))
    assert evaluate(back, TH, d(28)).kinds == ("checkin", "stuck")


def test_goal_once_per_date_and_stuck_once_per_period():
    goal = GoalFact(5, "word", 4, d(10), "onthejob")
    person = facts(goals=(goal,), progress_at=bkk(30, 9, month=11))
    slot = evaluate(person, TH, d(8))
    assert slot.kinds == ("checkin", "stuck", "goal") and slot.goal_ids == (5,)
    announced = facts(goals=(goal,), goals_nudged={"5": "2026-12-10"})
    assert "goal" not in evaluate(announced, TH, d(9)).kinds
    moved = facts(goals=(GoalFact(5, "word", 4, d(11), None),), goals_nudged={"5": "2026-12-10"})
    assert "goal" in evaluate(moved, TH, d(9)).kinds  # a new date is announced again
    stuck_once = facts(
        progress_at=bkk(30, 9, month=11), last_stuck_due=bkk(8, 7, 30), last_active_at=bkk(14, 9)
    )
    assert "stuck" not in evaluate(stuck_once, TH, d(14)).kinds
    assert "stuck" in evaluate(stuck_once, TH, d(15)).kinds


@settings(max_examples=200, deadline=None)
@given(
    at=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    quiet=st.one_of(st.none(), st.tuples(st.integers(0, 23), st.integers(0, 23))),
    weekdays=st.frozensets(st.integers(0, 6), min_size=1),
    weekends_ok=st.booleans(),
    holidays_ok=st.booleans(),
    day=st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)),
)
def test_a_slot_never_falls_on_a_day_or_hour_it_must_not(
    at, quiet, weekdays, weekends_ok, holidays_ok, day
):
    start, end = (time(quiet[0]), time(quiet[1])) if quiet else (None, None)
    prefs = Prefs(True, at, weekdays, quiet_start=start, quiet_end=end)
    person = facts(prefs=prefs, weekends_ok=weekends_ok, holidays_ok=holidays_ok)
    due = due_moment(person, day)
    if due is None:
        return
    local = due.astimezone(BANGKOK)
    assert local.date() == day and day.weekday() in weekdays
    assert weekends_ok or day.weekday() < 5
    assert holidays_ok or not is_thai_holiday(day)
    assert not in_quiet(local.time(), start, end)


# ---- planning and sending against the database -------------------------------------------


async def world(database_url, clock, start: datetime) -> World:  # noqa: ANN001
    clock.set(start)
    app = await make_app(database_url, clock)
    channel = RecordingChannel()
    app.add_channel(channel)
    return World(app, channel)


async def nudges(app) -> list[Nudge]:  # noqa: ANN001
    async with app.sessions() as session:
        return list((await session.exec(select(Nudge).order_by(Nudge.id))).all())


async def test_planning_again_or_three_times_at_once_creates_no_doubles(database_url, clock):
    w = await world(database_url, clock, bkk(7, 23))
    for index in range(10):
        await w.add(
            Profile(f"p{index}", goals=(("word", d(10)),), step_started=bkk(30, 9, month=11))
        )
    ticks = w.app.nudges
    first = await ticks.plan()
    # Tue 8 07:30: check-in, stuck and goal for each of 10 people, and the
    # check-in's follow-up at 09:30 (cancelled if they answer)
    assert first == 40
    others = [await make_app(database_url, clock) for _ in range(2)]
    again = await asyncio.gather(ticks.plan(), *(a.nudges.plan() for a in others))
    assert again == [0, 0, 0]
    assert len(await nudges(w.app)) == 40
    for other in others:
        await other.close()
    await w.app.close()


async def test_missed_nudges_go_once_within_the_grace_period_and_are_skipped_after(
    database_url, clock
):
    w = await world(database_url, clock, bkk(7, 23))
    early = await w.add(Profile("early", time="07:30"), user="early")
    later = await w.add(Profile("later", time="08:30"), user="later")
    await w.app.nudges.plan()
    # the server is down from before 07:30 until 10:00 on Tuesday 8
    clock.set(bkk(8, 10, 0))
    await w.tick(w.app.nudges.with_worker("after-restart"), plan=True)
    await w.tick(w.app.nudges.with_worker("another"), plan=True)
    assert [item.user for item in w.received] == [later]  # once, though ticked twice
    outcome = {
        (n.person_id, n.kind): (n.status, n.reason)
        for n in await nudges(w.app)
        if n.slot.startswith("2026-12-08") and n.status != "planned"
    }
    assert outcome == {
        (w.ids[early], "checkin"): (SKIPPED, "late"),
        # the follow-up of a check-in that never went does not go either
        (w.ids[early], "followup"): (CANCELLED, "no_checkin"),
        (w.ids[later], "checkin"): (SENT, None),
    }
    await w.app.close()


async def test_a_late_nudge_is_not_sent_inside_quiet_hours(database_url, clock):
    w = await world(database_url, clock, bkk(7, 23))
    await w.add(Profile("q", time="07:30", quiet=("08:00", "09:00")))
    await w.app.nudges.plan()
    clock.set(bkk(8, 8, 15))  # 45 minutes late (within grace) but in quiet hours
    await w.tick(w.app.nudges, plan=False)
    assert w.received == []
    [row] = [n for n in await nudges(w.app) if n.kind == "checkin"]
    assert (row.status, row.reason) == (SKIPPED, "quiet_now")
    await w.app.close()


async def test_inactive_back_off_silence_and_reset_when_the_person_writes(database_url, clock):
    w = await world(database_url, clock, bkk(7, 0))
    user = await w.add(
        Profile(
            "silent",
            time="12:00",
            weekdays="0,1,2,3,4,5,6",
            open_agency=True,
            last_active=bkk(4, 10),
        )
    )
    await w.run(bkk(7, 0), bkk(28, 0), step=timedelta(hours=1))
    days = [(item.at.astimezone(BANGKOK).day, item.kinds) for item in w.received]
    assert days == [(7, {"inactive"}), (9, {"inactive"}), (13, {"inactive"})]
    texts = [item.reply.text for item in w.received]
    assert texts[0].startswith(w.app.content.t("reminders.inactive.first", "th", name="คน" + user))
    assert texts[2].startswith(w.app.content.t("reminders.inactive.last", "th", name="คน" + user))
    async with w.app.sessions() as session:
        counter = (await session.exec(select(NudgeCounter))).one()
    assert counter.ignored == 3 and counter.answered == 0
    # the person writes on Monday 28 at 09:00: counters reset, check-ins resume at 12:00
    w.profiles[user] = Profile("silent", answers=True)
    w._to_answer.append(user)
    await w.run(bkk(28, 9), bkk(28, 13), step=timedelta(hours=1))
    async with w.app.sessions() as session:
        counter = (await session.exec(select(NudgeCounter))).one()
    assert (counter.ignored, counter.answered) == (0, 1)
    assert [(i.at.astimezone(BANGKOK).day, i.kinds) for i in w.received[3:]] == [
        (28, {"checkin", "stuck"})
    ]
    await w.app.close()


async def test_all_nudges_of_a_slot_leave_as_one_message(database_url, clock):
    w = await world(database_url, clock, bkk(7, 23))
    user = await w.add(
        Profile("many", goals=(("word", d(10)),), step_started=bkk(30, 9, month=11)), user="many"
    )
    await w.run(bkk(8, 7), bkk(8, 8))
    [item] = w.received
    assert item.user == user and item.kinds == {"checkin", "stuck", "goal"}
    async with w.app.sessions() as session:
        rows = (await session.exec(select(OutboxMessage))).all()
    key = f"nudge:{w.ids[user]}:2026-12-08T07:30"
    assert [(r.kind, r.dedupe_key) for r in rows] == [("nudge", key)]
    slot_nudges = [n for n in await nudges(w.app) if n.kind != "followup"]
    assert len({n.outbox_id for n in slot_nudges}) == 1
    await w.app.close()


async def test_nudges_planned_under_old_settings_are_cancelled_not_sent(database_url, clock):
    w = await world(database_url, clock, bkk(7, 23))
    await w.add(Profile("mover", time="07:30"), user="mover")
    await w.app.nudges.plan()
    from storage.db import transaction
    from storage.models import ReminderPreference

    async with transaction(w.app.sessions) as session:
        pref = (await session.exec(select(ReminderPreference))).one()
        pref.time_local = time(9, 0)
        session.add(pref)
    await w.run(bkk(8, 7), bkk(8, 10))
    assert [i.at.astimezone(BANGKOK).strftime("%H:%M") for i in w.received] == ["09:00"]
    rows = {(n.slot, n.status, n.reason) for n in await nudges(w.app)}
    assert ("2026-12-08T07:30", CANCELLED, "rescheduled") in rows
    assert ("2026-12-08T09:00", SENT, None) in rows
    await w.app.close()


async def test_a_full_outbox_holds_nudges_back_until_delivery_makes_room(sqlite_url, clock):
    clock.set(bkk(7, 23))
    app = await make_app(
        sqlite_url, clock, dlcoach_nudge_batch=2, dlcoach_nudge_outbox_high_water=3
    )
    channel = RecordingChannel()
    app.add_channel(channel)
    w = World(app, channel)
    for index in range(5):
        await w.add(Profile(f"p{index}"))
    ticks = app.nudges
    await ticks.plan()
    clock.set(bkk(8, 7, 30))
    first = await ticks.send()
    assert (first.messages, first.held_back) == (4, True)  # 2 + 2, then 4 >= 3 waiting
    await app.delivery.drain()
    second = await ticks.send()
    assert (second.messages, second.held_back) == (1, False)
    assert len(channel.sent) == 4
    await app.close()


async def test_the_scheduler_gets_both_ticks(app):
    from bot.scheduler import scheduler_for

    scheduler = scheduler_for(app)
    assert {"nudge-plan", "nudge-send"} <= {job.id for job in scheduler.get_jobs()}
    ticks = app.nudges
    await ticks.plan_tick()  # a tick with nobody to nudge does nothing, and does not raise
    await ticks.send_tick()
