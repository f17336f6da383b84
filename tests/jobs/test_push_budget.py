"""The month's pushes: on a channel with a quota the planner keeps the planned
nudges within the pushes left, the most valuable first (a check-in quoting the
person's plan, then a goal, stuck, the nudge after silence, a plain check-in),
one push per person and slot, and records the month for /summary. A channel
without a quota is unlimited."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from bot.channels.base import OutboundMessage, Progress, no_progress
from handlers.pushes import PushBudget
from handlers.reminders.budget import (
    QUOTA_REASON,
    Push,
    kind_value,
    month_of,
    within_budget,
)
from handlers.reminders.rules import CHECKIN, COMEBACK, FOLLOWUP, GOAL, INACTIVE, LADDER, STUCK
from storage.models import Nudge, PushMonth
from storage.models.nudges import PLANNED, SKIPPED
from tests.drivers.chat import RecordingChannel, make_app, t
from tests.drivers.reminders import Profile, World, bkk
from tests.drivers.working_group import make_admin

LINE = "line"


class QuotaChannel(RecordingChannel):
    """A recording channel whose platform counts pushes against a monthly quota;
    every message it is given counts as one push (as a nudge would)."""

    def __init__(self, name: str, quota: int, used: int = 0, nudge_limit: int | None = None):
        super().__init__(name)
        self.quota, self.used = quota, used
        self.nudge_limit = quota if nudge_limit is None else nudge_limit

    async def push_budget(self) -> PushBudget | None:
        return PushBudget(quota=self.quota, used=self.used, nudge_limit=self.nudge_limit)

    async def send(self, message: OutboundMessage, progress: Progress = no_progress) -> None:
        await super().send(message, progress)
        self.used += 1


# The people of the test, most valuable first, and what their one slot (Tuesday
# 8 December 2026, 07:30; the 7th makes up for a holiday) carries.
PEOPLE = {
    "plan_a": Profile("plan_a"),  # a check-in quoting the if-then plan
    "plan_b": Profile("plan_b"),
    "goal": Profile("goal", plan=None, goals=(("word", date(2026, 12, 9)),)),  # + checkin
    "stuck": Profile("stuck", plan=None, step_started=bkk(25, 9, month=11)),  # + checkin
    "silent": Profile("silent", last_active=bkk(1, 10)),  # inactive only
    "plain": Profile("plain", plan=None),  # a check-in with no plan to quote
}
ORDER = list(PEOPLE)
KINDS = {
    "plan_a": {CHECKIN},
    "plan_b": {CHECKIN},
    "goal": {CHECKIN, GOAL},
    "stuck": {CHECKIN, STUCK},
    "silent": {INACTIVE},
    "plain": {CHECKIN},
}


async def line_world(sqlite_url, clock, channel: RecordingChannel):
    clock.set(bkk(8, 6))
    app = await make_app(sqlite_url, clock)
    app.add_channel(channel)
    world = World(app, channel)
    for user, profile in PEOPLE.items():
        await world.add(profile, user)
    return app, world


async def nudges_by_user(app, world, *, followups: bool = False) -> dict[str, list[Nudge]]:
    """Each person's nudges of their slot, or (`followups`) the follow-ups of them."""
    users = {pid: user for user, pid in world.ids.items()}
    async with app.sessions() as session:
        rows = (await session.exec(select(Nudge).order_by(Nudge.id))).all()
    found: dict[str, list[Nudge]] = {user: [] for user in world.ids}
    for row in rows:
        if (row.kind == FOLLOWUP) == followups:
            found[users[row.person_id]].append(row)
    return found


# Each check-in comes with a follow-up, a push of its own worth a plain check-in and
# due two hours later: with six pushes or fewer left, every follow-up is set aside.
FOLLOWUPS = sum(1 for kinds in KINDS.values() if CHECKIN in kinds)


async def month_record(app) -> PushMonth | None:
    async with app.sessions() as session:
        return (await session.exec(select(PushMonth))).first()


