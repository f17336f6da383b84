"""Test helpers: build an App on a scratch database and talk to it like a person."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bot.app import App, build_app
from bot.channels.base import Channel, OutboundMessage, Progress, no_progress
from bot.config import Settings
from handlers.clock import FakeClock
from handlers.messages import Incoming, Reply

POSTGRES_ENV = "DLCOACH_TEST_POSTGRES_URL"
POSTGRES_URL = os.environ.get(POSTGRES_ENV)
START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # a Monday, 09:00 in Bangkok


class RecordingChannel(Channel):
    """A channel that keeps what it is asked to send (for handler-level tests)."""

    def __init__(self, name: str = "test") -> None:
        self.name = name
        self.sent: list[OutboundMessage] = []

    async def send(self, message: OutboundMessage, progress: Progress = no_progress) -> None:
        self.sent.append(message)


async def make_app(database_url: str, clock: FakeClock | None = None, **settings) -> App:  # noqa: ANN003
    """An app on `database_url` (migrated, demo agency seeded), built as `serve` builds it.

    The flood limit is off unless a test sets it: test people answer at machine speed."""
    settings.setdefault("dlcoach_flood_burst", 0)
    app = build_app(
        Settings(database_url=database_url, _env_file=None, **settings),
        clock=clock or FakeClock(START),
    )
    await app.prepare()
    return app


@dataclass
class Person:
    """Drives one person's chat through `App.handle` and the outbox."""

    app: App
    channel: RecordingChannel
    user: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    lang_hint: str | None = None
    display_name: str | None = None
    replies: list[Reply] = field(default_factory=list)

    async def _send(self, **kw) -> list[Reply]:  # noqa: ANN003
        incoming = Incoming(
            channel=self.channel.name,
            user_id=self.user,
            chat_id=self.user,
            event_id=kw.pop("event_id", uuid.uuid4().hex),
            lang_hint=self.lang_hint,
            display_name=self.display_name,
            **kw,
        )
        before = len(self.channel.sent)
        await self.app.handle(incoming)
        await self.app.delivery.drain([self.channel.name], chat_ids=[self.user])
        new = [r for m in self.channel.sent[before:] for r in m.replies]
        self.replies.extend(new)
        return new

    async def follow(self) -> list[Reply]:
        return await self._send(kind="follow")

    async def say(self, text: str) -> list[Reply]:
        return await self._send(kind="text", text=text)

    async def tap(self, which: str | int) -> list[Reply]:
        """Tap a button of the latest question, by id, exact label, or 1-based position."""
        question = self.question
        choice = None
        if isinstance(which, int):
            choice = question.choices[which - 1]
        else:
            choice = next((c for c in question.choices if which in (c.id, c.label)), None)
        assert choice is not None, f"no button {which!r} in {[c.label for c in question.choices]}"
        return await self._send(
            kind="choice", choice=choice.id, text=choice.label, question_seq=question.question_seq
        )

    async def tap_stale(self, reply: Reply, position: int = 1) -> list[Reply]:
        choice = reply.choices[position - 1]
        return await self._send(
            kind="choice", choice=choice.id, text=choice.label, question_seq=reply.question_seq
        )

    async def press(self, choice_id: str, label: str = "") -> list[Reply]:
        """Press a button of a message sent outside the conversation (no question number)."""
        return await self._send(kind="choice", choice=choice_id, text=label)

    @property
    def question(self) -> Reply:
        return last_question(self.replies)

    def text(self) -> str:
        return "\n".join(r.text for r in self.replies)


def last_question(replies: list[Reply]) -> Reply:
    """The latest reply that asks something (it has buttons or a question number)."""
    asked = [r for r in replies if r.choices or r.question_seq is not None]
    assert asked, "no question asked yet"
    return asked[-1]


def t(app: App, key: str, lang: str = "th", **values: object) -> str:
    return app.content.t(key, lang, **values)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"
