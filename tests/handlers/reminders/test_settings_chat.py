"""Reminders in conversation: /remind by buttons and by typing, the menu item and
the global button, a nudge's own plan and its continue button from any state,
the terminal, and LINE's one push per slot."""

from __future__ import annotations

import io
import uuid
from datetime import date, time, timedelta

from sqlmodel import select

from bot.channels.console import ConsoleChannel
from bot.terminal import run_chat
from handlers.messages import Reply
from storage.models import (
    BestHourDay,
    ConversationState,
    Nudge,
    OutboxMessage,
    ReminderPreference,
)
from tests.drivers.chat import START, Person, t
from tests.drivers.journey import onboard, step1, step2, step3
from tests.drivers.reminders import Profile, bkk, seed


async def pref(app) -> ReminderPreference:  # noqa: ANN001
    async with app.sessions() as session:
        return (await session.exec(select(ReminderPreference))).one()


async def state(app) -> str:  # noqa: ANN001
    async with app.sessions() as session:
        return (await session.exec(select(ConversationState))).one().state


async def test_remind_settings_by_buttons(app, channel):
    person = Person(app, channel)
    await onboard(person)
    before = person.question.text
    replies = await person.say("/remind")
    summary = replies[-1].text
    assert "07:30" in summary and "จ. อ. พ. พฤ. ศ." in summary
    assert "24/11/2569" in summary  # next: Tuesday 24 November 2026 (2569 BE), 07:30
    await person.tap("r:time")
    await person.tap("t:1200")
    assert (await pref(app)).time_local == time(12, 0)
    await person.tap("r:days")
    replies = await person.tap("d:4")  # Friday off
    assert "⬜ ศ." in [c.label for c in replies[-1].choices]
    await person.tap("d:ok")
    assert (await pref(app)).weekdays == "0,1,2,3"
    await person.tap("r:pause")
    replies = await person.tap("p:2w")
    today = date(2026, 11, 23)
    assert (await pref(app)).paused_until == today + timedelta(days=13)
    assert t(app, "remind.paused", date="06/12/2569", resume="07/12/2569") in replies[0].text
    assert "r:resume" in [c.id for c in replies[-1].choices]
    await person.tap("r:resume")
    assert (await pref(app)).paused_until is None
    await person.tap("r:quiet")
    await person.tap("q:2207")
    stored = await pref(app)
    assert (stored.quiet_start, stored.quiet_end) == (time(22, 0), time(7, 0))
    await person.tap("r:off")
    assert (await pref(app)).enabled is False
    await person.tap("r:on")
    assert (await pref(app)).enabled is True
    replies = await person.tap("r:done")
    assert replies[-1].text == before  # back to the question the person was on
    assert await state(app) == "s1.intro"


async def test_remind_settings_by_typing(app, channel):
    person = Person(app, channel)
    await onboard(person)
    await person.say("เตือน")  # the typed alias opens the settings
    await person.tap("r:time")
    replies = await person.say("25:99")
    assert replies[0].text == t(app, "onboard.time_invalid")
    await person.say("8.45 น.")
    assert (await pref(app)).time_local == time(8, 45)
    await person.tap("r:pause")
    replies = await person.say("32/13/2569")
    assert replies[0].text == t(app, "remind.date_invalid")
    replies = await person.say("01/01/2569")
    assert replies[0].text == t(app, "remind.date_past")
    await person.say("31/12/2569")
    assert (await pref(app)).paused_until == date(2026, 12, 31)
    await person.tap("r:resume")
    await person.tap("r:quiet")
    replies = await person.say("soon")
    assert replies[0].text == t(app, "remind.quiet_invalid")
    replies = await person.say("08.00 - 09.30")
    stored = await pref(app)
    assert (stored.quiet_start, stored.quiet_end) == (time(8, 0), time(9, 30))
    # 08:45 is inside the new quiet hours: the bot says when reminders will come
    assert t(app, "remind.time_moved", time="09:30") in [r.text for r in replies]
    await person.tap("r:quiet")
    await person.tap("q:none")
    await person.tap("r:done")
    # one-line commands
    await person.say("/remind 7:15")
    assert (await pref(app)).time_local == time(7, 15)
    await person.say("/remind off")
    assert (await pref(app)).enabled is False
    replies = await person.say("/remind on")
    assert (await pref(app)).enabled is True
    assert replies[0].text == t(app, "remind.turned_on")
    assert await state(app) == "s1.intro"


