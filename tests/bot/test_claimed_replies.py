"""Replies written already claimed by their turn: sent right after the commit
with no claim, one statement marks them sent, and a sender that dies first
leaves them to the claim loop once the lease ends."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlmodel import select

from handlers.messages import Incoming
from storage.models import OutboxMessage
from tests.drivers.chat import Person, RecordingChannel, make_app
from tests.drivers.journey import onboard
from tests.drivers.statements import counting

# One ordinary turn and its delivery: BEGIN, the event id, the person (account,
# person, latest journey round, state, nudge counter and the chat's newest row
# in one SELECT on SQLite; the state apart, FOR UPDATE, on PostgreSQL), the
# person's and the account's presence, the state, the reply row; then BEGIN
# and "sent".
# Before replies were claimed in their turn this was 18.
MOST_STATEMENTS = 9


@dataclass
class DeadSender:
    """Claims replies in the turn, then dies before sending them."""

    worker: str = "elsewhere:1:dead"
    lease: timedelta = timedelta(seconds=15)
    handed: list[OutboxMessage] = field(default_factory=list)
    waited: list[tuple[str, str]] = field(default_factory=list)

    def send_claimed(self, rows) -> None:  # noqa: ANN001
        self.handed.extend(row for row, _ in rows)

    def waiting(self, channel: str, chat_id: str) -> None:
        self.waited.append((channel, chat_id))


async def person_at_step1(database_url, clock):  # noqa: ANN001, ANN201
    app = await make_app(database_url, clock)
    channel = RecordingChannel()
    app.add_channel(channel)
    person = Person(app, channel)
    await onboard(person)
    return app, channel, person


def tap_next(person: Person) -> Incoming:
    question = person.question
    return Incoming(
        channel="test",
        user_id=person.user,
        chat_id=person.user,
        event_id=uuid.uuid4().hex,
        kind="choice",
        choice="next",
        text="next",
        question_seq=question.question_seq,
    )


async def rows(app) -> list[OutboxMessage]:  # noqa: ANN001
    async with app.sessions() as session:
        found = await session.exec(select(OutboxMessage).order_by(OutboxMessage.id))
        return list(found.all())


async def test_a_reply_goes_out_from_its_turn_in_few_statements(database_url, clock):
    app, channel, person = await person_at_step1(database_url, clock)
    app.turn.sender = app.delivery
    before = len(channel.sent)
    clock.advance(seconds=30)  # presence moves, as between two real messages
    with counting(app.engine) as seen:
        written = await app.handle(tap_next(person))
        await app.delivery.settle()
    assert len(channel.sent) == before + 1
    assert channel.sent[-1].outbox_id == written[-1]
    assert seen.count <= MOST_STATEMENTS, "\n".join(sql[:120] for sql, _ in seen.seen)
    last = (await rows(app))[-1]
    assert (last.status, last.attempts, last.claimed_until) == ("sent", 1, None)
    assert await app.delivery.drain() == 0  # nothing left for the claim loop
    await app.close()


async def test_a_claimed_reply_whose_sender_died_is_sent_after_its_lease(database_url, clock):
    app, channel, person = await person_at_step1(database_url, clock)
    dead = DeadSender()
    app.turn.sender = dead
    before = len(channel.sent)
    written = await app.handle(tap_next(person))
    assert [row.id for row in dead.handed] == written
    row = (await rows(app))[-1]
    assert (row.status, row.claimed_by) == ("sending", dead.worker)
    app.turn.sender = None
    assert await app.delivery.drain() == 0  # still leased to the dead sender
    assert len(channel.sent) == before
    clock.advance(seconds=16)
    assert await app.delivery.drain() == 1
    assert [m.outbox_id for m in channel.sent[before:]] == written  # once
    row = (await rows(app))[-1]
    assert (row.status, row.attempts) == ("sent", 2)
    await app.close()


async def test_a_reply_behind_an_unsent_row_of_its_chat_waits_its_turn(database_url, clock):
    app, channel, person = await person_at_step1(database_url, clock)
    dead = DeadSender()
    app.turn.sender = dead
    before = len(channel.sent)
    first = await app.handle(tap_next(person))
    second = await app.handle(tap_next(person))  # a second tap before the first was sent
    assert [row.id for row in dead.handed] == first  # only the first was claimed
    assert dead.waited == [("test", person.user)]
    statuses = [r.status for r in await rows(app)][-2:]
    assert statuses == ["sending", "pending"]
    app.turn.sender = None
    clock.advance(seconds=16)
    await app.delivery.drain()
    assert [m.outbox_id for m in channel.sent[before:]] == first + second  # in order
    await app.close()


async def test_a_burst_larger_than_the_pool_waits_and_is_stored(postgres_url, clock):
    app = await make_app(postgres_url, clock, dlcoach_db_pool_size=2, dlcoach_db_max_overflow=0)
    app.add_channel(RecordingChannel())
    assert app.engine.pool.size() == 2
    burst = [
        Incoming(channel="test", user_id=f"u{i}", chat_id=f"u{i}", event_id=f"e{i}", kind="follow")
        for i in range(40)
    ]
    written = await asyncio.gather(*(app.handle(incoming) for incoming in burst))
    assert all(written)  # every one stored and answered (none refused)
    assert len(await rows(app)) == 40
    await app.close()


async def test_sends_that_return_together_are_marked_sent_together(database_url, clock):
    app = await make_app(database_url, clock)
    channel = RecordingChannel()
    app.add_channel(channel)
    people = [
        Incoming(channel="test", user_id=f"u{i}", chat_id=f"u{i}", event_id=f"e{i}", kind="follow")
        for i in range(8)
    ]
    for incoming in people:
        await app.handle(incoming)
    with counting(app.engine) as seen:
        assert await app.delivery.drain() == 8
    marks = [sql for sql, _ in seen.seen if "sent_at" in sql]
    assert 1 <= len(marks) < 8, len(marks)  # not one transaction per row
    assert len(channel.sent) == 8
    assert {row.status for row in await rows(app)} == {"sent"}
    await app.close()


async def test_a_strangers_reply_queues_as_usual(database_url, clock):
    app = await make_app(database_url, clock)
    app.add_channel(RecordingChannel())
    dead = DeadSender()
    app.turn.sender = dead
    for event in ("e1", "e2"):  # a follow, then a second event before any answer went out
        await app.handle(
            Incoming(channel="test", user_id="new", chat_id="new", event_id=event, kind="follow")
        )
    assert dead.handed == []  # nothing is known of a stranger's chat: nothing claimed
    assert [r.status for r in await rows(app)] == ["pending", "pending"]
    await app.close()
