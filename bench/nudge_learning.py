"""Does nudging learn when to speak, and can the agency see whether it works?

Two figures (see bench/README.md):

1. The best hour. A synthetic agency of people, each with a hidden best hour
   (one of the candidate hours) and a hidden answer rate, runs for 12
   simulated weeks through the real pipeline: onboarding by chat, the planner,
   the rules, the sender and the outbox delivery, on a fake clock, into a
   recording channel, on SQLite. A person answers a check-in sent at hour h
   within half an hour with probability rate * closeness(h, best), else not.
   Three arms on fresh databases, same people, same seeds: the learner ("let
   the coach choose"), an oracle that fixed each person's hidden best hour,
   and a fixed-time baseline (everyone at 09:00). Printed per week: the answer
   rate of each arm, and the learner's as a ratio of the oracle's and of the
   baseline's.
2. The hold-out interval. Over 200 small simulated agencies, how often the
   95 % Newcombe interval for "share who completed, nudged minus hold-out"
   (statsmodels `confint_proportions_2indep(method="newcomb")`) covers the
   true effect. Fast path: outcomes are sampled per person (Bernoulli with the
   arm's true rate) without the pipeline; the hold-out arm is simulated here
   with the same statistics call the summary uses.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.app import build_app
from bot.channels.base import Channel, OutboundMessage, Progress, no_progress
from bot.config import Settings
from handlers.clock import FakeClock
from handlers.messages import Incoming
from handlers.reminders.best_hour import DEFAULT_POLICY

BANGKOK = ZoneInfo("Asia/Bangkok")
FIRST_DAY = date(2027, 1, 11)  # a Monday; weekends and Thai holidays get no slot
HOURS = DEFAULT_POLICY.candidates
BASELINE = time(9, 0)


class Recording(Channel):
    def __init__(self) -> None:
        self.name = "sim"
        self.sent: list[OutboundMessage] = []

    async def send(self, message: OutboundMessage, progress: Progress = no_progress) -> None:
        self.sent.append(message)


@dataclass(frozen=True)
class Hidden:
    """What only the simulation knows about one person."""

    user: str
    best: time
    rate: float

    def answers(self, at: time) -> float:
        hours = abs((at.hour * 60 + at.minute) - (self.best.hour * 60 + self.best.minute)) / 60
        return self.rate * math.exp(-((hours / 1.5) ** 2))


def agency(people: int, seed: int) -> list[Hidden]:
    rng = random.Random(seed)
    return [Hidden(f"u{n:03d}", rng.choice(HOURS), rng.uniform(0.5, 0.95)) for n in range(people)]


@dataclass
class Arm:
    name: str
    sent: dict[int, int] = field(default_factory=dict)  # week -> check-ins
    answered: dict[int, int] = field(default_factory=dict)

    def rate(self, weeks: range) -> float:
        sent = sum(self.sent.get(w, 0) for w in weeks)
        return sum(self.answered.get(w, 0) for w in weeks) / sent if sent else 0.0


def moment(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=BANGKOK).astimezone(UTC)


async def run_arm(name: str, people: list[Hidden], weeks: int, folder: Path) -> Arm:
    clock = FakeClock(moment(FIRST_DAY, time(0, 0)) - timedelta(days=3))
    app = build_app(
        Settings(
            database_url=f"sqlite:///{folder / (name + '.db')}",
            _env_file=None,
            dlcoach_flood_burst=0,
            dlcoach_nudge_inactive_days=365,  # the hour, not the inactivity ladder, is measured
        ),
        clock=clock,
    )
    await app.prepare()
    channel = Recording()
    app.add_channel(channel)
    arm = Arm(name)

    async def say(user: str, **kw: object) -> None:
        await app.handle(
            Incoming(channel="sim", user_id=user, chat_id=user, event_id=uuid.uuid4().hex, **kw)
        )

    try:
        for person in people:  # onboarding by chat, as a person would
            await say(person.user, kind="follow")
            await _tap(app, channel, say, person.user)  # accept
            await say(person.user, kind="text", text=f"ผู้ร่วม {person.user}")
            await _tap(app, channel, say, person.user)  # the demo agency
            await _tap(app, channel, say, person.user)  # its first unit
            await _tap(app, channel, say, person.user, "g:g3")
            if name == "learner":
                await _tap(app, channel, say, person.user, "t:auto")
            else:
                at = person.best if name == "oracle" else BASELINE
                await say(person.user, kind="text", text=at.strftime("%H:%M"))
        await app.delivery.drain(["sim"])
        seen = len(channel.sent)
        hidden = {p.user: p for p in people}
        for offset in range(weeks * 7):
            day = FIRST_DAY + timedelta(days=offset)
            week = offset // 7 + 1
            if day.weekday() >= 5:
                continue
            ticks = [time(5, 30), *HOURS]
            for at in ticks:
                clock.set(moment(day, at))
                await app.nudges.plan()
                await app.nudges.send()
                await app.delivery.drain(["sim"])
                arrived = [m for m in channel.sent[seen:] if m.kind == "nudge"]
                seen = len(channel.sent)
                clock.set(moment(day, at) + timedelta(minutes=30))
                for message in arrived:
                    person = hidden[message.chat_id]
                    arm.sent[week] = arm.sent.get(week, 0) + 1
                    rng = random.Random(f"{person.user}:{day.isoformat()}")
                    if rng.random() < person.answers(at):
                        arm.answered[week] = arm.answered.get(week, 0) + 1
                        await say(person.user, kind="choice", choice="go:continue", text="")
                await app.delivery.drain(["sim"])
                seen = len(channel.sent)
    finally:
        await app.close()
    return arm


async def _tap(app, channel: Recording, say, user: str, choice: str | None = None) -> None:  # noqa: ANN001
    """Tap a button of the person's latest question: `choice`, or the first one."""
    await app.delivery.drain(["sim"])
    asked = [
        r
        for m in channel.sent
        if m.chat_id == user
        for r in m.replies
        if r.choices or r.question_seq is not None
    ]
    question = asked[-1]
    picked = next((c for c in question.choices if c.id == choice), question.choices[0])
    await say(
        user, kind="choice", choice=picked.id, text=picked.label, question_seq=question.question_seq
    )


