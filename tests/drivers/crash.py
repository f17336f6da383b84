"""Drivers for the kill -9 test (tests/bot/test_crash.py).

- `BotProcess`: `python -m bot serve` as a real subprocess on a fixed port, that
  can be killed with SIGKILL and started again on the same database.
- `TimedLineServer`, `TimedTelegramServer`: the fake platforms, with the time
  and content of every message that reached a chat, per chat, and a little
  network latency on every send (so that a kill finds sends in flight).
- `LinePerson`, `TelegramPerson`: people who follow a script (follow, type,
  tap the button of the latest question) through the webhooks, one message at
  a time, as the platforms deliver them: a post that got no 2xx (refused
  connection, cut connection, 5xx) is posted again, same event id / update_id,
  until it is acknowledged.
- `expected_keys` and `align`: what the outbox says each chat should have
  received (rendered by the channels' own renderers) against what arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from bot.channels.line.render import MediaLinks, decode_postback
from bot.channels.line.render import render as line_render
from bot.channels.telegram.render import parse_callback_data
from bot.channels.telegram.render import render as telegram_render
from handlers.messages import Reply
from tests.drivers.paths import ROOT
from tests.fakes.line_api import FakeLineServer
from tests.fakes.line_webhook import (
    encode_body,
    follow_event,
    postback_event,
    sign,
    text_message_event,
    webhook_body,
)
from tests.fakes.telegram_api import FakeTelegramServer

# What identifies one platform message: its text (or alt text, or caption) and
# the payloads of its buttons (which carry the question's number).
Key = tuple[str, tuple[str, ...]]

POLL = 0.02  # seconds between looks at a fake platform
ANSWER_WITHIN = 30.0  # seconds a person waits for an answer before calling it lost
POST_WITHIN = 60.0  # seconds a platform keeps redelivering one webhook
SEND_LATENCY = 0.03  # seconds each send takes at the fake platforms, like a real network


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---- the bot as a process ----------------------------------------------------------------


@dataclass
class BotProcess:
    """`python -m bot serve` on `port`, its output appended to `log`."""

    env: dict[str, str]
    port: int
    cwd: Path
    log: Path
    proc: subprocess.Popen | None = None
    started: list[float] = field(default_factory=list)  # wall clock of each Popen
    ready: list[float] = field(default_factory=list)  # ... of each first healthy /healthz
    killed: list[float] = field(default_factory=list)  # ... of each SIGKILL

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, within: float = 60.0) -> float:
        """Start the server and wait for /healthz to say ok; returns when it did."""
        env = {**os.environ, "PYTHONPATH": str(ROOT), **self.env}
        with self.log.open("ab") as out:
            out.write(f"\n---- start {len(self.started) + 1} ----\n".encode())
            out.flush()
            self.proc = subprocess.Popen(  # noqa: ASYNC220 (starts it, returns at once)
                [sys.executable, "-m", "bot", "serve", "--port", str(self.port)],
                env=env,
                cwd=self.cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.started.append(time.time())
        deadline = time.monotonic() + within
        async with httpx.AsyncClient() as client:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"dlcoach serve exited with {self.proc.returncode}:\n{self.log_tail()}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    health = await client.get(f"{self.base_url}/healthz", timeout=2)
                    if health.status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"dlcoach serve not healthy in {within}s:\n{self.log_tail()}"
                    )
                await asyncio.sleep(POLL)
        self.ready.append(time.time())
        return self.ready[-1]

    def kill(self) -> float:
        """kill -9, and wait until the process is gone; returns when the signal went."""
        assert self.proc is not None and self.proc.poll() is None, "the server is not running"
        os.kill(self.proc.pid, signal.SIGKILL)
        at = time.time()
        self.proc.wait(timeout=30)
        self.killed.append(at)
        return at

    def stop(self) -> None:
        """A normal shutdown (SIGTERM), so the database is left quiet for reading."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def log_tail(self, lines: int = 60) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def log_count(self, fragment: str) -> int:
        return self.log.read_text(errors="replace").count(fragment) if self.log.exists() else 0


# ---- the platforms, timed ----------------------------------------------------------------