def test_the_value_order_and_unknown_kinds_last():
    assert kind_value(CHECKIN, has_plan=True) == kind_value(COMEBACK, has_plan=False)
    order = [
        kind_value(CHECKIN, has_plan=True),
        kind_value(GOAL, has_plan=True),
        kind_value(STUCK, has_plan=True),
        kind_value(INACTIVE, has_plan=True),
        kind_value(CHECKIN, has_plan=False),
        kind_value("recall", has_plan=True),
    ]
    assert order == sorted(order, reverse=True) and len(set(order)) == len(order)
    # A follow-up is worth a plain check-in; the notice that reminders paused comes
    # right after the first group, before a goal date.
    assert kind_value(FOLLOWUP, has_plan=True) == kind_value(CHECKIN, has_plan=False)
    assert kind_value(CHECKIN, has_plan=True) > kind_value(LADDER, has_plan=False)
    assert kind_value(LADDER, has_plan=False) > kind_value(GOAL, has_plan=False)

    due = bkk(7, 7)
    pushes = [
        Push(1, "s", due, frozenset({"recall"}), (1,)),
        Push(2, "s", due, frozenset({CHECKIN}), (2,), has_plan=False),
        Push(3, "s", due, frozenset({CHECKIN, STUCK}), (3, 4), has_plan=False),
        Push(4, "s", due, frozenset({COMEBACK}), (5,)),
        Push(5, "s", bkk(7, 9), frozenset({CHECKIN}), (6,), has_plan=True),
        Push(6, "s", bkk(7, 8), frozenset({CHECKIN}), (7,), has_plan=True),
    ]
    kept, dropped = within_budget(pushes, 3)
    assert [p.person_id for p in kept] == [4, 6, 5]  # equal worth: the earlier first
    assert [p.person_id for p in dropped] == [3, 2, 1]
    assert within_budget(pushes, -1) == ([], within_budget(pushes, 0)[1])


def test_the_month_is_the_local_calendar_month():
    new_year = datetime(2026, 12, 31, 17, 0, tzinfo=UTC)  # 1 January 2027, 00:00 in Bangkok
    assert month_of(new_year, "Asia/Bangkok").key == "2027-01"
    december = month_of(new_year - timedelta(seconds=1), "Asia/Bangkok")
    assert december.key == "2026-12"
    assert (december.start, december.end) == (bkk(1, 0), new_year)


@pytest.mark.parametrize("left", [0, 2, 3, 5, 6])
async def test_a_short_budget_drops_the_lower_value_nudges_first(sqlite_url, clock, left):
    channel = QuotaChannel(LINE, quota=100, used=100 - left)
    app, world = await line_world(sqlite_url, clock, channel)
    await app.nudges.plan()

    nudges = await nudges_by_user(app, world)
    assert {user: {n.kind for n in rows} for user, rows in nudges.items()} == KINDS
    kept, dropped = ORDER[:left], ORDER[left:]
    for user in kept:
        assert {(n.status, n.reason) for n in nudges[user]} == {(PLANNED, None)}, user
    for user in dropped:
        assert {(n.status, n.reason) for n in nudges[user]} == {(SKIPPED, QUOTA_REASON)}, user
    followups = await nudges_by_user(app, world, followups=True)
    assert {u for u, rows in followups.items() if rows} == {u for u in ORDER if u != "silent"}
    assert {(n.status, n.reason) for rows in followups.values() for n in rows} == {
        (SKIPPED, QUOTA_REASON)
    }
    # 6 people, 8 nudges: a slot's nudges leave as one push, so 6 pushes fit 6
    record = await month_record(app)
    assert record is not None and record.month == "2026-12"
    assert (record.quota, record.used, record.planned, record.dropped) == (
        100,
        100 - left,
        left,
        len(dropped) + FOLLOWUPS,
    )

    await world.run(bkk(8, 7), bkk(8, 9))
    assert {item.user for item in world.received} == set(kept)
    assert channel.used == 100  # exactly the pushes that were left
    await app.close()


