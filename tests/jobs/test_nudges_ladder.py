"""The reminder ladder and coming back, on a fake clock through the real planner,
sender and turn: one follow-up at most, inside the allowed hours; a pause after
five unanswered reminders, told once, undone by one tap; any answer resets the
count; a welcome after a gap; a nudge quoting the plan after a missed plan day.

December 2026 in Bangkok: Monday 7 and Thursday 10 are public holidays.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlmodel import select

from handlers.messages import Incoming
from storage.models import Nudge, NudgeCounter
from storage.models.nudges import CANCELLED, SENT
from tests.drivers.chat import Person, RecordingChannel, make_app, t
from tests.drivers.reminders import BANGKOK, Profile, World, bkk

C, F, I, L, B = "checkin", "followup", "inactive", "ladder", "comeback"  # noqa: E741
PLAN = "เมื่อถึงบ่ายวันศุกร์ ฉันจะฝึกสูตร SUMIF ใน Excel 15 นาที"


def d(day: int) -> date:
    return date(2026, 12, day)


async def world(database_url, clock, start) -> World:  # noqa: ANN001
    clock.set(start)
    app = await make_app(database_url, clock)
    channel = RecordingChannel()
    app.add_channel(channel)
    return World(app, channel)


def timeline(w: World, user: str) -> list[tuple[str, frozenset[str]]]:
    """What one person received: (local 'day HH:MM', kinds), in order."""
    return [
        (item.at.astimezone(BANGKOK).strftime("%d %H:%M"), item.kinds)
        for item in w.received
        if item.user == user
    ]


async def counter(w: World, user: str) -> NudgeCounter:
    async with w.app.sessions() as session:
        return await session.get(NudgeCounter, w.ids[user])


async def send(w: World, user: str, **kw) -> list:  # noqa: ANN003
    """`user` writes now (a text, or a tap); returns the replies they got."""
    before = len(w.channel.sent)
    await w.app.handle(
        Incoming(
            channel=w.channel.name,
            user_id=user,
            chat_id=user,
            event_id=uuid.uuid4().hex,
            **kw,
        )
    )
    await w.app.delivery.drain([w.channel.name])
    replies = [r for m in w.channel.sent[before:] for r in m.replies]
    w._seen = len(w.channel.sent)
    return replies


async def test_one_follow_up_at_most_and_only_inside_the_allowed_hours(database_url, clock):
    w = await world(database_url, clock, bkk(8, 0))
    ignores = await w.add(Profile("ignores"), user="ignores")
    answers = await w.add(Profile("answers", answers=True), user="answers")
    evening = await w.add(Profile("evening", time="19:00"), user="evening")
    quiet = await w.add(Profile("quiet", quiet=("09:00", "10:00")), user="quiet")
    await w.run(bkk(8, 0), bkk(9, 0))
    # Tuesday 8: the check-in at 07:30, its one follow-up two hours later
    assert timeline(w, ignores) == [("08 07:30", {C}), ("08 09:30", {F})]
    # answered at 08:00: no follow-up
    assert timeline(w, answers) == [("08 07:30", {C})]
    # 21:00 is past the day's last allowed time (20:00); 09:30 is in quiet hours
    assert timeline(w, evening) == [("08 19:00", {C})]
    assert timeline(w, quiet) == [("08 07:30", {C})]
    follow_up = next(i for i in w.received if i.kinds == {F})
    assert w.profiles[ignores].plan in follow_up.reply.text
    assert follow_up.reply.choices[0].id == "go:continue"
    async with w.app.sessions() as session:
        rows = (await session.exec(select(Nudge).where(Nudge.kind == F))).all()
    outcome = {r.person_id: (r.status, r.reason) for r in rows if r.slot.startswith("2026-12-08")}
    assert outcome == {w.ids[ignores]: (SENT, None), w.ids[answers]: (CANCELLED, "answered")}
    # and never a second one: Wednesday's check-in has its own, the 8th's is spent
    await w.run(bkk(9, 0), bkk(9, 12))
    assert timeline(w, ignores)[2:] == [("09 07:30", {C}), ("09 09:30", {F})]
    await w.app.close()


def silent_open(**changes) -> Profile:  # noqa: ANN003
    """Every day at 12:00 (an agency open at weekends and on holidays), last
    wrote on Sunday 6 at 11:00, never answers."""
    values = {
        "time": "12:00",
        "weekdays": "0,1,2,3,4,5,6",
        "open_agency": True,
        "last_active": bkk(6, 11),
    }
    values.update(changes)
    return Profile("silent_open", **values)


async def test_the_ladder_pauses_after_five_unanswered_and_one_tap_resumes(database_url, clock):
    w = await world(database_url, clock, bkk(6, 0))
    user = await w.add(silent_open(), user="silent")
    await w.run(bkk(6, 0), bkk(29, 0))
    # three check-ins (each with its follow-up), quiet from Wednesday: two inactive
    # nudges, two then four days apart: five unanswered. The next reminder, on
    # Tuesday 15, is the notice instead; then nothing for two weeks.
    assert timeline(w, user) == [
        ("06 12:00", {C}),
        ("06 14:00", {F}),
        ("07 12:00", {C}),
        ("07 14:00", {F}),
        ("08 12:00", {C}),
        ("08 14:00", {F}),
        ("09 12:00", {I}),
        ("11 12:00", {I}),
        ("15 12:00", {L}),
    ]
    notice = w.received[-1].reply
    assert notice.text == t(w.app, "reminders.ladder", name="คน" + user, count=5)
    assert notice.choices[0].id == "lr:on"
    paused = await counter(w, user)
    assert paused.unanswered == 5 and paused.ladder_told_at == bkk(15, 12)
    # one tap on Tuesday 29 at 09:00 (the notice is two weeks old: a pushed button)
    clock.set(bkk(29, 9))
    replies = await send(w, user, kind="choice", choice="lr:on", text="")
    # two weeks away: welcomed back first, then told reminders are on again
    assert replies[0].text.startswith("🌱")
    [resumed] = [r for r in replies if r.text.startswith(t(w.app, "remind.ladder_resumed"))]
    assert "12:00" in resumed.text  # the next one, today at 12:00
    back = await counter(w, user)
    assert (back.unanswered, back.ladder_told_at) == (0, None)
    await w.run(bkk(29, 9), bkk(29, 13))
    assert timeline(w, user)[-1] == ("29 12:00", {C, "stuck"})  # reminders are back
    await w.app.close()


async def test_any_answer_resets_the_ladder(database_url, clock):
    """The same person writes one word on Friday 11 at 09:00, before the fifth
    reminder: the count starts again, so the notice comes five reminders later."""
    w = await world(database_url, clock, bkk(6, 0))
    user = await w.add(silent_open(), user="silent")
    await w.run(bkk(6, 0), bkk(11, 9))
    assert (await counter(w, user)).unanswered == 4
    await send(w, user, kind="text", text="สวัสดี")
    assert (await counter(w, user)).unanswered == 0
    await w.run(bkk(11, 9), bkk(22, 0))
    slots = [(at, kinds) for at, kinds in timeline(w, user) if kinds != {F}]
    assert slots[4:] == [
        ("11 12:00", {C}),  # active again: a check-in, not the inactive nudge
        ("12 12:00", {C, "stuck"}),  # on step 4 since Saturday 5
        ("13 12:00", {C}),
        ("14 12:00", {I}),
        ("16 12:00", {I}),
        ("20 12:00", {L}),  # five in a row since the answer
    ]
    await w.app.close()


async def test_the_first_message_after_a_gap_is_welcomed_once_with_a_small_step(
    database_url, clock
):
    w = await world(database_url, clock, bkk(16, 9))
    away = await w.add(Profile("away", last_active=bkk(6, 10)), user="away")
    recent = await w.add(Profile("recent", last_active=bkk(10, 10)), user="recent")
    person = Person(w.app, w.channel, user=away)
    first = await person.say("สวัสดี")
    small = t(w.app, "comeback.small.learn")  # on step 4: one 10-minute entry this week
    welcome = t(w.app, "comeback.welcome", name="คน" + away, days=9, small=small)
    assert first[0].text == welcome
    assert "10 นาที" in welcome and "สัปดาห์นี้" in welcome
    again = await person.say("สวัสดี")
    assert welcome not in [r.text for r in again]
    # six days away is no gap
    other = await Person(w.app, w.channel, user=recent).say("สวัสดี")
    assert not any(r.text.startswith("🌱") for r in other)
    await w.app.close()


async def test_a_missed_plan_day_brings_a_nudge_quoting_the_plan_once(database_url, clock):
    """Plan: Friday afternoons. Last wrote on Thursday 10; Friday 11 passes in
    silence. On Monday 14 (quiet for almost four days: the inactive nudge) the
    message quotes the plan and offers a smaller version; not again on Wednesday."""
    w = await world(database_url, clock, bkk(11, 0))
    user = await w.add(
        Profile("planner", plan=PLAN, plan_cue="friday", last_active=bkk(10, 10)), user="planner"
    )
    await w.run(bkk(11, 0), bkk(17, 0))
    assert timeline(w, user) == [
        ("11 07:30", {C}),  # the plan day itself: no come-back yet
        ("11 09:30", {F}),
        ("14 07:30", {I, B}),
        ("16 07:30", {I}),
    ]
    text = w.received[2].reply.text
    assert f"“{PLAN}”" in text and text.count(PLAN) == 1
    assert t(w.app, "reminders.comeback_smaller") in text
    assert (await counter(w, user)).comeback_for == d(11)
    await w.app.close()


async def test_no_come_back_nudge_without_a_plan_day(database_url, clock):
    w = await world(database_url, clock, bkk(11, 0))
    user = await w.add(Profile("daily", plan=PLAN, last_active=bkk(10, 10)), user="daily")
    await w.run(bkk(11, 0), bkk(17, 0))
    assert all(B not in kinds for _, kinds in timeline(w, user))
    assert [kinds for _, kinds in timeline(w, user)][2] == {I}
    await w.app.close()


def test_the_gap_and_delay_defaults():
    from handlers.policy import Thresholds

    th = Thresholds()
    assert (th.followup_delay, th.max_unanswered, th.comeback_days) == (
        timedelta(hours=2),
        5,
        7,
    )
