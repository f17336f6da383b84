"""The weekly summary in the working-group chat, on a simulated clock: once per
week at the configured day and time, even with two instances running."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlmodel import select

from handlers.clock import FakeClock
from handlers.messages import Reply
from jobs.weekly import week_key
from storage.db import transaction
from storage.models import Agency, WeeklyPost, WorkingGroupChat
from storage.timeutil import to_local
from tests.drivers.chat import START, Person, RecordingChannel, make_app, t
from tests.drivers.journey import whole_journey
from tests.drivers.working_group import Staff, outbox_rows, place


async def bound_app(url: str, clock: FakeClock, **settings):  # noqa: ANN003
    """An app whose demo agency has staff and a bound working-group chat "G-1"."""
    app = await make_app(url, clock, **settings)
    app.add_channel(RecordingChannel())
    async with transaction(app.sessions) as session:
        agency = (await session.exec(select(Agency).where(Agency.code == "DEMO"))).one()
        session.add(WorkingGroupChat(agency_id=agency.id, channel="test", chat_id="G-1", lang="th"))
    await place(
        app,
        "DEMO",
        [
            Staff("ก", None, "g3", 6, True, {"computer": 2}, {"computer": 4}),
            Staff("ข", None, "g4", 2, False, {"computer": 1}),
        ],
    )
    return app


async def run_for(app, clock: FakeClock, days: int, step_minutes: int = 30) -> list[datetime]:
    """Call the weekly job every `step_minutes` for `days`; when it posted, in Bangkok time."""
    posted = []
    for _ in range(days * 24 * 60 // step_minutes):
        if await app.weekly.post_due():
            posted.append(to_local(clock.now(), "Asia/Bangkok"))
        clock.advance(minutes=step_minutes)
    return posted


async def test_once_per_week_over_a_fortnight(database_url):
    clock = FakeClock(START)  # Monday 23 November 2026, 09:00 in Bangkok
    app = await bound_app(database_url, clock)
    try:
        posted = await run_for(app, clock, 14)
        # Friday 15:00 each week, the default
        assert [(p.date().isoformat(), p.strftime("%H:%M")) for p in posted] == [
            ("2026-11-27", "15:00"),
            ("2026-12-04", "15:00"),
        ]
        rows = await outbox_rows(app, "weekly")
        assert [(r.chat_id, r.account_id, r.dedupe_key) for r in rows] == [
            ("G-1", None, "weekly-DEMO-2026-W48"),
            ("G-1", None, "weekly-DEMO-2026-W49"),
        ]
        async with app.sessions() as session:
            weeks = (await session.exec(select(WeeklyPost).order_by(WeeklyPost.id))).all()
        assert [(w.week, w.outbox_id) for w in weeks] == [
            ("2026-W48", rows[0].id),
            ("2026-W49", rows[1].id),
        ]
        await app.delivery.drain(["test"])
        sent = [m for m in app.channels["test"].sent if m.chat_id == "G-1"]
        assert len(sent) == 2
        first = sent[0].replies
        assert first[0].text.startswith("📅 สัปดาห์นี้")  # the week first
        assert first[1].text.startswith(t(app, "weekly.totals"))  # then the running totals
        assert "ลงทะเบียน 2 คน · ทำครบ 6 ขั้น 1 คน (50%)" in first[1].text
        assert [bool(r.image_png) for r in first] == [False, False, True, True]  # two charts
    finally:
        await app.close()


async def test_day_and_time_are_configurable(sqlite_url):
    clock = FakeClock(START)
    app = await bound_app(sqlite_url, clock, dlcoach_weekly_day=0, dlcoach_weekly_time="08:30")
    try:
        posted = await run_for(app, clock, 8, step_minutes=15)
        # START is Monday 09:00: this week's Monday 08:30 has passed, so it posts at once
        assert [p.strftime("%a %d %H:%M") for p in posted] == ["Mon 23 09:00", "Mon 30 08:30"]
    finally:
        await app.close()


async def test_a_server_that_was_down_catches_up_within_the_week_only(sqlite_url):
    clock = FakeClock(START)
    app = await bound_app(sqlite_url, clock)
    try:
        clock.set(datetime(2026, 11, 28, 3, 0, tzinfo=UTC))  # Saturday 10:00 in Bangkok
        assert await app.weekly.post_due() == 1
        assert await app.weekly.post_due() == 0
        clock.set(datetime(2026, 12, 7, 2, 0, tzinfo=UTC))  # the Monday after a missed Friday
        assert await app.weekly.post_due() == 0
        assert [r.dedupe_key for r in await outbox_rows(app, "weekly")] == ["weekly-DEMO-2026-W48"]
    finally:
        await app.close()


async def test_two_instances_post_once(database_url):
    clock = FakeClock(datetime(2026, 11, 27, 8, 5, tzinfo=UTC))  # Friday 15:05 in Bangkok
    first = await bound_app(database_url, clock)
    second = await make_app(database_url, clock)
    try:
        results = await asyncio.gather(
            first.weekly.post_due(),
            second.weekly.post_due(),
            first.weekly.post_due(),
        )
        assert sum(results) == 1
        assert len(await outbox_rows(first, "weekly")) == 1
    finally:
        await first.close()
        await second.close()


async def test_no_bound_chat_no_post(app, clock):
    clock.set(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    assert await app.weekly.post_due() == 0


async def test_the_weekly_text_follows_the_chat_language(sqlite_url):
    clock = FakeClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    app = await bound_app(sqlite_url, clock)
    try:
        async with app.sessions() as session, session.begin():
            chat = (await session.exec(select(WorkingGroupChat))).one()
            chat.lang = "en"
            session.add(chat)
        await app.weekly.post_due()
        [row] = await outbox_rows(app, "weekly")
        week, totals = (Reply.from_json(item).text for item in row.payload[:2])
        assert week.startswith("📅 This week")
        assert totals.startswith(app.content.t("weekly.totals", "en"))
        assert "27 November 2026" in totals
    finally:
        await app.close()


def test_week_key():
    assert week_key(datetime(2026, 11, 23).date()) == "2026-W48"
    assert week_key(datetime(2027, 1, 1).date()) == "2026-W53"


async def test_the_server_schedules_the_weekly_job(sqlite_url):
    from bot.server import Runtime

    app = await make_app(sqlite_url)
    runtime = Runtime(app)
    await runtime.start()
    try:
        job = runtime.scheduler.get_job("weekly")
        assert job is not None and job.func == app.weekly.tick
    finally:
        await runtime.stop()


async def test_the_weekly_post_tells_what_happened_this_week(sqlite_url, clock):
    app = await bound_app(sqlite_url, clock)  # ก completed on Monday, ข at step 2
    try:
        await place(app, "DEMO", [Staff("เงียบ", None, "g3", 3, idle_days=10)])
        person = Person(app, app.channels["test"])
        await whole_journey(person)  # joins, finishes steps 1 to 6 and shares a tip
        clock.set(datetime(2026, 11, 27, 8, 0, tzinfo=UTC))  # Friday 15:00 in Bangkok
        assert await app.weekly.post_due() == 1
        [row] = await outbox_rows(app, "weekly")
        week = Reply.from_json(row.payload[0]).text
        assert week == t(
            app,
            "weekly.this_week",
            joined=3,  # ก and ข joined on Sunday, and the person on Monday
            steps=9,  # ก's step 6, ข's step 2, the person's steps 2 to 6, and two rounds
            rounds=2,
            uses=1,
            inactive=1,  # เงียบ last moved 10 days before Monday: 14 days on Friday
            tip_count=1,
            tips=t(app, "weekly.tip_line", text="ใช้สไตล์หัวเรื่อง แล้วสารบัญจะทำตัวเอง"),
        )
    finally:
        await app.close()