def coverage(agencies: int, size: int, holdout: float, seed: int) -> tuple[float, float]:
    """The share of agencies whose 95 % Newcombe interval covers the true effect."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    rng = random.Random(seed)
    covered = width = 0.0
    for _ in range(agencies):
        base = rng.uniform(0.10, 0.40)  # completion without the extra nudges
        effect = rng.uniform(0.0, 0.15)  # the hidden true effect of nudging
        held = sum(1 for _ in range(size) if rng.random() < holdout)
        nudged = size - held
        done_n = sum(1 for _ in range(nudged) if rng.random() < base + effect)
        done_h = sum(1 for _ in range(held) if rng.random() < base)
        low, high = confint_proportions_2indep(
            done_n, nudged, done_h, held, method="newcomb", compare="diff"
        )
        covered += low <= effect <= high
        width += high - low
    return covered / agencies, width / agencies


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20)
    parser.add_argument("--weeks", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--agencies", type=int, default=200)
    parser.add_argument("--agency-size", type=int, default=300)
    parser.add_argument("--holdout", type=float, default=0.10)
    args = parser.parse_args()

    people = agency(args.people, args.seed)
    with tempfile.TemporaryDirectory() as scratch:
        arms = {}
        for name in ("learner", "oracle", "fixed"):
            arms[name] = await run_arm(name, people, args.weeks, Path(scratch))
    learner, oracle, fixed = arms["learner"], arms["oracle"], arms["fixed"]
    print(f"best hour: {args.people} people, {args.weeks} weeks, seed {args.seed}")
    print("week  learner  oracle  fixed  learner/oracle  learner/fixed")
    for week in range(1, args.weeks + 1):
        w = range(week, week + 1)
        lr, orc, fx = learner.rate(w), oracle.rate(w), fixed.rate(w)
        print(
            f"{week:>4}  {lr:7.3f}  {orc:6.3f}  {fx:5.3f}  "
            f"{lr / orc if orc else 0:14.3f}  {lr / fx if fx else 0:13.3f}"
        )
    late = range(min(8, args.weeks), args.weeks + 1)
    lr, orc, fx = learner.rate(late), oracle.rate(late), fixed.rate(late)
    print(
        f"weeks {late.start}-{args.weeks}: learner/oracle {lr / orc if orc else 0:.3f}"
        f" (target >= 0.85), learner/fixed {lr / fx if fx else 0:.3f}"
    )
    share, width = coverage(args.agencies, args.agency_size, args.holdout, args.seed)
    print(
        f"hold-out interval: {args.agencies} agencies of {args.agency_size}, "
        f"{args.holdout:.0%} held out: coverage {share:.3f} (target 0.93-0.97), "
        f"mean width {width:.3f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