async def test_nudges_already_planned_count_and_give_way_to_better_ones(database_url, clock):
    channel = QuotaChannel(LINE, quota=100, used=94)  # six left: everyone fits
    app, world = await line_world(database_url, clock, channel)
    await app.nudges.plan()
    assert (await month_record(app)).planned == 6
    assert all(
        n.status == PLANNED for rows in (await nudges_by_user(app, world)).values() for n in rows
    )

    channel.used = 97  # other pushes went out meanwhile: three left for six planned
    clock.advance(minutes=5)
    await app.nudges.plan()
    nudges = await nudges_by_user(app, world)
    assert [u for u in ORDER if nudges[u][0].status == PLANNED] == ORDER[:3]
    assert [u for u in ORDER if nudges[u][0].reason == QUOTA_REASON] == ORDER[3:]
    record = await month_record(app)
    assert (record.used, record.planned, record.dropped) == (97, 3, 3 + FOLLOWUPS)

    clock.advance(minutes=5)
    await app.nudges.plan()  # nothing more to set aside: the dropped count stays
    assert (await month_record(app)).dropped == 3 + FOLLOWUPS
    await app.close()


async def test_nudges_waiting_in_the_outbox_take_their_pushes_first(sqlite_url, clock):
    channel = QuotaChannel(LINE, quota=100, used=94)  # six left: Tuesday's six fit
    app, world = await line_world(sqlite_url, clock, channel)
    await app.nudges.plan()
    clock.set(bkk(8, 7, 31))
    report = await app.nudges.send()  # written to the outbox, not yet pushed
    assert report.messages == 6 and channel.used == 94

    clock.set(bkk(9, 6))  # Wednesday's slots: LINE still says six left, all of them spoken for
    await app.nudges.plan()
    async with app.sessions() as session:
        wednesday = (
            await session.exec(select(Nudge).where(Nudge.slot.startswith("2026-12-09")))
        ).all()
    assert wednesday and {(n.status, n.reason) for n in wednesday} == {(SKIPPED, QUOTA_REASON)}
    record = await month_record(app)
    assert (record.used, record.planned) == (94, 6)

    await app.delivery.drain([LINE])
    assert channel.used == 100
    await app.close()


async def test_the_nudge_share_of_the_quota_is_the_limit(sqlite_url, clock):
    # quota 100, 90 for nudges, 88 used: two left although the quota has twelve
    channel = QuotaChannel(LINE, quota=100, used=88, nudge_limit=90)
    app, world = await line_world(sqlite_url, clock, channel)
    await app.nudges.plan()
    nudges = await nudges_by_user(app, world)
    assert [u for u in ORDER if nudges[u][0].status == PLANNED] == ORDER[:2]
    await app.close()


async def test_a_channel_without_a_quota_is_unlimited(sqlite_url, clock):
    channel = RecordingChannel(LINE)  # push_budget() is None: no monthly limit
    assert await channel.push_budget() is None
    app, world = await line_world(sqlite_url, clock, channel)
    await app.nudges.plan()
    nudges = await nudges_by_user(app, world)
    assert all(n.status == PLANNED for rows in nudges.values() for n in rows)
    assert await month_record(app) is None
    await world.run(bkk(8, 7), bkk(8, 9))
    assert {item.user for item in world.received} == set(ORDER)
    await app.close()


async def test_people_on_another_channel_do_not_count_against_the_quota(sqlite_url, clock):
    channel = QuotaChannel(LINE, quota=100, used=99)  # one push left
    app, world = await line_world(sqlite_url, clock, channel)
    other = RecordingChannel("test")
    app.add_channel(other)
    elsewhere = World(app, other)
    for user in ("t1", "t2"):
        await elsewhere.add(Profile(user, plan=None), user)
    await app.nudges.plan()
    async with app.sessions() as session:
        rows = (await session.exec(select(Nudge))).all()
    theirs = [n for n in rows if n.person_id in set(elsewhere.ids.values())]
    assert len(theirs) == 2 * 2 and all(n.status == PLANNED for n in theirs)  # with follow-ups
    assert sum(1 for n in rows if n.status == PLANNED) == 1 + 2 * 2
    await app.close()


