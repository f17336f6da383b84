"""A visitor of the web chat (/try) over HTTP, as the page's script talks to it.

It answers to the same calls as `tests.drivers.chat.Person` (follow, say, tap,
question), so the walks of `tests.drivers.journey` drive it too: each call posts
what the person did and waits for the coach's answer to be readable."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from handlers.messages import Choice, Reply
from tests.drivers.chat import last_question


def as_reply(part: dict[str, Any]) -> Reply:
    choices = tuple(Choice(c["id"], c["label"]) for c in part.get("choices", []))
    return Reply(text=part["text"], choices=choices, question_seq=part.get("seq"))


@dataclass
class Visitor:
    """One browser profile: its own cookie jar, the messages it has read so far."""

    client: httpx.AsyncClient
    last: int = 0
    replies: list[Reply] = field(default_factory=list)
    parts: list[dict[str, Any]] = field(default_factory=list)

    async def open(self) -> httpx.Response:
        """Load the page (which gives a new visitor its cookie)."""
        page = await self.client.get("/try")
        assert page.status_code == 200
        return page

    async def post(self, **what: Any) -> httpx.Response:
        """POST /try/api/say with a fresh event id unless `event` is given."""
        body = {"event": what.pop("event", uuid.uuid4().hex), **what}
        return await self.client.post("/try/api/say", json=body)

    async def read(self, *, wait: bool = True) -> list[Reply]:
        """The replies of the messages after the last one read (waiting for one)."""
        answer = await self.client.get(
            "/try/api/messages", params={"after": self.last, "wait": 1 if wait else 0}
        )
        assert answer.status_code == 200, answer.text
        new = []
        for message in answer.json()["messages"]:
            self.last = max(self.last, message["id"])
            self.parts.extend(message["parts"])
            new.extend(as_reply(part) for part in message["parts"])
        self.replies.extend(new)
        return new

    async def _act(self, **what: Any) -> list[Reply]:
        answer = await self.post(**what)
        assert answer.status_code == 202, answer.text
        for _ in range(5):  # a poll may end empty after its wait
            new = await self.read()
            if new:
                return new
        raise AssertionError(f"no answer to {what}")

    async def follow(self) -> list[Reply]:
        return await self._act(start=True)

    async def say(self, text: str) -> list[Reply]:
        return await self._act(text=text)

    async def tap(self, which: str | int) -> list[Reply]:
        """Tap a button of the latest question, by id, exact label, or 1-based position."""
        question = self.question
        if isinstance(which, int):
            choice = question.choices[which - 1]
        else:
            found = [c for c in question.choices if which in (c.id, c.label)]
            assert found, f"no button {which!r} in {[c.label for c in question.choices]}"
            choice = found[0]
        return await self._act(choice=choice.id, seq=question.question_seq, label=choice.label)

    @property
    def question(self) -> Reply:
        return last_question(self.replies)

    def text(self) -> str:
        return "\n".join(r.text for r in self.replies)
