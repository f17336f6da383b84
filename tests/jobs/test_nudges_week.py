"""A simulated week for 100 people, checked against a table computed by hand,
and the same week with a restart (and a short downtime) in the middle.

The week is Monday 7 to Sunday 13 December 2026 in Bangkok. Monday 7 is a
Thai public holiday (substitute for King Bhumibol's birthday on Saturday 5)
and Thursday 10 is Constitution Day. Unless a profile says otherwise, people
are on step 4, wrote last on Sunday 6 at 10:00, entered their step on
Saturday 5 at 09:00, have reminders at 07:30 Monday to Friday, and belong to
the demo agency (no weekends, no holidays). Thresholds are the defaults:
inactive after 3 days, stuck after 7, goal announced 3 days ahead, back-off
2 then 4 days, silence after 3 ignored.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import select

from storage.models import Nudge
from storage.models.nudges import SENT, SKIPPED
from tests.drivers.chat import RecordingChannel, make_app
from tests.drivers.reminders import BANGKOK, Profile, World, bkk


def d(day: int) -> date:
    return date(2026, 12, day)


C, S, G, I = "checkin", "stuck", "goal", "inactive"  # noqa: E741

# name -> (profile, what the person receives: (local date, kinds)), reasoned out by hand.
WEEK: dict[str, tuple[Profile, list[tuple[date, set[str]]]]] = {
    # Mon 7 and Thu 10 are holidays, Sat/Sun weekend: Tue, Wed, Fri at 07:30.
    "engaged": (Profile("engaged", answers=True), [(d(8), {C}), (d(9), {C}), (d(11), {C})]),
    # Agency allows weekends and holidays, every weekday chosen: all seven days.
    # Step entered Sun 6 09:00, no progress since: stuck from Sun 13 09:00, so
    # the 20:00 slot of Sun 13 carries the stuck nudge too (one message).
    "everyday": (
        Profile(
            "everyday",
            time="20:00",
            weekdays="0,1,2,3,4,5,6",
            open_agency=True,
            step=2,
            plan=None,
            step_started=bkk(6, 9),
            answers=True,
        ),
        [(d(n), {C}) for n in range(7, 13)] + [(d(13), {C, S})],
    ),
    # On step 3 since Mon 30 Nov: stuck at the first slot (Tue 8 16:30), then not
    # again within 7 days.
    "stuck": (
        Profile(
            "stuck",
            time="16:30",
            step=3,
            plan=None,
            step_started=bkk(30, 9, month=11),
            answers=True,
        ),
        [(d(8), {C, S}), (d(9), {C}), (d(11), {C})],
    ),
    # A goal due Thu 10 is within 3 days on Tue 8 (Mon 7 is a holiday); the one
    # due on the 21st never is this week.
    "goal": (
        Profile(
            "goal",
            time="12:00",
            goals=(("word", d(10)), ("media", d(21))),
            answers=True,
        ),
        [(d(8), {C, G}), (d(9), {C}), (d(11), {C})],
    ),
    # Paused through Wed 9; Thu 10 is a holiday: only Fri 11.
    "paused": (Profile("paused", paused_until=d(9), answers=True), [(d(11), {C})]),
    # 12:00 is inside quiet hours 12:00-13:00: the slot moves to 13:00.
    "lunch_quiet": (
        Profile("lunch_quiet", time="12:00", quiet=("12:00", "13:00"), answers=True),
        [(d(8), {C}), (d(9), {C}), (d(11), {C})],
    ),
    # 22:00 inside quiet hours 21:00-06:00 that end the next day: no slot at all.
    "night_quiet": (Profile("night_quiet", time="22:00", quiet=("21:00", "06:00")), []),
    "completed": (Profile("completed", step=6, completed=True), []),
    "off": (Profile("off", enabled=False), []),
    # Mon/Wed/Fri only; Mon 7 is a holiday.
    "mwf": (
        Profile("mwf", time="08:30", weekdays="0,2,4", answers=True),
        [(d(9), {C}), (d(11), {C})],
    ),
    # 07:30 in Tokyo; Thai holidays still apply to the person's own dates.
    "tokyo": (
        Profile("tokyo", tz="Asia/Tokyo", answers=True),
        [(d(8), {C}), (d(9), {C}), (d(11), {C})],
    ),
    # Silent since Fri 4 10:00; every day allowed. Inactive from Mon 7 10:00:
    # first at Mon 12:00, next 2 days later (Wed), next 4 days later (Sun), then
    # nothing more (3 ignored).
    "silent_open": (
        Profile(
            "silent_open",
            time="12:00",
            weekdays="0,1,2,3,4,5,6",
            open_agency=True,
            last_active=bkk(4, 10),
        ),
        [(d(7), {I}), (d(9), {I}), (d(13), {I})],
    ),
    # Silent since Thu 3: first inactive nudge Tue 8 (Mon is a holiday); the
    # next one is due from Thu 10 (a holiday), so Fri 11; then not before Tue 15.
    "silent": (Profile("silent", last_active=bkk(3, 10)), [(d(8), {I}), (d(11), {I})]),
    # Silent since Thu 3, answers the first inactive nudge (Tue 8): active again,
    # so a check-in on Wed; its step has not moved since Thu 3 09:00, so on Fri
    # it is also stuck (8 days).
    "comes_back": (
        Profile(
            "comes_back",
            time="16:30",
            last_active=bkk(3, 10),
            step_started=bkk(3, 9),
            answers=True,
        ),
        [(d(8), {I}), (d(9), {C}), (d(11), {C, S})],
    ),
    # Three inactive nudges ignored already: silence until they write.
    "stopped": (
        Profile(
            "stopped",
            last_active=bkk(20, 10, month=11),
            ignored=3,
            last_inactive_due=bkk(30, 7, 30, month=11),
        ),
        [],
    ),
    "not_onboarded": (Profile("not_onboarded", onboarded=False), []),
    "blocked": (Profile("blocked", account_active=False), []),
}

START, END = bkk(7, 0), bkk(14, 0)


async def populate(world: World, people: int = 100) -> dict[str, str]:
    """`people` persons, cycling through the profiles; returns user -> profile name."""
    names = list(WEEK)
    owners = {}
    for index in range(people):
        name = names[index % len(names)]
        user = await world.add(WEEK[name][0], user=f"{name}-{index}")
        owners[user] = name
    return owners


def expected(owners: dict[str, str]) -> dict[str, list[tuple[date, frozenset[str]]]]:
    return {
        user: [(day, frozenset(kinds)) for day, kinds in WEEK[name][1]]
        for user, name in owners.items()
    }


async def sent_nudges(app) -> list[Nudge]:
    async with app.sessions() as session:
        return list((await session.exec(select(Nudge).where(Nudge.status == SENT))).all())


async def test_a_week_for_100_people_matches_the_hand_computed_table(database_url, clock):
    clock.set(START)
    app = await make_app(database_url, clock)
    channel = RecordingChannel()
    app.add_channel(channel)
    world = World(app, channel)
    owners = await populate(world)
    await world.run(START, END)
    assert world.table() == expected(owners)
    # On time: every nudge went at its slot's moment (the ticks fall on the slots).
    sent = await sent_nudges(app)
    assert sent and all(n.sent_at == n.due_at for n in sent)
    # One message per person and slot.
    slots = [(item.user, item.at) for item in world.received]
    assert len(slots) == len(set(slots))
    # Every message quotes the person's own plan, when they wrote one.
    for item in world.received:
        profile = world.profiles[item.user]
        if profile.plan:
            assert profile.plan in item.reply.text
        assert [c.id for c in item.reply.choices][0] == "go:continue"
        assert item.reply.essential is False
    # The lunch-quiet person heard at 13:00, not at 12:00.
    lunch = [
        i.at.astimezone(BANGKOK).strftime("%H:%M")
        for i in world.received
        if i.user.startswith("lunch")
    ]
    assert lunch and set(lunch) == {"13:00"}
    await app.close()


@pytest.mark.parametrize("down_for", [timedelta(0), timedelta(minutes=90)])
async def test_a_restart_mid_week_loses_none_and_doubles_none(database_url, clock, down_for):
    """Stop on Wednesday at 11:00; a new App on the same database carries on,
    right away or after 90 minutes (the 12:00 slot is then sent late, within
    the grace period)."""
    clock.set(START)
    first = await make_app(database_url, clock)
    channel = RecordingChannel()
    first.add_channel(channel)
    world = World(first, channel)
    owners = await populate(world, people=34)
    stop = bkk(9, 11)
    await world.run(START, stop)
    await first.close()

    restart = stop + down_for
    clock.set(restart)
    second = await make_app(database_url, clock)
    channel2 = RecordingChannel()
    second.add_channel(channel2)
    world.switch(second, channel2)
    await world.run(restart, END, worker="second")
    assert world.table() == expected(owners)
    sent = await sent_nudges(second)
    late = [n for n in sent if n.sent_at != n.due_at]
    assert all(n.sent_at - n.due_at <= timedelta(minutes=90) for n in late)
    assert bool(late) == bool(down_for)
    async with second.sessions() as session:
        skipped = (await session.exec(select(Nudge).where(Nudge.status == SKIPPED))).all()
    assert skipped == []
    await second.close()