async def test_a_short_quota_is_what_the_next_planning_round_sees(sqlite_url, clock):
    """The planner's fit tells the best hour which channels are short: LINE here,
    with three pushes left for six people, and not the channel without a quota;
    when the quota is topped up, the next round sees it ample again."""
    channel = QuotaChannel(LINE, quota=100, used=97)
    app, world = await line_world(sqlite_url, clock, channel)
    app.add_channel(RecordingChannel("test"))
    assert app.nudges.short() == frozenset()  # nothing fitted yet
    await app.nudges.plan()
    assert app.nudges.short() == {LINE}
    # nothing more is set aside, but what is left is all spoken for: still short
    # (skipping days does not at once make the quota look ample again)
    clock.advance(minutes=5)
    await app.nudges.plan()
    assert app.nudges.short() == {LINE}
    channel.quota = channel.nudge_limit = 1_000
    clock.advance(minutes=5)
    await app.nudges.plan()
    assert app.nudges.short() == frozenset()
    await app.close()


async def test_only_people_on_the_short_channel_may_skip_a_day(sqlite_url, clock):
    """A person reached on a channel whose quota is short may have a day skipped
    ("not_today") when an answer is unlikely; the same person elsewhere may not."""
    from jobs.nudge_plan import plan_people
    from storage.db import transaction
    from storage.models import BestHourCount, BestHourDay, ReminderPreference

    channel = RecordingChannel(LINE)
    app, world = await line_world(sqlite_url, clock, channel)
    pid = world.ids["plain"]
    async with transaction(app.sessions) as session:
        pref = await session.get(ReminderPreference, pid)
        pref.time_fixed = False  # the coach chooses the hour
        session.add(pref)
        for hour in (7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20):
            for minute in (0, 30):
                session.add(
                    BestHourCount(
                        person_id=pid,
                        at=datetime(2026, 1, 1, hour, minute).time(),
                        successes=0,
                        failures=40,
                    )
                )

    async def reasons(short_channels) -> set[str]:
        async with transaction(app.sessions) as session:
            await plan_people(
                session,
                [pid],
                now=clock.now(),
                th=app.policy.nudges,
                horizon=app.nudges.tuning.lookahead,
                short_channels=short_channels,
            )
            rows = (
                await session.exec(select(BestHourDay.reason).where(BestHourDay.person_id == pid))
            ).all()
            for row in (
                await session.exec(select(BestHourDay).where(BestHourDay.person_id == pid))
            ).all():
                await session.delete(row)
        return set(rows)

    assert "not_today" not in await reasons({"telegram"})
    assert await reasons({LINE}) == {"not_today"}
    await app.close()


async def test_summary_shows_the_months_quota_used_and_planned(sqlite_url, clock):
    channel = QuotaChannel(LINE, quota=300, used=297)  # three left for six
    app, world = await line_world(sqlite_url, clock, channel)
    staff_room = RecordingChannel("test")
    app.add_channel(staff_room)
    admin = await make_admin(app, staff_room)  # in the demo agency, like the people on LINE
    await app.nudges.plan()

    [reply, *_] = await admin.say("/summary")
    line = t(app, "admin.pushes_line", channel="LINE", used=297, quota=300, planned=3)
    assert line in reply.text
    assert t(app, "admin.pushes_dropped", dropped=3 + FOLLOWUPS) in reply.text
    assert reply.card is not None
    [row] = [r for r in reply.card.rows if r.label == t(app, "admin.card_pushes", channel="LINE")]
    assert row.value == t(app, "admin.card_pushes_value", used=297, quota=300, planned=3)
    assert row.bar == pytest.approx(297 / 300)

    past = (await admin.say("/summary 2569"))[0].text  # another fiscal year: no month's pushes
    assert line not in past
    await app.close()


async def test_summary_of_an_agency_without_quota_people_has_no_push_line(sqlite_url, clock):
    clock.set(bkk(8, 6))
    app = await make_app(sqlite_url, clock)
    staff_room = RecordingChannel("test")
    app.add_channel(staff_room)
    admin = await make_admin(app, staff_room)
    async with app.sessions() as session:  # another deployment's record: not this agency's
        session.add(PushMonth(channel=LINE, month="2026-12", quota=300, used=10, planned=5))
        await session.commit()
    [reply, *_] = await admin.say("/summary")
    assert "📮" not in reply.text
    assert not [r for r in reply.card.rows if "LINE" in r.label]
    await app.close()