async def test_days_keep_at_least_one_and_weekends_only_when_the_agency_allows(app, channel):
    person = Person(app, channel)
    await onboard(person)
    await person.say("/remind")
    replies = await person.tap("r:days")
    assert [c.id for c in replies[-1].choices] == [
        "d:0",
        "d:1",
        "d:2",
        "d:3",
        "d:4",
        "d:wk",
        "d:ok",
    ]
    for day in range(4):
        await person.tap(f"d:{day}")
    replies = await person.tap("d:4")
    assert replies[0].text == t(app, "remind.need_one_day")
    await person.tap("d:wk")
    assert (await pref(app)).weekdays == "0,1,2,3,4"


async def test_menu_item_and_global_button_open_the_settings(app, channel):
    person = Person(app, channel)
    await onboard(person)
    await step1(person)
    replies = await person.say("/menu")
    assert "m:remind" in [c.id for c in replies[-1].choices]
    replies = await person.tap("m:remind")
    assert replies[-1].choices[0].id == "r:time"
    replies = await person.tap("r:done")
    assert replies[-1].choices[0].id == "m:continue"  # back to the menu it came from
    await person.tap("m:continue")
    # a rich-menu or nudge button: go:remind with no question number, from any state
    replies = await person._send(kind="choice", choice="go:remind", text="", question_seq=None)
    assert replies[-1].choices[0].id == "r:time"
    replies = await person.tap("r:done")
    assert replies[-1].choices[0].id == "start"  # the step 2 question again


async def nudge_for(app, channel, clock) -> Reply:  # noqa: ANN001
    """Plan and send due nudges now; the one nudge that reached the channel."""
    before = len(channel.sent)
    ticks = app.nudges
    await ticks.plan()
    await ticks.send()
    await app.delivery.drain([channel.name])
    [message] = [m for m in channel.sent[before:] if m.kind == "nudge"]
    [reply] = message.replies
    return reply


async def test_a_nudge_quotes_the_plan_and_continue_works_from_any_state(app, channel, clock):
    person = Person(app, channel)
    await onboard(person)
    for walk in (step1, step2, step3):
        await walk(person)
    await person.tap("log")
    replies = await person.tap("k:word")
    question = replies[-1]  # "what did you learn?" (s4.what)
    clock.set(bkk(24, 7, 30, month=11))  # Tuesday 24 November, 07:30 in Bangkok
    nudge = await nudge_for(app, channel, clock)
    assert "เมื่อเปิดคอมพิวเตอร์ตอนเช้า ฉันจะฝึกจัดหน้าเอกสาร 15 นาที" in nudge.text
    assert "โปรแกรมประมวลผลคำ" in nudge.text  # the next action names the focus skill
    assert nudge.question_seq is None and not nudge.essential
    assert [c.id for c in nudge.choices] == ["go:continue", "go:remind"]
    clock.advance(minutes=20)
    replies = await person._send(kind="choice", choice="go:continue", text="", question_seq=None)
    assert t(app, "common.stale_button") not in [r.text for r in replies]
    assert replies[-1].text == question.text  # the same question, ready to answer
    await person.say("ฝึกสร้างสารบัญอัตโนมัติ")
    assert await state(app) == "s4.minutes"
    replies = await person._send(kind="choice", choice="go:remind", text="", question_seq=None)
    assert replies[-1].choices[0].id == "r:time"


async def test_the_terminal_shows_a_due_nudge_when_the_person_types(app, clock, capsys):
    user = "somchai"
    await seed(app, Profile("console", plan="เมื่อถึงเที่ยง ฉันจะเปิดบทเรียน 10 นาที"), user, "console")
    clock.set(bkk(8, 8, 0))  # 30 minutes after the 07:30 slot, well within grace
    channel = ConsoleChannel(user)
    app.add_channel(channel)
    await run_chat(app, channel, "th", stdin=io.StringIO("สวัสดี\n"))
    out = capsys.readouterr().out
    assert out.count("เมื่อถึงเที่ยง ฉันจะเปิดบทเรียน 10 นาที") == 1
    assert out.index("เมื่อถึงเที่ยง") < out.index(t(app, "welcome_back", name="คน" + user)[:10])


