"""The best hour through the real planner, rules, sender and delivery, on a fake clock.

Simulated working days from Monday 11 January 2027 (no Thai public holiday in
the weeks used). Each day the clock stops before the first candidate hour
(the coach decides the day), at every candidate hour (planning and sending),
and half an hour after it (the answers). A simulated person answers a
message (a check-in, or the follow-up of one they left unanswered) with a
probability that depends on the hour it came at; draws are seeded, so every
run is the same. The ladder's pause after unanswered reminders is set out of
reach in these simulations (they measure the learner, which tries unlikely
hours on purpose), except in the one that checks the two together.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from handlers.messages import Incoming
from handlers.reminders.best_hour import DEFAULT_POLICY, NOON
from handlers.reminders.rules import CHECKIN, FOLLOWUP, LADDER
from storage.db import transaction
from storage.models import BestHourCount, BestHourDay, ReminderPreference
from tests.drivers.chat import RecordingChannel, make_app
from tests.drivers.reminders import Profile, World

BANGKOK = ZoneInfo("Asia/Bangkok")
FIRST_DAY = date(2027, 1, 11)  # a Monday
HOURS = DEFAULT_POLICY.candidates


def local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=BANGKOK).astimezone(UTC)


def working_days(weeks: int) -> list[date]:
    days = [FIRST_DAY + timedelta(days=n) for n in range(7 * weeks)]
    return [d for d in days if d.weekday() < 5]


def near(hidden: time, high: float = 0.9, low: float = 0.05) -> Callable[[time], float]:
    """Answers with probability `high` at `hidden`, `low` at any other hour."""
    return lambda at: high if at == hidden else low


@dataclass
class Got:
    user: str
    day: date
    at: time  # local time it arrived
    text: str
    kinds: frozenset[str] = frozenset()


@dataclass
class Sim:
    """A world of people, some with a hidden answering behaviour, and the ticks."""

    world: World
    answer: dict[str, Callable[[time], float]] = field(default_factory=dict)
    got: list[Got] = field(default_factory=list)
    seen: int = 0
    budget_short: bool = False

    async def add(self, profile: Profile, *, coach: bool, answer: Callable[[time], float]) -> str:
        user = await self.world.add(profile, user=profile.name)
        self.answer[user] = answer
        if coach:
            async with transaction(self.world.app.sessions) as session:
                pref = await session.get(ReminderPreference, self.world.ids[user])
                assert pref is not None
                pref.time_fixed = False
                pref.time_local = DEFAULT_POLICY.start
                session.add(pref)
        return user

    async def tick(self, moment: datetime) -> list[Got]:
        app = self.world.app
        app.clock.set(moment)
        jobs = app.nudges.with_worker("sim")
        jobs.budget_short = lambda: {self.world.channel.name} if self.budget_short else ()
        await jobs.plan()
        report = await jobs.send()
        if report.messages:
            await app.delivery.drain([self.world.channel.name])
        new = []
        for message in self.world.channel.sent[self.seen :]:
            if message.kind != "nudge":
                continue
            when = moment.astimezone(BANGKOK)
            for reply in message.replies:
                kinds = frozenset(reply.extra.get("kinds", ()))
                new.append(Got(message.chat_id, when.date(), when.time(), reply.text, kinds))
        self.seen = len(self.world.channel.sent)
        self.got.extend(new)
        return new

    async def reply(self, user: str) -> None:
        await self.world.app.handle(
            Incoming(
                channel=self.world.channel.name,
                user_id=user,
                chat_id=user,
                kind="choice",
                choice="go:continue",
                text="",
                event_id=uuid.uuid4().hex,
            )
        )

    async def day(self, day: date) -> None:
        """One working day: decide, then each candidate hour and its answers."""
        await self.tick(local(day, time(5, 30)))
        for at in HOURS:
            arrived = await self.tick(local(day, at))
            self.world.app.clock.set(local(day, at) + timedelta(minutes=30))
            for got in arrived:
                rng = random.Random(f"{got.user}:{day.isoformat()}")
                if rng.random() < self.answer[got.user](got.at):
                    await self.reply(got.user)
            await self.world.app.delivery.drain([self.world.channel.name])

    async def usual(self, user: str) -> tuple[time | None, bool]:
        async with self.world.app.sessions() as session:
            pref = await session.get(ReminderPreference, self.world.ids[user])
            assert pref is not None
            return pref.time_local, pref.time_fixed

    def times(self, user: str) -> list[tuple[date, time]]:
        """When the person's check-ins came (not their follow-ups)."""
        return [(g.day, g.at) for g in self.got if g.user == user and CHECKIN in g.kinds]

    def of_kind(self, user: str, kind: str) -> list[Got]:
        return [g for g in self.got if g.user == user and kind in g.kinds]


