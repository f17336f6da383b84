"""One person flooding the bot gets one polite answer, the rest of the flood is
dropped before the database, and everyone else's replies stay about as fast."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid

from sqlmodel import func, select

from bot.flood import FloodGate, Verdict
from handlers.messages import Incoming
from storage.models import OutboxMessage
from tests.drivers.chat import Person, RecordingChannel, make_app, t
from tests.drivers.journey import onboard


def test_the_bucket_lets_a_burst_through_warns_once_then_drops_and_refills():
    now = [0.0]
    gate = FloodGate(burst=3, per_second=1.0, monotonic=lambda: now[0])
    verdicts = [gate.check("line", "U1") for _ in range(6)]
    assert verdicts == [Verdict.PASS] * 3 + [Verdict.WARN, Verdict.DROP, Verdict.DROP]
    assert gate.check("line", "U2") is Verdict.PASS, "one person's flood is theirs alone"
    now[0] += 1.0
    assert gate.check("line", "U1") is Verdict.PASS  # one token back per second
    assert gate.check("line", "U1") is Verdict.DROP  # still the same flood: no second warning
    now[0] += 10.0
    assert [gate.check("line", "U1") for _ in range(4)][-1] is Verdict.WARN  # a new flood


def test_the_gate_forgets_the_least_recent_people_beyond_its_bound():
    gate = FloodGate(burst=1, per_second=0.001, people=2, monotonic=lambda: 0.0)
    gate.check("line", "a")
    gate.check("line", "b")
    gate.check("line", "c")
    assert gate.check("line", "a") is Verdict.PASS  # forgotten, so a fresh bucket


def message(user: str, text: str) -> Incoming:
    return Incoming(
        channel="test",
        user_id=user,
        chat_id=user,
        kind="text",
        text=text,
        event_id=uuid.uuid4().hex,
    )


async def timed_turns(app, people: list[Person], rounds: int) -> list[float]:  # noqa: ANN001
    """Each person sends `rounds` messages one after another; the latency of each."""
    took: list[float] = []

    async def one(person: Person) -> None:
        for _ in range(rounds):
            start = time.perf_counter()
            await app.handle(message(person.user, "/progress"))
            took.append(time.perf_counter() - start)

    await asyncio.gather(*(one(person) for person in people))
    return took


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


async def test_a_flood_of_500_messages_is_answered_once_and_others_keep_their_speed(sqlite_url):
    app = await make_app(sqlite_url, dlcoach_flood_burst=10, dlcoach_flood_per_second=1.0)
    channel = RecordingChannel()
    app.add_channel(channel)
    try:
        people = [Person(app, channel) for _ in range(8)]
        for person in people:
            await onboard(person)
        app.turn.flood = FloodGate(10, 1.0)  # fresh buckets: onboarding used tokens
        await timed_turns(app, people, 2)  # warm up
        app.turn.flood = FloodGate(10, 1.0)
        baseline = p95(await timed_turns(app, people, 8))
        app.turn.flood = FloodGate(10, 1.0)

        flooder = "flooder"
        flood = [app.handle(message(flooder, f"spam {n}")) for n in range(500)]
        results, during = await asyncio.gather(asyncio.gather(*flood), timed_turns(app, people, 8))
        assert p95(during) <= 2 * baseline + 0.05, (baseline, p95(during))

        async with app.sessions() as session:
            rows = (
                await session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == flooder))
            ).all()
            answered = (
                await session.exec(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.chat_id == flooder)
                )
            ).one()
        assert answered == len(rows) <= 11, "the burst, plus one polite answer"
        slow_down = t(app, "common.slow_down")
        texts = [reply["text"] for row in rows for reply in row.payload]
        assert texts.count(slow_down) == 1
        assert sum(1 for written in results if written) == len(rows)
    finally:
        await app.close()
