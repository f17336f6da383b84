"""The outbox: claims are exclusive, ordered per chat, leased (and renewed), a
platform outage is waited out, and only permanent errors and bugs fail a row."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from datetime import timedelta

from sqlmodel import select

from bot.channels.base import Channel, PermanentFailure, RecipientBlocked, RetryLater
from bot.delivery import backoff, sender_gone
from handlers.messages import Reply
from storage import outbox as queries
from storage.db import transaction
from storage.models import ChannelAccount, OutboxMessage, Person
from tests.drivers.chat import START, make_app


class ScriptedChannel(Channel):
    """Fails or succeeds as told, and records what it sent."""

    name = "test"

    def __init__(self, script: list[Exception | None] | None = None, delay: float = 0) -> None:
        self.script = list(script or [])
        self.delay = delay
        self.sent: list[tuple[int, str]] = []

    async def send(self, message, progress=None):
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.script:
            outcome = self.script.pop(0)
            if outcome is not None:
                raise outcome
        self.sent.append((message.outbox_id, message.replies[0].text))


async def enqueue(app, chat: str, texts: list[str], account_id: int | None = None) -> None:
    now = app.clock.now()
    async with transaction(app.sessions) as session:
        for text in texts:
            session.add(
                OutboxMessage(
                    channel="test",
                    chat_id=chat,
                    account_id=account_id,
                    payload=[Reply(text=text).to_json()],
                    next_attempt_at=now,
                    created_at=now,
                )
            )


async def statuses(app) -> list[str]:
    async with app.sessions() as session:
        rows = (await session.exec(select(OutboxMessage).order_by(OutboxMessage.id))).all()
        return [r.status for r in rows]


async def test_several_senders_send_each_row_once(database_url, clock):
    app = await make_app(database_url, clock)
    channel = ScriptedChannel(delay=0.001)
    app.add_channel(channel)
    chats = [f"chat{i}" for i in range(40)]
    for chat in chats:
        await enqueue(app, chat, [f"{chat}-a", f"{chat}-b", f"{chat}-c"])
    senders = [app.delivery.with_worker(f"w{i}") for i in range(3)]
    await asyncio.gather(*(s.drain() for s in senders))
    texts = [text for _, text in channel.sent]
    assert len(texts) == len(set(texts)) == 120
    for chat in chats:  # per-chat order is kept
        mine = [t for t in texts if t.startswith(f"{chat}-")]
        assert mine == [f"{chat}-a", f"{chat}-b", f"{chat}-c"]
    assert set(await statuses(app)) == {"sent"}
    await app.close()


async def test_retry_later_backs_off_then_sends(database_url, clock):
    app = await make_app(database_url, clock)
    channel = ScriptedChannel([RetryLater("429", retry_after=30), RetryLater("502")])
    app.add_channel(channel)
    await enqueue(app, "c1", ["hello", "second"])
    delivery = app.delivery
    await delivery.drain()
    assert channel.sent == [] and await statuses(app) == ["pending", "pending"]
    clock.advance(seconds=29)
    assert await delivery.drain() == 0  # retry_after respected; "second" waits behind it
    clock.advance(seconds=2)
    await delivery.drain()
    assert channel.sent == []  # 502: backoff(2) = 2 s more
    clock.advance(seconds=backoff(2))
    await delivery.drain()
    assert [t for _, t in channel.sent] == ["hello", "second"]
    await app.close()


async def test_a_bug_fails_the_row_after_max_attempts(database_url, clock):
    app = await make_app(database_url, clock, dlcoach_outbox_max_attempts=3)
    channel = ScriptedChannel([ValueError("a bug")] * 5)
    app.add_channel(channel)
    await enqueue(app, "c1", ["doomed", "next one"])
    delivery = app.delivery
    for _ in range(5):
        await delivery.drain()
        clock.advance(minutes=10)
    assert await statuses(app) == ["failed", "sent"]
    assert [t for _, t in channel.sent] == ["next one"]
    await app.close()


async def test_a_failing_platform_never_fails_a_row_inside_the_horizon(database_url, clock):
    """500s for 20 hours: the row waits (back-off capped at 5 minutes), then goes."""
    app = await make_app(database_url, clock, dlcoach_outbox_max_attempts=3)
    channel = ScriptedChannel([RetryLater("500")] * 1000)
    app.add_channel(channel)
    await enqueue(app, "c1", ["patient", "behind it"])
    tries = 0
    while clock.now() - START < timedelta(hours=20):
        tries += await app.delivery.drain()
        clock.advance(minutes=1)
    assert await statuses(app) == ["pending", "pending"]
    assert tries >= 20 * 60 / 5 - 10, "retried at least every five minutes"
    channel.script.clear()
    clock.advance(minutes=5)
    await app.delivery.drain()
    assert await statuses(app) == ["sent", "sent"]
    assert [t for _, t in channel.sent] == ["patient", "behind it"]
    await app.close()


async def test_past_the_horizon_a_row_fails_and_the_chat_goes_on(sqlite_url, clock):
    app = await make_app(sqlite_url, clock, dlcoach_outbox_horizon_hours=1)
    channel = ScriptedChannel([RetryLater("503")] * 1000)
    app.add_channel(channel)
    await enqueue(app, "c1", ["too late"])
    for _ in range(70):
        await app.delivery.drain()
        clock.advance(minutes=1)
    assert await statuses(app) == ["failed"]
    async with app.sessions() as session:
        [row] = (await session.exec(select(OutboxMessage))).all()
    assert row.last_error.startswith("gave up after 1:00:00")
    await app.close()


async def test_blocked_recipient_deactivates_account(database_url, clock):
    app = await make_app(database_url, clock)
    async with transaction(app.sessions) as session:
        person = Person(consent_version="t")
        session.add(person)
        await session.flush()
        account = ChannelAccount(person_id=person.id, channel="test", external_id="u", chat_id="u")
        session.add(account)
        await session.flush()
        account_id = account.id
    app.add_channel(ScriptedChannel([RecipientBlocked("403")]))
    await enqueue(app, "u", ["one", "two"], account_id=account_id)
    await app.delivery.drain()
    assert await statuses(app) == ["dropped", "dropped"]
    async with app.sessions() as session:
        stored = await session.get(ChannelAccount, account_id)
        assert stored.active is False and stored.inactive_reason == "blocked"
    await app.close()


async def test_permanent_failure_is_not_retried(sqlite_url, clock):
    app = await make_app(sqlite_url, clock)
    channel = ScriptedChannel([PermanentFailure("400 bad request")])
    app.add_channel(channel)
    await enqueue(app, "c", ["bad"])
    await app.delivery.drain()
    clock.advance(hours=1)
    await app.delivery.drain()
    assert await statuses(app) == ["failed"] and channel.sent == []
    await app.close()


async def test_a_dead_senders_lease_expires(database_url, clock):
    app = await make_app(database_url, clock)
    channel = ScriptedChannel()
    app.add_channel(channel)
    await enqueue(app, "c", ["orphan"])
    async with transaction(app.sessions) as session:
        claimed = await queries.claim(
            session,
            channels=["test"],
            now=clock.now(),
            worker="dead",
            lease=timedelta(seconds=60),
            limit=10,
        )
    assert len(claimed) == 1
    assert await app.delivery.drain() == 0  # still leased
    clock.advance(seconds=61)
    await app.delivery.drain()
    assert [t for _, t in channel.sent] == ["orphan"]
    await app.close()


async def test_a_slow_send_keeps_its_lease_by_renewing_it(database_url, clock):
    """The lease is short, the send is long: the sender's heartbeat keeps the row,
    so a second sender does not take it and nothing goes twice."""
    app = await make_app(database_url, clock, dlcoach_outbox_lease_seconds=1)
    channel = ScriptedChannel(delay=1.2)
    app.add_channel(channel)
    await enqueue(app, "c", ["slow"])
    first = asyncio.create_task(app.delivery.drain())
    await asyncio.sleep(0.2)
    clock.advance(seconds=5)  # far past the first lease
    await asyncio.sleep(0.5)  # a heartbeat has renewed it from the new "now"
    assert await app.delivery.with_worker("other").drain() == 0
    await first
    assert [t for _, t in channel.sent] == ["slow"]
    await app.close()


async def test_rows_of_a_stopped_process_are_freed_at_once(database_url, clock):
    """kill -9 leaves rows claimed; a restart on the same machine frees them without
    waiting for the lease. Rows of another machine wait for their lease."""
    app = await make_app(database_url, clock)
    channel = ScriptedChannel()
    app.add_channel(channel)
    finished = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await finished.wait()
    host = socket.gethostname()
    holders = {
        "dead pid": f"{host}:{finished.pid}:0badc0de:1",
        "our pid, earlier run": f"{host}:{os.getpid()}:0ldrun00:1",
        "other machine": "elsewhere:1:abcd:1",
    }
    for name, worker in holders.items():
        await enqueue(app, name, [name])
        async with transaction(app.sessions) as session:
            await queries.claim(
                session,
                channels=["test"],
                now=clock.now(),
                worker=worker,
                lease=timedelta(seconds=60),
                limit=1,
                chat_ids=[name],
            )
    assert not sender_gone(app.delivery.worker)
    await app.delivery.tick()
    assert sorted(t for _, t in channel.sent) == ["dead pid", "our pid, earlier run"]
    clock.advance(seconds=61)
    await app.delivery.tick()
    assert [t for _, t in channel.sent][-1] == "other machine"
    await app.close()


async def test_rows_wait_for_a_channel_that_is_not_running(sqlite_url):
    app = await make_app(sqlite_url)
    app.add_channel(ScriptedChannel())
    now = app.clock.now()
    async with transaction(app.sessions) as session:
        session.add(OutboxMessage(channel="line", chat_id="x", payload=[], next_attempt_at=now))
    assert await app.delivery.drain() == 0
    assert await statuses(app) == ["pending"]
    await app.close()


def test_backoff_is_bounded():
    assert [backoff(n) for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert backoff(50) == 300
    assert START.tzinfo is not None
