"""Best-hour storage on both databases: a day's hour is chosen once, a check-in is
settled into the counts once, the first answer is the one that counts, and the
agency's sums exclude nobody and include no other agency."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import select

from storage import best_hour as store
from storage.db import transaction
from storage.models import Agency, BestHourDay, ReminderPreference
from tests.drivers.chat import RecordingChannel, make_app
from tests.drivers.reminders import Profile, World

DAY = date(2027, 1, 11)
NOON = time(12, 0)
DUE = datetime(2027, 1, 11, 5, 0, tzinfo=UTC)  # 12:00 in Bangkok
WINDOW = timedelta(hours=2)


def row(pid: int, day: date, at: time | None, **kw) -> dict:  # noqa: ANN003
    return {
        "person_id": pid,
        "day": day,
        "at": at,
        "reason": kw.pop("reason", "thompson"),
        "notice": kw.pop("notice", False),
        "told": False,
        "settled": False,
        "created_at": DUE - timedelta(hours=6),
    }


async def test_best_hour_rows_settle_once_and_sum_per_agency(database_url, clock):
    app = await make_app(database_url, clock)
    channel = RecordingChannel()
    app.add_channel(channel)
    world = World(app, channel)
    try:
        quick = await world.add(Profile("quick"), user="quick")
        slow = await world.add(Profile("slow"), user="slow")
        other = await world.add(Profile("other", open_agency=True), user="other")
        fixed = await world.add(Profile("fixed"), user="fixed")
        ids = [world.ids[u] for u in (quick, slow, other, fixed)]
        a, b, c, d = ids
        async with transaction(app.sessions) as session:
            for pid in (a, b, c):
                pref = await session.get(ReminderPreference, pid)
                pref.time_fixed = False
                session.add(pref)
        async with transaction(app.sessions) as session:
            assert await store.learning(session, ids) == {a, b, c}
            first = await store.insert_days(
                session, [row(a, DAY, NOON, notice=True), row(b, DAY, NOON), row(c, DAY, NOON)]
            )
            again = await store.insert_days(session, [row(a, DAY, time(9, 0))])
            assert first == {(a, DAY), (b, DAY), (c, DAY)} and again == set()
            sent = [
                {"person_id": p, "day": DAY, "due_at": DUE, "notice": p == a} for p in (a, b, c)
            ]
            await store.mark_sent(session, sent)
            await store.note_answer(session, a, DUE + timedelta(minutes=40))
            await store.note_answer(session, a, DUE + timedelta(hours=5))  # not the first
        async with transaction(app.sessions) as session:
            # the window is not over: only the answered one is settled
            assert await store.settle(session, ids, DUE + timedelta(hours=1), WINDOW) == 1
            await store.note_answer(session, b, DUE + timedelta(hours=3))  # too late
        async with transaction(app.sessions) as session:
            assert await store.settle(session, ids, DUE + timedelta(hours=4), WINDOW) == 2
            assert await store.settle(session, ids, DUE + timedelta(hours=9), WINDOW) == 0
            own = await store.own_counts(session, ids)
            agency_of, sums = await store.agency_counts(session, ids)
            days = await store.load_days(session, ids)
            demo = (await session.exec(select(Agency.id).where(Agency.code == "DEMO"))).one()
            answered = (
                await session.exec(
                    select(BestHourDay.answered_at).where(BestHourDay.person_id == a)
                )
            ).one()
        assert own == {a: {NOON: (1, 0)}, b: {NOON: (0, 1)}, c: {NOON: (0, 1)}}
        assert agency_of[a] == agency_of[b] == agency_of[d] == demo != agency_of[c]
        assert sums[demo] == {NOON: (1, 1)} and sums[agency_of[c]] == {NOON: (0, 1)}
        assert answered == DUE + timedelta(minutes=40)
        assert set(days) == {a, b, c}  # the one who fixed a time has none
        (day_a,) = days[a]
        assert (day_a.at, day_a.notice, day_a.told) == (NOON, True, True)
        async with transaction(app.sessions) as session:
            await store.prune(session, ids, DAY + timedelta(days=1))
            assert await store.load_days(session, ids) == {a: [], b: [], c: []}
    finally:
        await app.close()