async def sim_world(tmp_path, clock, *, max_unanswered: int = 1000) -> Sim:  # noqa: ANN001
    app = await make_app(
        f"sqlite:///{tmp_path / 'dlcoach.db'}",
        clock,
        dlcoach_nudge_inactive_days=30,
        dlcoach_nudge_max_unanswered=max_unanswered,
    )
    channel = RecordingChannel()
    app.add_channel(channel)
    return Sim(World(app, channel))


def profile(name: str, **kw) -> Profile:  # noqa: ANN003
    start = local(FIRST_DAY, time(0, 0)) - timedelta(days=2)
    return Profile(name, step_started=start, last_active=start, **kw)


MOVED = "เราสังเกตว่าท่านมักตอบกลับราว"


async def test_the_check_in_moves_to_the_hidden_hour_and_the_person_is_told_once(tmp_path, clock):
    sim = await sim_world(tmp_path, clock)
    try:
        noon = await sim.add(profile("noon"), coach=True, answer=near(NOON))
        fixed = await sim.add(profile("fixed", time="07:30"), coach=False, answer=near(NOON))
        usual_by_day = []
        for day in working_days(4):
            await sim.day(day)
            usual_by_day.append((day, (await sim.usual(noon))[0]))
    finally:
        await sim.world.app.close()

    times = sim.times(noon)
    assert len(times) == 20  # one check-in every working day, never two
    assert len({d for d, _ in times}) == 20
    assert {at for _, at in times} <= set(HOURS)
    # it tried more than one hour, and settled on noon within three weeks
    assert len({at for _, at in times}) >= 2
    moved_on = next(day for day, usual in usual_by_day if usual == NOON)
    assert moved_on < FIRST_DAY + timedelta(weeks=3)
    assert all(usual == NOON for day, usual in usual_by_day if day >= moved_on)
    last_week = [at for d, at in times if d >= FIRST_DAY + timedelta(weeks=3)]
    assert last_week.count(NOON) >= 3
    # told once per move, in the check-in that came at the new hour
    told = [g for g in sim.got if g.user == noon and MOVED in g.text]
    moves = sum(1 for (_, a), (_, b) in zip(usual_by_day, usual_by_day[1:], strict=False) if a != b)
    moves += usual_by_day[0][1] != DEFAULT_POLICY.start
    assert len(told) == moves >= 1
    assert told[-1].at == NOON and "12:00" in told[-1].text
    # the person who fixed 07:30 keeps it: every check-in then, never a notice
    assert sim.times(fixed) and all(at == time(7, 30) for _, at in sim.times(fixed))
    assert not [g for g in sim.got if g.user == fixed and MOVED in g.text]
    assert await sim.usual(fixed) == (time(7, 30), True)


async def test_the_agency_prior_starts_a_newcomer_at_the_agencys_hour(tmp_path, clock):
    sim = await sim_world(tmp_path, clock)
    try:
        old = await sim.add(profile("old"), coach=True, answer=near(NOON))
        async with transaction(sim.world.app.sessions) as session:
            for at in HOURS:  # the agency's record: noon is answered, nothing else is
                won = 40 if at == NOON else 2
                session.add(
                    BestHourCount(
                        person_id=sim.world.ids[old], at=at, successes=won, failures=42 - won
                    )
                )
        new = await sim.add(profile("new"), coach=True, answer=lambda at: 0.0)
        for day in working_days(1):
            await sim.day(day)
    finally:
        await sim.world.app.close()
    # the prior is only a few tries' worth, so the newcomer is still explored,
    # but noon comes first more often than any other hour
    times = [at for _, at in sim.times(new)]
    assert len(times) == 5
    assert times.count(NOON) >= 2


