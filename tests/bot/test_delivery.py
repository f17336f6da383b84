"""The outbox: claims are exclusive, ordered per chat, leased, and failures are bounded."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import select

from bot.channels.base import Channel, PermanentFailure, RecipientBlocked, RetryLater
from bot.delivery import backoff
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


async def test_gives_up_after_max_attempts(database_url, clock):
    app = await make_app(database_url, clock, dlcoach_outbox_max_attempts=3)
    channel = ScriptedChannel([RetryLater("500")] * 5)
    app.add_channel(channel)
    await enqueue(app, "c1", ["doomed", "next one"])
    delivery = app.delivery
    for _ in range(5):
        await delivery.drain()
        clock.advance(minutes=10)
    assert await statuses(app) == ["failed", "sent"]
    assert [t for _, t in channel.sent] == ["next one"]
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
