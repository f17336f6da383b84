"""Delivery sends a claim's rows side by side (one row per chat), keeps each
chat's order, and a chat with a backlog never holds the others up."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import select

from bot.channels.base import Channel
from handlers.messages import Reply
from storage import outbox as queries
from storage.db import transaction
from storage.models import OutboxMessage
from tests.drivers.chat import make_app


class SlowChannel(Channel):
    """Takes a while per message and notes how many were in flight at once."""

    name = "test"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.in_flight = 0
        self.most = 0

    async def send(self, message, progress=None) -> None:  # noqa: ANN001
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        await asyncio.sleep(0.005)
        self.sent.append((message.chat_id, message.replies[0].text))
        self.in_flight -= 1


async def enqueue(app, rows: list[tuple[str, str]], delay: timedelta = timedelta(0)) -> None:  # noqa: ANN001
    now = app.clock.now()
    async with transaction(app.sessions) as session:
        for chat, text in rows:
            session.add(
                OutboxMessage(
                    channel="test",
                    chat_id=chat,
                    payload=[Reply(text=text).to_json()],
                    next_attempt_at=now + delay,
                    created_at=now,
                )
            )


async def test_rows_of_different_chats_go_together_and_each_chat_stays_in_order(
    database_url, clock
):
    app = await make_app(database_url, clock, dlcoach_outbox_concurrency=8)
    channel = SlowChannel()
    app.add_channel(channel)
    await enqueue(app, [(f"c{n % 10}", f"m{n // 10}") for n in range(30)])
    await app.delivery.drain()
    assert len(channel.sent) == 30 and channel.most > 1
    for chat in {c for c, _ in channel.sent}:
        assert [t for c, t in channel.sent if c == chat] == ["m0", "m1", "m2"]
    async with app.sessions() as session:
        statuses = {r.status for r in (await session.exec(select(OutboxMessage))).all()}
    assert statuses == {queries.SENT}
    await app.close()


async def test_a_chat_waiting_to_retry_does_not_hold_up_other_chats(database_url, clock):
    app = await make_app(database_url, clock)
    await enqueue(app, [("busy", f"b{n}") for n in range(10)], delay=timedelta(minutes=5))
    await enqueue(app, [("a", "a0"), ("b", "b0")])
    async with transaction(app.sessions) as session:
        rows = await queries.claim(
            session,
            channels=["test"],
            now=clock.now(),
            worker="w",
            lease=timedelta(seconds=60),
            limit=2,
        )
    assert [(r.chat_id, r.payload[0]["text"]) for r in rows] == [("a", "a0"), ("b", "b0")]
    await app.close()