@dataclass(frozen=True)
class Arrival:
    """One platform message that reached a chat, and when (wall clock)."""

    at: float
    key: Key
    message: dict[str, Any]
    via: str  # LINE: "reply" or "push"; Telegram: "send"


def line_key(message: dict[str, Any]) -> Key:
    text = message.get("text") or message.get("altText") or ""
    items = (message.get("quickReply") or {}).get("items") or []
    return text, tuple(str((item.get("action") or {}).get("data", "")) for item in items)


def telegram_key(message: dict[str, Any]) -> Key:
    text = message.get("text", message.get("caption", "")) or ""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return text, tuple(str(button.get("callback_data", "")) for row in rows for button in row)


class TimedLineServer(FakeLineServer):
    """The fake LINE API, recording each delivered message per chat with its time;
    replies and pushes take `latency` seconds (processed after it)."""

    def __init__(self, *args: Any, latency: float = SEND_LATENCY, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.latency = latency
        self.arrivals: defaultdict[str, list[Arrival]] = defaultdict(list)

    async def _reply(self, request, record, args):  # noqa: ANN001, ANN202
        await asyncio.sleep(self.latency)
        return await super()._reply(request, record, args)

    async def _push(self, request, record, args):  # noqa: ANN001, ANN202
        await asyncio.sleep(self.latency)
        return await super()._push(request, record, args)

    def _deliver(self, to: str, messages: list[dict[str, Any]], via: str, request_id: str) -> None:
        super()._deliver(to, messages, via, request_id)
        at = time.time()
        self.arrivals[to].extend(Arrival(at, line_key(m), m, via) for m in messages)


class TimedTelegramServer(FakeTelegramServer):
    """The fake Bot API, recording each message the bot sent per chat with its time;
    every send takes `latency` seconds (processed after it)."""

    def __init__(self, *args: Any, latency: float = SEND_LATENCY, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.latency = latency
        self.arrivals: defaultdict[str, list[Arrival]] = defaultdict(list)
        self.in_flight = self.most_in_flight = 0  # sends being answered at once

    async def _dispatch(self, method: str, params: dict[str, Any]) -> Any:
        if not method.startswith("send") or method == "sendChatAction":
            return await super()._dispatch(method, params)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.latency)
            return await super()._dispatch(method, params)
        finally:
            self.in_flight -= 1

    def _bot_message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        message = super()._bot_message(params, **content)
        chat = str(message["chat"]["id"])
        self.arrivals[chat].append(Arrival(time.time(), telegram_key(message), message, "send"))
        return message


# ---- people ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One thing a person does: `follow` (LINE follow / Telegram /start), `say`
    TEXT, or `tap` a button of the latest question (by choice id or 1-based position)."""

    kind: str
    value: str | int = ""


@dataclass
class Traffic:
    """What all the people did, for the kill schedule and the report."""

    posts: int = 0  # HTTP posts of webhooks, retries included
    acknowledged: int = 0  # webhooks answered 2xx
    redelivered: int = 0  # webhooks that needed more than one post
    lost: list[str] = field(default_factory=list)  # answers that never came
    # (acknowledged, answered, who, step) of every message of the script
    answers: list[tuple[float, float, str, int]] = field(default_factory=list)


class Person:
    """A person on one platform, walking `script` one acknowledged message at a time."""

    channel = ""

    def __init__(self, chat: str, url: str, client: httpx.AsyncClient, traffic: Traffic) -> None:
        self.chat, self.url, self.client, self.traffic = chat, url, client, traffic
        self.acked_events: list[str] = []
        self.last_seq = -1  # the question of the last button tapped
        self.mark = 0  # arrivals before the latest post
        self.waiting_since: float | None = None  # acknowledged, answer not seen yet
        self.done = False

    # platform specifics
    def arrivals(self) -> list[Arrival]:
        raise NotImplementedError

    def buttons(self, arrival: Arrival) -> list[tuple[str, int | None, str]]:
        """(choice id, question number, payload) of each button of a message."""
        raise NotImplementedError

    def event(self, step: Step, button: tuple[Arrival, str] | None) -> dict[str, Any]:
        raise NotImplementedError

    def event_id(self, event: dict[str, Any]) -> str:
        raise NotImplementedError

    async def _post_once(self, event: dict[str, Any], again: bool) -> httpx.Response:
        raise NotImplementedError

    # the walk
    def seqs(self) -> list[int]:
        """The numbers of the questions that arrived (those with buttons)."""
        return [
            seq
            for arrival in self.arrivals()
            for _, seq, _ in self.buttons(arrival)
            if seq is not None
        ]

    def find_button(self, which: str | int | None) -> tuple[Arrival, str, int | None] | None:
        """The newest button `which` (any button: None) on a question newer than the
        last one answered, among what arrived since the latest post."""
        for arrival in reversed(self.arrivals()[self.mark :]):
            buttons = [b for b in self.buttons(arrival) if b[1] is None or b[1] > self.last_seq]
            if not buttons:
                continue
            if which is None:
                choice, seq, payload = buttons[0]
                return arrival, payload, seq
            if isinstance(which, int):
                if len(buttons) >= which:
                    choice, seq, payload = buttons[which - 1]
                    return arrival, payload, seq
                continue
            for choice, seq, payload in buttons:
                if choice == which:
                    return arrival, payload, seq
        return None

    def answered(self, following: Step | None) -> bool:
        """Whether the answer to the latest post is here. Every answer of the script
        ends with a new question (buttons with a newer number); when the next step
        taps, the button it taps must be on it."""
        which = following.value if following is not None and following.kind == "tap" else None
        return self.find_button(which) is not None

    async def post(self, event: dict[str, Any]) -> None:
        """Deliver one webhook until it is acknowledged, as LINE and Telegram do."""
        deadline = time.monotonic() + POST_WITHIN
        tries = 0
        while True:
            tries += 1
            self.traffic.posts += 1
            try:
                response = await self._post_once(event, again=tries > 1)
            except httpx.TransportError:  # refused, cut, timed out: the server is down
                response = None
            if response is not None and response.status_code < 300:
                break
            if response is not None and response.status_code < 500:
                raise AssertionError(
                    f"{self.channel} webhook refused with {response.status_code}: {response.text}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.channel} webhook not acknowledged in {POST_WITHIN}s")
            await asyncio.sleep(0.1)
        self.traffic.acknowledged += 1
        self.traffic.redelivered += tries > 1
        self.acked_events.append(self.event_id(event))

    async def walk(self, script: Sequence[Step]) -> None:
        for index, step in enumerate(script):
            button = None
            if step.kind == "tap":
                found = self.find_button(step.value)
                assert found is not None, f"{self.chat}: no button {step.value!r} to tap"
                arrival, payload, _ = found
                button = (arrival, payload)
            # Every question asked so far is answered now: a late copy of one of
            # them (a duplicate) offers no button to tap from here on.
            self.last_seq = max([self.last_seq, *self.seqs()])
            event = self.event(step, button)
            self.mark = len(self.arrivals())
            await self.post(event)
            acked = time.time()
            self.waiting_since = acked
            following = script[index + 1] if index + 1 < len(script) else None
            deadline = time.monotonic() + ANSWER_WITHIN
            while not self.answered(following):
                if time.monotonic() > deadline:
                    self.traffic.lost.append(f"{self.channel} {self.chat} step {index} {step}")
                    self.waiting_since = None
                    return
                await asyncio.sleep(POLL)
            self.traffic.answers.append((acked, time.time(), f"{self.channel} {self.chat}", index))
            self.waiting_since = None
        self.done = True


class LinePerson(Person):
    channel = "line"

    def __init__(self, chat: str, url: str, client, traffic, line: TimedLineServer, secret: str):  # noqa: ANN001
        super().__init__(chat, url, client, traffic)
        self.line, self.secret = line, secret

    def arrivals(self) -> list[Arrival]:
        return self.line.arrivals[self.chat]

    def buttons(self, arrival: Arrival) -> list[tuple[str, int | None, str]]:
        found = []
        for data in arrival.key[1]:
            postback = decode_postback(data)
            if postback.choice:
                found.append((postback.choice, postback.question_seq, data))
        return found

    def event(self, step: Step, button: tuple[Arrival, str] | None) -> dict[str, Any]:
        if step.kind == "follow":
            return follow_event(self.chat, server=self.line)
        if step.kind == "say":
            return text_message_event(self.chat, str(step.value), server=self.line)
        assert button is not None
        return postback_event(self.chat, button[1], server=self.line)

    def event_id(self, event: dict[str, Any]) -> str:
        return event["webhookEventId"]

    async def _post_once(self, event: dict[str, Any], again: bool) -> httpx.Response:
        if again:  # LINE marks what it sends again
            event["deliveryContext"]["isRedelivery"] = True
        raw = encode_body(webhook_body(event))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Line-Signature": sign(raw, self.secret),
        }
        return await self.client.post(self.url, content=raw, headers=headers, timeout=15)


class TelegramPerson(Person):
    channel = "telegram"

    def __init__(
        self, chat: str, url: str, client, traffic, telegram: TimedTelegramServer, secret: str
    ):  # noqa: ANN001
        super().__init__(chat, url, client, traffic)
        self.telegram, self.secret = telegram, secret

    def arrivals(self) -> list[Arrival]:
        return self.telegram.arrivals[self.chat]

    def buttons(self, arrival: Arrival) -> list[tuple[str, int | None, str]]:
        return [(*parse_callback_data(data), data) for data in arrival.key[1]]

    def event(self, step: Step, button: tuple[Arrival, str] | None) -> dict[str, Any]:
        user = int(self.chat)
        if step.kind == "follow":
            return self.telegram.user_sends_text(user, "/start", queue=False)
        if step.kind == "say":
            return self.telegram.user_sends_text(user, str(step.value), queue=False)
        assert button is not None
        arrival, payload = button
        return self.telegram.user_presses(user, arrival.message["message_id"], payload, queue=False)

    def event_id(self, event: dict[str, Any]) -> str:
        return str(event["update_id"])

    async def _post_once(self, event: dict[str, Any], again: bool) -> httpx.Response:
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.secret}
        return await self.client.post(self.url, json=event, headers=headers, timeout=15)


# ---- what should have arrived, and what did -----------------------------------------------


def _drawn(reply: Reply) -> Reply:
    """The reply as delivery hands it to a channel, a stand-in for its picture or
    file (keys compare texts and buttons, not bytes)."""
    if reply.render is None:
        return reply
    if reply.render.as_document:
        return replace(reply, render=None, document=b"%PDF-")
    return replace(reply, render=None, image_png=b"\x89PNG")


def expected_keys(channel: str, payload: list[dict[str, Any]], t: Callable[..., str]) -> list[Key]:
    """The platform messages one outbox row becomes, rendered as its channel renders it
    (LINE without a public address: pictures go as their text)."""
    replies = [_drawn(Reply.from_json(item)) for item in payload]
    if channel == "line":
        return [line_key(m) for m in line_render(replies, t, MediaLinks.none())]
    keys = []
    for part in telegram_render(replies):
        rows = part.keyboard.inline_keyboard if part.keyboard is not None else ()
        keys.append((part.text, tuple(str(b.callback_data) for row in rows for b in row)))
    return keys


@dataclass
class Alignment:
    """One chat's arrivals matched, in order, against the messages its rows should give."""

    matched: dict[tuple[int, int], float]  # (row id, part) -> when it first arrived
    duplicates: list[Arrival]  # arrived again after its first arrival
    unexpected: list[Arrival]  # matches nothing the outbox holds (or out of order)
    missing: list[tuple[int, int, Key]]  # never arrived (row id, part, key)


def align(rows: Sequence[tuple[int, list[Key]]], arrivals: Sequence[Arrival]) -> Alignment:
    """Walk the arrivals in order: each one is the next expected message, or a
    repeat of one that already arrived (a duplicate), or something else."""
    expected = [(row_id, part, key) for row_id, keys in rows for part, key in enumerate(keys)]
    matched: dict[tuple[int, int], float] = {}
    seen: set[Key] = set()
    duplicates, unexpected = [], []
    position = 0
    for arrival in arrivals:
        if position < len(expected) and arrival.key == expected[position][2]:
            row_id, part, key = expected[position]
            matched[(row_id, part)] = arrival.at
            seen.add(key)
            position += 1
        elif arrival.key in seen:
            duplicates.append(arrival)
        else:
            unexpected.append(arrival)
    return Alignment(matched, duplicates, unexpected, expected[position:])