async def test_not_today_only_when_the_budget_is_short_and_answers_are_unlikely(tmp_path, clock):
    sim = await sim_world(tmp_path, clock)
    try:
        silent = await sim.add(profile("silent"), coach=True, answer=lambda at: 0.0)
        # (in another agency, so that its record is not the silent one's prior)
        keen = await sim.add(profile("keen", open_agency=True), coach=True, answer=lambda at: 1.0)
        fixed = await sim.add(profile("fixed", time="09:00"), coach=False, answer=lambda at: 0.0)
        async with transaction(sim.world.app.sessions) as session:
            for user, won in ((silent, 0), (keen, 8)):
                for at in HOURS:
                    session.add(
                        BestHourCount(
                            person_id=sim.world.ids[user], at=at, successes=won, failures=8 - won
                        )
                    )
        days = working_days(1)
        await sim.day(days[0])  # quota fine: everyone gets their check-in
        sim.budget_short = True
        for day in days[1:3]:  # quota short: the silent one is skipped, nobody else
            await sim.day(day)
        sim.budget_short = False
        await sim.day(days[3])
        async with sim.world.app.sessions() as session:
            rows = (
                await session.exec(
                    select(BestHourDay.day, BestHourDay.reason).where(
                        BestHourDay.person_id == sim.world.ids[silent]
                    )
                )
            ).all()
    finally:
        await sim.world.app.close()
    assert [d for d, _ in sim.times(silent)] == [days[0], days[3]]
    assert [d for d, _ in sim.times(keen)] == days[:4]
    assert [d for d, _ in sim.times(fixed)] == days[:4]
    assert sorted(d for d, reason in rows if reason == "not_today") == days[1:3]


async def test_a_seeded_run_repeats_exactly(tmp_path, clock):
    runs = []
    for n in range(2):
        folder = tmp_path / str(n)
        folder.mkdir()
        sim = await sim_world(folder, clock)
        try:
            user = await sim.add(profile("p"), coach=True, answer=near(time(15, 0)))
            for day in working_days(2):
                await sim.day(day)
        finally:
            await sim.world.app.close()
        runs.append(sim.times(user))
    assert runs[0] == runs[1] and len(runs[0]) == 10


async def test_the_ladder_and_the_follow_up_go_by_the_coachs_hour(tmp_path, clock):
    sim = await sim_world(tmp_path, clock, max_unanswered=5)
    try:
        silent = await sim.add(profile("silent"), coach=True, answer=lambda at: 0.0)
        for day in working_days(2):
            await sim.day(day)
        pid = sim.world.ids[silent]
        async with sim.world.app.sessions() as session:
            counts = (
                await session.exec(select(BestHourCount).where(BestHourCount.person_id == pid))
            ).all()
    finally:
        await sim.world.app.close()
    days = working_days(2)
    # what the coach learned from: the five check-ins, not the pause notice, whose
    # answer would be a tap on resume
    assert sum(c.failures for c in counts) == 5 and sum(c.successes for c in counts) == 0
    checkins = sim.times(silent)
    # five check-ins with no answer, then the pause notice once, then nothing
    assert [d for d, _ in checkins] == days[:5]
    ladder = sim.of_kind(silent, LADDER)
    assert [(g.day, g.at) for g in ladder] == [(days[5], ladder[0].at)]
    assert ladder[0].at in HOURS and MOVED not in ladder[0].text
    assert all(g.day <= days[5] for g in sim.got if g.user == silent)
    # each follow-up came the day of its check-in, two hours or more after the
    # hour the coach chose for that day (the next tick of the simulation)
    at_of = dict(checkins)
    followups = sim.of_kind(silent, FOLLOWUP)
    assert followups
    for got in followups:
        checkin = datetime.combine(got.day, at_of[got.day])
        assert datetime.combine(got.day, got.at) - checkin >= timedelta(hours=2)