async def test_line_gets_one_push_per_slot_and_the_quota_guard_defers_nudges(tmp_path):
    from bot.channels.line import LineChannel
    from handlers.clock import FakeClock
    from tests.drivers.chat import make_app
    from tests.fakes.line_api import FakeLineServer

    clock = FakeClock(START)
    async with FakeLineServer(access_token="token", clock=clock, quota=500) as line:
        app = await make_app(
            f"sqlite:///{tmp_path / 'line.db'}",
            clock,
            line_channel_secret="secret",
            line_channel_access_token="token",
            line_api_base_url=line.base_url,
        )
        channel = LineChannel(app.settings)
        app.add_channel(channel)
        await channel.start(app.hub())
        try:
            rich = Profile(
                "rich", goals=(("word", date(2026, 12, 10)),), step_started=bkk(30, 9, month=11)
            )
            users = ["U" + uuid.uuid4().hex for _ in range(2)]
            for user in users:
                await seed(app, rich, user, "line")
            clock.set(bkk(8, 7, 30))
            ticks = app.nudges
            await ticks.plan()
            await ticks.send(person_ids=None)
            await app.delivery.drain(["line"])
            assert sorted(p.to for p in line.pushes) == sorted(users)  # one push each
            text = line.delivered_texts(users[0])[0]
            assert "ฝึกใช้สไตล์ใน Word" in text and "🎯" in text and "📌" in text
            # The next day's nudges are written while the month still has room; by the
            # time they would be pushed the month is nearly used: they wait (a reply
            # would not), and the planner sets the following day's aside.
            clock.set(bkk(9, 7, 30))
            await ticks.plan()
            await ticks.send()
            line.quota_used = 480
            clock.advance(seconds=61)  # the quota is read at most once a minute
            await app.delivery.drain(["line"])
            assert len(line.pushes) == 2
            async with app.sessions() as session:
                rows = (
                    await session.exec(select(OutboxMessage).where(OutboxMessage.kind == "nudge"))
                ).all()
            assert sorted(r.status for r in rows) == ["deferred", "deferred", "sent", "sent"]
            clock.set(bkk(11, 6))  # (10 December is Constitution Day: no slot)
            await ticks.plan()
            async with app.sessions() as session:
                later = (
                    await session.exec(select(Nudge).where(Nudge.slot.startswith("2026-12-11")))
                ).all()
            assert later and {(n.status, n.reason) for n in later} == {("skipped", "quota")}
        finally:
            await channel.stop()
            await app.close()


async def to_the_time_question(person: Person) -> list[Reply]:
    """Onboard up to the reminder time question; its replies."""
    await person.follow()
    await person.tap(1)  # accept
    await person.say("สมหญิง ใจดี")
    await person.tap(1)  # demo agency
    await person.tap(1)  # first unit
    return await person.tap("g:g3")


async def test_let_the_coach_choose_in_onboarding_and_fix_a_time_again(app, channel):
    person = Person(app, channel)
    replies = await to_the_time_question(person)
    assert "t:auto" in [c.id for c in replies[-1].choices]
    replies = await person.tap("t:auto")
    assert t(app, "remind.coach_set") in [r.text for r in replies]
    stored = await pref(app)
    assert (stored.enabled, stored.time_fixed, stored.time_local) == (True, False, time(9, 0))
    summary = (await person.say("/remind"))[-1].text
    assert t(app, "remind.time_coach_value", time="09:00") in summary
    await person.tap("r:time")
    await person.tap("t:1630")  # a time of their own: fixed again
    stored = await pref(app)
    assert (stored.time_fixed, stored.time_local) == (True, time(16, 30))
    await person.tap("r:quiet")
    await person.tap("q:1213")  # lunch is quiet: the coach starts where it may
    await person.tap("r:time")
    await person.tap("t:auto")
    stored = await pref(app)
    assert (stored.time_fixed, stored.time_local) == (False, time(9, 0))


async def test_remind_shows_the_hour_the_coach_chose_for_the_coming_days(app, channel, clock):
    """/remind's "next reminder" follows the coach's decisions: a day it skipped
    ("not today") has none, a day it moved comes at its own hour; days not yet
    decided are expected at the usual hour."""
    person = Person(app, channel)
    await to_the_time_question(person)
    await person.tap("t:auto")  # the coach chooses, starting at 09:00
    stored = await pref(app)
    async with app.sessions() as session:
        for day, at, reason in (
            (date(2026, 11, 24), None, "not_today"),
            (date(2026, 11, 25), time(14, 0), "thompson"),
        ):
            session.add(
                BestHourDay(
                    person_id=stored.person_id,
                    day=day,
                    at=at,
                    reason=reason,
                    notice=False,
                    told=False,
                    settled=False,
                    created_at=clock.now(),
                )
            )
        await session.commit()
    summary = (await person.say("/remind"))[-1].text
    assert t(app, "remind.time_coach_value", time="09:00") in summary  # the usual hour
    assert t(app, "remind.next_value", date="25/11/2569", time="14:00") in summary
    async with app.sessions() as session:  # once those days are past: the usual hour
        for row in (await session.exec(select(BestHourDay))).all():
            await session.delete(row)
        await session.commit()
    summary = (await person.say("/remind"))[-1].text
    assert t(app, "remind.next_value", date="24/11/2569", time="09:00") in summary
