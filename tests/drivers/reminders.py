"""A world of people for reminder tests: seeded straight into the database (fast),
and a driver that runs the reminder ticks on a fake clock like the scheduler
would, with some people answering their nudges."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.app import App
from handlers.messages import Incoming, Reply
from jobs.nudges import NudgeJobs
from storage.db import transaction
from storage.models import (
    Agency,
)
from tests.drivers.chat import RecordingChannel
from tests.drivers.seed import Reminders, Seeded, add_person

BANGKOK = ZoneInfo("Asia/Bangkok")
OPEN_AGENCY = "OPEN"  # an agency that allows nudges at weekends and on holidays


def bkk(day: int, hour: int = 0, minute: int = 0, month: int = 12) -> datetime:
    """A moment of December 2026 in Bangkok, as aware UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=BANGKOK).astimezone(UTC)


def hhmm(text: str) -> time:
    hour, minute = text.split(":")
    return time(int(hour), int(minute))


@dataclass(frozen=True)
class Profile:
    """One kind of person in the simulated week."""

    name: str
    time: str | None = "07:30"
    enabled: bool = True
    weekdays: str = "0,1,2,3,4"
    paused_until: date | None = None
    quiet: tuple[str, str] | None = None
    open_agency: bool = False
    tz: str = "Asia/Bangkok"
    step: int = 4
    step_started: datetime = field(default_factory=lambda: bkk(5, 9))
    last_active: datetime = field(default_factory=lambda: bkk(6, 10))
    completed: bool = False
    onboarded: bool = True
    account_active: bool = True
    plan: str | None = "เมื่อเปิดคอมพิวเตอร์ตอนเช้า ฉันจะฝึกใช้สไตล์ใน Word 15 นาที"
    plan_cue: str | None = None  # e.g. "friday": the plan is tied to that cue's weekday
    goals: tuple[tuple[str, date], ...] = ()
    answers: bool = False  # taps "continue" half an hour after each nudge
    ignored: int = 0
    last_inactive_due: datetime | None = None
    holdout: bool = False  # in the agency's hold-out group


async def ensure_open_agency(app: App) -> int:
    async with transaction(app.sessions) as session:
        found = (await session.exec(select(Agency).where(Agency.code == OPEN_AGENCY))).first()
        if found is not None:
            return found.id
        agency = Agency(
            code=OPEN_AGENCY, name="Open", nudge_on_weekends=True, nudge_on_holidays=True
        )
        session.add(agency)
        await session.flush()
        return agency.id


async def demo_agency(app: App) -> int:
    async with app.sessions() as session:
        return (await session.exec(select(Agency).where(Agency.code == "DEMO"))).one().id


async def seed(app: App, profile: Profile, user: str, channel: str = "test") -> int:
    """Create one person as the profile says; returns the person's id."""
    agency_id = await (ensure_open_agency(app) if profile.open_agency else demo_agency(app))
    reminders = Reminders(
        enabled=profile.enabled,
        time_local=hhmm(profile.time) if profile.time else None,
        weekdays=profile.weekdays,
        paused_until=profile.paused_until,
        quiet=(hhmm(profile.quiet[0]), hhmm(profile.quiet[1])) if profile.quiet else None,
    )
    spec = Seeded(
        name=f"คน{user}",
        agency_id=agency_id,
        joined_at=profile.last_active - timedelta(days=30),
        last_active_at=profile.last_active,
        step=profile.step,
        step_started_at=profile.step_started,
        started_at=profile.step_started - timedelta(days=10),
        tz=profile.tz,
        onboarded=profile.onboarded,
        completed=profile.completed,
        plan=profile.plan,
        plan_cue=profile.plan_cue,
        plan_weekday=_cue_weekday(app, profile.plan_cue),
        goals=profile.goals,
        channel=channel,
        user=user,
        account_active=profile.account_active,
        reminders=reminders,
        ignored=profile.ignored,
        last_inactive_due=profile.last_inactive_due,
        holdout=profile.holdout,
    )
    async with transaction(app.sessions) as session:
        return await add_person(session, spec)


def _cue_weekday(app: App, cue_id: str | None) -> int | None:
    cue = next((c for c in app.content.groups.plan_cues if c.id == cue_id), None)
    return cue.weekday if cue is not None else None


@dataclass
class Received:
    """A nudge message as the person's phone got it."""

    user: str
    at: datetime
    reply: Reply

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(self.reply.extra.get("kinds", ()))


@dataclass
class World:
    """The app, its channel, the people, and the clock-driven ticks."""

    app: App
    channel: RecordingChannel
    profiles: dict[str, Profile] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    _seen: int = 0
    _to_answer: list[str] = field(default_factory=list)

    async def add(self, profile: Profile, user: str | None = None) -> str:
        user = user or uuid.uuid4().hex[:8]
        self.ids[user] = await seed(self.app, profile, user, self.channel.name)
        self.profiles[user] = profile
        return user

    def switch(self, app: App, channel: RecordingChannel) -> None:
        """Carry on with a new App on the same database (a restart)."""
        self.app, self.channel, self._seen = app, channel, 0

    async def tick(self, ticks: NudgeJobs, *, plan: bool) -> None:
        """One scheduler tick: answers due, planning (when asked), sending, delivery."""
        answered = bool(self._to_answer)
        for user in self._to_answer:
            await self.app.handle(
                Incoming(
                    channel=self.channel.name,
                    user_id=user,
                    chat_id=user,
                    kind="choice",
                    choice="go:continue",
                    text="",
                    event_id=uuid.uuid4().hex,
                )
            )
        self._to_answer = []
        if plan:
            await ticks.plan()
        report = await ticks.send()
        if answered or report.messages:  # otherwise the outbox holds nothing new
            await self.app.delivery.drain([self.channel.name])
        now = self.app.clock.now()
        for message in self.channel.sent[self._seen :]:
            if message.kind != "nudge":
                continue
            for reply in message.replies:
                self.received.append(Received(message.chat_id, now, reply))
            if self.profiles[message.chat_id].answers:
                self._to_answer.append(message.chat_id)
        self._seen = len(self.channel.sent)

    async def run(
        self,
        start: datetime,
        end: datetime,
        *,
        step: timedelta = timedelta(minutes=30),
        plan_every: timedelta = timedelta(hours=6),
        worker: str = "sim",
    ) -> None:
        """Tick from `start` to `end` (exclusive), as the scheduler would."""
        clock = self.app.clock
        ticks = self.app.nudges.with_worker(worker)
        moment = start
        while moment < end:
            clock.set(moment)
            await self.tick(ticks, plan=(moment - start) % plan_every == timedelta(0))
            moment += step

    def table(self) -> dict[str, list[tuple[date, frozenset[str]]]]:
        """What each person received: (their local date, kinds), in order."""
        got: dict[str, list[tuple[date, frozenset[str]]]] = {user: [] for user in self.profiles}
        for item in self.received:
            tz = ZoneInfo(self.profiles[item.user].tz)
            got[item.user].append((item.at.astimezone(tz).date(), item.kinds))
        return got
