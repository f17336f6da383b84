"""The Telegram channel end to end: the real python-telegram-bot client over real HTTP
against the local fake Bot API server, by long polling and by webhook.

Every scenario runs the whole path: fake user action -> getUpdates or webhook POST ->
PTB -> TelegramChannel -> the turn -> outbox -> TelegramChannel.send -> fake server.
Any error that reaches PTB's error handler fails the test (see `running_bot`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import func, select
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from typer.testing import CliRunner

from bot.app import App, build_app
from bot.channels.base import (
    OutboundMessage,
    PermanentFailure,
    RecipientBlocked,
    RetryLater,
)
from bot.channels.telegram import (
    CHANNEL,
    WEBHOOK_PATH,
    TelegramChannel,
    delivery_error,
    file_base_url,
    menu_commands,
)
from bot.channels.telegram.render import (
    MAX_TEXT,
    callback_data,
    parse_callback_data,
    render,
    split_text,
    tg_len,
)
from bot.channels.text import can_break
from bot.cli import cli
from bot.config import Settings
from bot.server import Runtime, build_web
from handlers.clock import FakeClock
from handlers.messages import Choice, Reply
from storage.db import transaction
from storage.models import ChannelAccount, Journey, OutboxMessage, ProcessedEvent
from tests.drivers.chat import START, make_app, sqlite_url, t
from tests.drivers.journey import whole_journey
from tests.drivers.paths import ROOT
from tests.fakes.telegram_api import FakeTelegramServer

TOKEN = "123456:TEST-token_abc"
SECRET = "s3cret-Token_42"
THAI = re.compile(r"[\u0E00-\u0E7F]")
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x40\x00\x00\x00\xf0" + bytes(64)
NOTICE_VERSION_TH = "พฤศจิกายน 2569"  # CONSENT_VERSION "2026-11" as a Thai reader dates it


# ---- harness -----------------------------------------------------------------------------


@dataclass
class BotUnderTest:
    """A bot talking to the fake server, and a view of its database to know when it is done."""

    app: App
    server: FakeTelegramServer
    webhook_url: str | None = None

    async def deliver(self, update: dict[str, Any]) -> None:
        """Hand an update over as Telegram would: queued for getUpdates, or POSTed."""
        if self.webhook_url is None:
            return  # the fake queued it already
        response = await self.server.post_to_webhook(update)
        assert response.status_code == 200, response.status_code

    async def wait_db(self, check: Callable[[Any], Any], within: float = 10.0) -> Any:
        """Poll the database until `await check(session)` is truthy."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            async with self.app.sessions() as session:
                if result := await check(session):
                    return result
            if loop.time() > deadline:
                raise AssertionError(f"database condition not met within {within}s")
            await asyncio.sleep(0.01)

    async def settle(self, update_id: int) -> None:
        """Wait until the update was handled and everything it queued was delivered."""

        async def done(session) -> bool:  # noqa: ANN001
            processed = await session.get(ProcessedEvent, (CHANNEL, str(update_id)))
            busy = await session.exec(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status.in_(("pending", "sending")))
            )
            return processed is not None and int(busy.one()) == 0

        await self.wait_db(done)


@dataclass
class Harness(BotUnderTest):
    """A bot running in this process (App + TelegramChannel + delivery), on a fake clock."""

    channel: TelegramChannel | None = None
    clock: FakeClock = field(default_factory=lambda: FakeClock(START))
    errors: list[BaseException] = field(default_factory=list)

    async def account(self, user_id: int) -> ChannelAccount:
        async with self.app.sessions() as session:
            found = await session.exec(
                select(ChannelAccount).where(
                    ChannelAccount.channel == CHANNEL, ChannelAccount.external_id == str(user_id)
                )
            )
            return found.one()

    async def enqueue(self, chat_id: int, replies: list[Reply], **row: Any) -> int:
        """An outbox row written directly, like a nudge from the scheduler."""
        [row_id] = await self.enqueue_rows(chat_id, [replies], **row)
        return row_id

    async def enqueue_rows(self, chat_id: int, rows: list[list[Reply]], **row: Any) -> list[int]:
        """Several outbox rows for one chat, written in one transaction so that
        delivery sees all of them at once."""
        now = self.clock.now()
        async with transaction(self.app.sessions) as session:
            messages = [
                OutboxMessage(
                    channel=CHANNEL,
                    chat_id=str(chat_id),
                    payload=[r.to_json() for r in replies],
                    next_attempt_at=now,
                    created_at=now,
                    **row,
                )
                for replies in rows
            ]
            session.add_all(messages)
            await session.flush()
            row_ids = [m.id for m in messages]
        self.app.delivery_wakeup.set()
        assert all(row_id is not None for row_id in row_ids)
        return row_ids

    async def row(self, row_id: int) -> OutboxMessage:
        async with self.app.sessions() as session:
            found = await session.get(OutboxMessage, row_id)
            assert found is not None
            return found


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


@contextlib.asynccontextmanager
async def running_bot(
    server: FakeTelegramServer, tmp_path: Path, *, webhook: bool = False, **settings: Any
) -> AsyncIterator[Harness]:
    """The bot as `dlcoach serve` runs it: polling through the Runtime, or the Starlette
    app (Runtime in its lifespan) on uvicorn with the webhook registered at the fake."""
    clock, errors = FakeClock(START), []
    extra: dict[str, str] = {}
    sock = _listening_socket() if webhook else None
    if sock is not None:
        url = f"http://127.0.0.1:{sock.getsockname()[1]}{WEBHOOK_PATH}"
        extra = {"telegram_webhook_url": url, "telegram_webhook_secret": SECRET}
    app = await make_app(
        sqlite_url(tmp_path / "telegram.db"),
        clock,
        telegram_bot_token=server.token,
        telegram_api_base_url=server.base_url,
        **extra,
        **settings,
    )
    channel = TelegramChannel(app.settings, on_error=errors.append)
    app.add_channel(channel)
    harness = Harness(app, server, extra.get("telegram_webhook_url"), channel, clock, errors)
    if sock is None:
        runtime = Runtime(app)
        await runtime.start()
        try:
            yield harness
        finally:
            await runtime.stop()
    else:
        web = uvicorn.Server(uvicorn.Config(build_web(app), log_level="warning", lifespan="on"))
        task = asyncio.create_task(web.serve(sockets=[sock]))
        while not web.started:
            assert not task.done(), "the web server did not start"
            await asyncio.sleep(0.01)
        try:
            yield harness
        finally:
            web.should_exit = True
            await task
            sock.close()
    assert errors == [], f"errors reached PTB's error handler: {errors!r}"


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(token=TOKEN) as srv:
        yield srv


@pytest.fixture
async def polling(server, tmp_path) -> AsyncIterator[Harness]:
    async with running_bot(server, tmp_path) as harness:
        yield harness


@pytest.fixture
async def webhook(server, tmp_path) -> AsyncIterator[Harness]:
    async with running_bot(server, tmp_path, webhook=True) as harness:
        yield harness


@dataclass
class TelegramUser:
    """A person in the Telegram app: types, taps inline buttons (by id, label or position).

    It has the `follow`/`say`/`tap` of `tests.drivers.chat.Person`, so the journey walks in
    `tests/journey_steps.py` run unchanged over Telegram.
    """

    bot: BotUnderTest
    user_id: int = 5550001
    first_name: str = "Somchai"
    language_code: str = "th"
    pressed: list[int] = field(default_factory=list)  # message ids whose buttons were tapped

    @property
    def server(self) -> FakeTelegramServer:
        return self.bot.server

    @property
    def queue(self) -> bool:
        return self.bot.webhook_url is None

    async def act(self, update: dict[str, Any]) -> dict[str, Any]:
        await self.bot.deliver(update)
        await self.bot.settle(update["update_id"])
        return update

    async def follow(self) -> None:
        """Opening the bot in Telegram sends /start."""
        await self.say("/start")

    async def say(self, text: str) -> dict[str, Any]:
        update = self.server.user_sends_text(
            self.user_id,
            text,
            first_name=self.first_name,
            language_code=self.language_code,
            queue=self.queue,
        )
        return await self.act(update)

    async def tap(self, which: str | int) -> dict[str, Any]:
        message, data = self.button(which)
        self.pressed.append(message["message_id"])
        update = self.server.user_presses(
            self.user_id, message["message_id"], data, queue=self.queue
        )
        return await self.act(update)

    def button(self, which: str | int) -> tuple[dict[str, Any], str]:
        """The newest keyboard the bot sent, and the payload of the wanted button on it."""
        for message in reversed(self.server.sent_messages(self.user_id)):
            rows = message.get("reply_markup", {}).get("inline_keyboard")
            if not rows:
                continue
            buttons = [button for row in rows for button in row]
            if isinstance(which, int):
                return message, buttons[which - 1]["callback_data"]
            for button in buttons:
                data = button["callback_data"]
                if which in (data, button["text"]) or data.endswith(f"|{which}"):
                    return message, data
            labels = [(b["text"], b["callback_data"]) for b in buttons]
            raise AssertionError(f"no button {which!r} on the current keyboard: {labels}")
        raise AssertionError("the bot has not sent a keyboard")

    def texts(self) -> list[str]:
        return self.server.texts(self.user_id)


def successful(server: FakeTelegramServer, method: str) -> list:
    return [c for c in server.calls(method) if c.status == 200]


# ---- the whole journey -----------------------------------------------------------------


async def walk_and_check(bot: Harness) -> TelegramUser:
    """The six steps over Telegram, then what must hold for every message and button."""
    server = bot.server
    user = TelegramUser(bot)
    await whole_journey(user)

    async with bot.app.sessions() as session:
        journeys = (await session.exec(select(Journey))).all()
        statuses = set((await session.exec(select(OutboxMessage.status))).all())
    assert [j.completed_at is not None for j in journeys] == [True]
    assert statuses == {"sent"}  # nothing failed, dropped or left behind
    assert t(bot.app, "s6.complete", name="สมชาย ใจดี", round=1) in user.texts()
    # the step 2 chart went out as a photo upload
    photos = [u for u in server.uploads if u.field == "photo"]
    assert photos and all(u.content.startswith(b"\x89PNG") for u in photos)
    # every press answered (in the background), every pressed keyboard taken away
    assert len(user.pressed) > 40
    await server.wait_for(lambda: len(server.answered_callbacks) == len(user.pressed))
    await server.wait_for(
        lambda: all(
            "reply_markup" not in (server.message(user.user_id, mid) or {}) for mid in user.pressed
        )
    )
    # payloads are short ids with the question number, never labels
    for markup in server.keyboards:
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button["callback_data"]
                assert len(data.encode()) <= 64 and not THAI.search(data), data
                # numbered, except the privacy notice (asked before any state exists)
                assert parse_callback_data(data)[1] is not None or data.startswith("consent:")
    assert all(tg_len(text) <= MAX_TEXT for text in user.texts())
    return user


async def test_a_user_completes_all_six_steps_by_polling(polling):
    await walk_and_check(polling)
    assert polling.server.webhook == {}
    assert polling.server.calls("getUpdates")
    assert {c.via for c in polling.server.calls("answerCallbackQuery")} == {"api"}


async def test_a_user_completes_all_six_steps_by_webhook(webhook):
    await walk_and_check(webhook)
    assert webhook.server.webhook["url"] == webhook.webhook_url
    assert webhook.server.webhook["secret_token"] == SECRET
    assert not webhook.server.calls("getUpdates")
    # Each press's spinner was stopped by naming answerCallbackQuery in the answer to
    # Telegram's webhook call, not by a call of the bot's own.
    answers = webhook.server.calls("answerCallbackQuery")
    assert answers and {c.via for c in answers} == {"webhook answer"}


# ---- buttons ----------------------------------------------------------------------------


async def test_an_old_button_gets_passed_and_the_current_question(polling):
    server, user = polling.server, TelegramUser(polling)
    await user.follow()
    await user.tap("consent:y:th")
    name_question, name_data = user.button("name:platform")  # the Telegram first name
    assert [b["text"] for b in name_question["reply_markup"]["inline_keyboard"][0]] == ["Somchai"]
    await user.say("สมหญิง")  # answered by typing: that keyboard is still on screen
    before = len(user.texts())

    await user.act(server.user_presses(user.user_id, name_question["message_id"], name_data))

    new = user.texts()[before:]
    assert new[0] == t(polling.app, "common.stale_button")
    assert new[-1] == t(polling.app, "onboard.ask_agency")
    current, data = user.button(1)
    assert data.endswith("|ag:1") and current["message_id"] > name_question["message_id"]
    assert (await polling.account(user.user_id)).active
    await server.wait_for(lambda: len(server.answered_callbacks) == 2)
    await server.wait_for(
        lambda: "reply_markup" not in server.message(user.user_id, name_question["message_id"])
    )


async def test_command_menu_in_thai_and_english(polling, content):
    commands = polling.server.commands
    assert set(commands) == {"th", "en", ""}
    for lang in ("th", "en"):
        assert commands[lang] == [c.to_dict() for c in menu_commands(content, lang)]
    names = [c["command"] for c in commands["th"]]
    assert names[:6] == ["start", "continue", "menu", "progress", "lang", "help"]
    assert THAI.search(commands["th"][0]["description"])
    assert not THAI.search(commands["en"][0]["description"])
    assert commands[""] == commands["th"]  # the default follows DLCOACH_LANG


# ---- blocked users -----------------------------------------------------------------------


async def onboarded_account(bot: Harness, user: TelegramUser) -> ChannelAccount:
    await user.follow()
    await user.tap("consent:y:th")
    account = await bot.account(user.user_id)
    assert account.active
    return account


async def test_a_403_marks_the_account_inactive_and_stops_sends(polling):
    server, user = polling.server, TelegramUser(polling)
    account = await onboarded_account(polling, user)
    server.block(user.user_id)
    first, second = await polling.enqueue_rows(
        user.user_id, [[Reply("nudge 1")], [Reply("nudge 2")]], account_id=account.id
    )

    async def inactive(session) -> bool:  # noqa: ANN001
        return not (await session.get(ChannelAccount, account.id)).active

    await polling.wait_db(inactive)
    assert (await polling.account(user.user_id)).inactive_reason == "blocked"
    assert [(await polling.row(r)).status for r in (first, second)] == ["dropped", "dropped"]
    blocked_calls = [c for c in server.calls("sendMessage") if c.status == 403]
    assert len(blocked_calls) == 1  # the second nudge was never attempted

    server.unblock(user.user_id)
    await user.say("/start")  # writing again brings the person back
    assert (await polling.account(user.user_id)).active
    assert user.texts()[-1] == t(polling.app, "onboard.ask_name")


async def test_blocking_the_bot_arrives_as_my_chat_member_kicked(polling):
    server, user = polling.server, TelegramUser(polling)
    account = await onboarded_account(polling, user)
    sent = len(successful(server, "sendMessage"))

    await user.act(server.user_blocks(user.user_id))

    account = await polling.account(user.user_id)
    assert not account.active and account.inactive_reason == "unfollowed"
    assert len(successful(server, "sendMessage")) == sent
    server.unblock(user.user_id)
    await user.say("hello again")
    assert (await polling.account(user.user_id)).active


# ---- retries -------------------------------------------------------------------------------


async def test_a_429_waits_retry_after_then_succeeds(polling):
    server, user = polling.server, TelegramUser(polling)
    server.fail_next("sendMessage", 429, retry_after=30)
    update = server.user_sends_text(user.user_id, "/start")
    await server.wait_for(lambda: [c for c in server.calls("sendMessage") if c.status == 429])

    async def waiting(session) -> OutboxMessage | None:  # noqa: ANN001
        row = (await session.exec(select(OutboxMessage))).first()
        return row if row is not None and row.status == "pending" else None

    row = await polling.wait_db(waiting)
    assert row.next_attempt_at == START + timedelta(seconds=30)  # Telegram's wait, not 1 s
    polling.app.delivery_wakeup.set()
    await asyncio.sleep(0.2)
    assert not successful(server, "sendMessage")  # not before retry_after

    polling.clock.advance(seconds=30)
    polling.app.delivery_wakeup.set()
    await polling.settle(update["update_id"])
    [sent] = successful(server, "sendMessage")
    assert sent.params["text"] == user.texts()[0]
    assert (await polling.row(row.id)).status == "sent"


async def test_a_retry_resumes_after_the_parts_already_sent(polling):
    """A 5xx on the 2nd of 3 sends: back-off, then only the 2nd and 3rd go out."""
    server, chat = polling.server, 5550002
    server.fail_next("sendMessage", 500)
    row_id = await polling.enqueue(
        chat, [Reply("chart", image_png=PNG), Reply("two"), Reply("three")]
    )

    async def retrying(session) -> bool:  # noqa: ANN001
        row = await session.get(OutboxMessage, row_id)
        return row.status == "pending" and row.attempts == 1

    await polling.wait_db(retrying)
    row = await polling.row(row_id)
    assert row.sent_parts == 1 and row.next_attempt_at == START + timedelta(seconds=1)

    polling.clock.advance(seconds=1)
    polling.app.delivery_wakeup.set()

    async def sent(session) -> bool:  # noqa: ANN001
        return (await session.get(OutboxMessage, row_id)).status == "sent"

    await polling.wait_db(sent)
    assert len(successful(server, "sendPhoto")) == 1
    assert server.texts(chat) == ["chart", "two", "three"]


async def test_a_bad_request_is_not_retried(polling):
    row_id = await polling.enqueue(5550003, [Reply("x", choices=(Choice("c" * 70, "C"),))])

    async def failed(session) -> bool:  # noqa: ANN001
        return (await session.get(OutboxMessage, row_id)).status == "failed"

    await polling.wait_db(failed)
    assert not polling.server.calls("sendMessage")  # refused before any call


# ---- the webhook --------------------------------------------------------------------------


async def test_wrong_or_missing_secret_is_refused_and_nothing_processed(webhook):
    server = webhook.server
    update = server.user_sends_text(5550004, "/start", queue=False)
    wrong = await server.post_to_webhook(update, secret_token="not-the-secret")
    missing = await server.post_to_webhook(update, secret_token="")
    async with httpx.AsyncClient() as client:
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        junk = await client.post(webhook.webhook_url, content=b"{not json", headers=headers)
        not_update = await client.post(webhook.webhook_url, json=[1, 2], headers=headers)
        broken = {"update_id": 1, "message": "x"}
        not_parsed = await client.post(webhook.webhook_url, json=broken, headers=headers)
    assert (wrong.status_code, missing.status_code) == (403, 403)
    assert (junk.status_code, not_update.status_code, not_parsed.status_code) == (400, 400, 400)
    async with webhook.app.sessions() as session:
        assert (await session.exec(select(ProcessedEvent))).all() == []
    assert not server.calls("sendMessage")

    assert (await server.post_to_webhook(update)).status_code == 200
    await webhook.settle(update["update_id"])
    assert len(successful(server, "sendMessage")) == 1


async def test_a_button_press_is_acknowledged_before_answer_callback_query_returns(webhook):
    """The webhook answers 200 once the press is stored, naming answerCallbackQuery in
    that answer: stopping the spinner is then Telegram's work, and however slowly
    that goes, it does not hold the answer."""
    server, user = webhook.server, TelegramUser(webhook)
    await user.follow()
    message, data = user.button("consent:y:th")
    slow = 3.0
    server.fail_next("answerCallbackQuery", status=None, delay=slow)  # served, but late
    update = server.user_presses(user.user_id, message["message_id"], data, queue=False)
    began = time.monotonic()
    response = await server.post_to_webhook(update)
    took = time.monotonic() - began
    assert response.status_code == 200
    assert response.json() == {
        "method": "answerCallbackQuery",
        "callback_query_id": update["callback_query"]["id"],
    }
    assert took < slow / 2, f"the webhook waited {took:.2f}s for answerCallbackQuery"
    assert server.answered_callbacks == []  # still being answered
    async with webhook.app.sessions() as session:  # the press was stored before the 200
        assert await session.get(ProcessedEvent, (CHANNEL, str(update["update_id"])))
    await webhook.settle(update["update_id"])
    await server.wait_for(lambda: len(server.answered_callbacks) == 1, within=slow + 5)


async def test_webhook_ignores_edits_and_channel_posts_and_dedupes(webhook):
    server, user = webhook.server, TelegramUser(webhook)
    first = await user.say("/start")
    edited = server.edited_message(
        user.user_id, first["message"]["message_id"], "/help", queue=False
    )
    post = server.make_update(
        "channel_post",
        {"message_id": 1, "date": 0, "chat": {"id": -100777, "type": "channel"}, "text": "hi"},
    )
    for update in (edited, post, first):  # `first` again: Telegram retried the webhook
        assert (await server.post_to_webhook(update)).status_code == 200
    await user.say("hello")
    assert len(successful(server, "sendMessage")) == 2  # /start and hello, nothing else


# ---- polling: redelivery, groups, edits, long texts ---------------------------------------


async def test_an_update_delivered_twice_is_handled_once(polling):
    server, user = polling.server, TelegramUser(polling)
    first = await user.say("/start")
    server.redeliver(first)
    await user.say("hello")  # updates are processed in order: the repeat came before this
    ids = [u["update_id"] for u in server.delivered]
    assert ids.count(first["update_id"]) == 2
    assert len(successful(server, "sendMessage")) == 2


async def test_group_talk_is_ignored_and_group_commands_reach_the_core(polling):
    server, group = polling.server, -1001234
    chatter = server.group_message(group, 5550005, "good morning everyone")
    command = server.group_message(group, 5550005, "/help@dlcoach_test_bot")
    await polling.settle(command["update_id"])
    assert server.texts(group) == [t(polling.app, "group.private_only")]
    async with polling.app.sessions() as session:
        assert await session.get(ProcessedEvent, (CHANNEL, str(chatter["update_id"]))) is None


async def test_an_edited_message_is_ignored(polling):
    server, user = polling.server, TelegramUser(polling)
    first = await user.say("/start")
    server.edited_message(user.user_id, first["message"]["message_id"], "/help")
    await user.say("hello")
    assert len(successful(server, "sendMessage")) == 2
    assert not any("edited_message" in u for u in server.delivered)  # not even fetched


async def test_a_long_text_is_split_and_the_keyboard_goes_last(polling):
    server, chat = polling.server, 5550006
    sentence = "การใช้เครื่องมือดิจิทัลช่วยให้ทำงานได้เร็วขึ้น และบริการประชาชนได้ดีขึ้น "
    paragraphs = [sentence * 12 for _ in range(8)] + ["ทักษะดิจิทัล" * 500]
    text = "\n\n".join(paragraphs)
    reply = Reply(text, choices=(Choice("next", "ถัดไป"),), question_seq=7)
    row_id = await polling.enqueue(chat, [reply])

    async def sent(session) -> bool:  # noqa: ANN001
        return (await session.get(OutboxMessage, row_id)).status == "sent"

    await polling.wait_db(sent)
    messages = server.sent_messages(chat)
    assert len(messages) >= 4
    assert all(tg_len(m["text"]) <= MAX_TEXT for m in messages)
    assert ["reply_markup" in m for m in messages] == [False] * (len(messages) - 1) + [True]
    assert messages[0]["text"].endswith(sentence.strip())  # cut at a paragraph, not a word
    assert re.sub(r"\s", "", "".join(m["text"] for m in messages)) == re.sub(r"\s", "", text)


async def test_documents_go_out_with_send_document(polling):
    server, chat = polling.server, 5550009
    row_id = await polling.enqueue(
        chat, [Reply("report", document=b"%PDF-1.4 test", document_name="report.pdf")]
    )

    async def sent(session) -> bool:  # noqa: ANN001
        return (await session.get(OutboxMessage, row_id)).status == "sent"

    await polling.wait_db(sent)
    [upload] = server.uploads
    assert (upload.filename, upload.content) == ("report.pdf", b"%PDF-1.4 test")
    assert server.texts(chat) == ["report"]


# ---- errors reach the test ------------------------------------------------------------------


async def test_an_error_in_a_handler_reaches_the_error_handler(polling, monkeypatch):
    async def broken(incoming):  # noqa: ANN001
        raise RuntimeError("boom")

    monkeypatch.setattr(polling.app.turn, "handle", broken)
    polling.server.user_sends_text(5550007, "/start")
    await polling.server.wait_for(lambda: polling.errors)
    assert [type(e) for e in polling.errors] == [RuntimeError]
    polling.errors.clear()  # seen: this test is about the hook itself


# ---- rendering (no network) ------------------------------------------------------------------


def test_callback_data_holds_the_question_and_a_short_id():
    assert callback_data(12, "lv:3") == "12|lv:3"
    assert parse_callback_data("12|lv:3") == ("lv:3", 12)
    assert parse_callback_data("consent:y:th") == ("consent:y:th", None)
    with pytest.raises(ValueError, match="64 bytes"):
        callback_data(1, "ทักษะ" * 5)  # a label where an id belongs: refused, not truncated


def test_keyboards_pair_short_labels_and_stack_long_ones():
    short = Reply("q", choices=tuple(Choice(f"lv:{i}", str(i)) for i in range(1, 6)))
    long = Reply("q", choices=(Choice("g:g3", "บุคลากรด้านนโยบายและวิชาการ"), Choice("g:g4", "x")))
    assert [len(r) for r in render([short])[0].keyboard.inline_keyboard] == [2, 2, 1]
    assert [len(r) for r in render([long])[0].keyboard.inline_keyboard] == [1, 1]


def test_photos_and_documents_with_captions():
    photo, document = render(
        [
            Reply("chart", image_png=PNG),
            Reply("report", document=b"%PDF-1.4", document_name="certificate.pdf"),
        ]
    )
    assert (photo.kind, photo.text, photo.data) == ("photo", "chart", PNG)
    assert (document.kind, document.filename) == ("document", "certificate.pdf")
    long_caption = render([Reply("ก" * 1500, image_png=PNG, choices=(Choice("next", "ต่อ"),))])
    assert [(p.kind, p.text[:1], p.keyboard is not None) for p in long_caption] == [
        ("photo", "", False),
        ("message", "ก", True),
    ]


def test_split_prefers_paragraphs_then_lines_then_spaces():
    text = "a" * 3000 + "\n\n" + "b" * 3000 + "\n" + "c" * 2000
    assert split_text(text) == ["a" * 3000, "b" * 3000, "c" * 2000]
    text = "x" * 1000 + "\n\n" + "y" * 1000 + "\n\n" + "z" * 3000
    assert split_text(text) == ["x" * 1000 + "\n\n" + "y" * 1000, "z" * 3000]
    assert split_text("short\n\ntext") == ["short\n\ntext"]
    words = " ".join(["digital"] * 1000)
    chunks = split_text(words, limit=100)
    assert all(chunk.split(" ") == ["digital"] * len(chunk.split(" ")) for chunk in chunks)


def test_split_never_cuts_a_thai_cluster():
    text = "เรียนรู้ทักษะดิจิทัลด้วยตนเองทุกวัน" * 40
    for limit in range(5, 60):
        chunks = split_text(text, limit=limit)
        assert "".join(chunks) == text
        position = 0
        for chunk in chunks:
            position += len(chunk)
            assert tg_len(chunk) <= limit
            assert can_break(text, position), (limit, chunk)
            assert not THAI_FOLLOWER.match(chunk), chunk


THAI_FOLLOWER = re.compile("[\u0e30-\u0e3a\u0e45\u0e47-\u0e4e]")
ALPHABET = "กขคงเแโใไะาำิีึืุู่้๊๋็์ัABC \n😀\ufe0f"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=400), st.integers(min_value=4, max_value=80))
def test_split_keeps_every_character_and_the_limit(text, limit):
    chunks = split_text(text, limit=limit)
    assert re.sub(r"\s", "", "".join(chunks)) == re.sub(r"\s", "", text)
    for chunk in chunks:
        assert chunk.strip() and tg_len(chunk) <= limit


def test_bot_api_failures_map_to_outbox_outcomes():
    assert isinstance(delivery_error(RetryAfter(7), 1), RetryLater)
    assert delivery_error(RetryAfter(7), 1).retry_after == 7
    assert isinstance(delivery_error(Forbidden("blocked"), 42), RecipientBlocked)
    assert isinstance(delivery_error(Forbidden("kicked"), -100), PermanentFailure)
    assert isinstance(delivery_error(BadRequest("chat not found"), 1), PermanentFailure)
    assert isinstance(delivery_error(NetworkError("Bad Gateway"), 1), RetryLater)
    assert isinstance(delivery_error(TimedOut(), 1), RetryLater)
    assert file_base_url("http://127.0.0.1:9/bot") == "http://127.0.0.1:9/file/bot"


async def test_send_before_start_asks_for_a_retry(tmp_path):
    app = await make_app(sqlite_url(tmp_path / "x.db"), telegram_bot_token=TOKEN)
    channel = TelegramChannel(app.settings)
    message = OutboundMessage(1, CHANNEL, "1", None, "reply", (Reply("hi"),), None, None, "k", 1)
    with pytest.raises(RetryLater):
        await channel.send(message)
    await app.close()


# ---- `dlcoach serve` -------------------------------------------------------------------------


def test_serve_refuses_a_webhook_without_a_secret(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET", raising=False)
    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_WEBHOOK_URL": "https://bot.example.go.th/webhooks/telegram",
        "DATABASE_URL": sqlite_url(tmp_path / "serve.db"),
    }
    result = CliRunner().invoke(cli, ["serve"], env=env)
    assert result.exit_code == 2
    assert "TELEGRAM_WEBHOOK_SECRET" in result.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_dlcoach_serve_walks_a_user_through_the_journey_by_polling(server, tmp_path):
    """The issue's "done when": `python -m bot serve` with only a token and a base URL."""
    port, database_url = _free_port(), sqlite_url(tmp_path / "serve.db")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "LINE_", "DATABASE_URL"))
    }
    env.update(
        DLCOACH_FLOOD_BURST="0",  # the test person answers at machine speed
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=server.base_url,
        DATABASE_URL=database_url,
        PYTHONPATH=str(ROOT),
    )
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "bot", "serve", "--port", str(port)),
            cwd=tmp_path,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    reader = build_app(Settings(database_url=database_url, _env_file=None))  # the same file
    try:
        await server.wait_for(lambda: server.polling, within=40)
        async with httpx.AsyncClient() as client:
            health = await client.get(f"http://127.0.0.1:{port}/healthz")
        assert health.json() == {"status": "ok", "database": "ok", "channels": ["telegram", "web"]}
        user = TelegramUser(BotUnderTest(reader, server), user_id=5550008)
        await user.follow()
        assert user.texts()[0] == t(reader, "consent.notice", version=NOTICE_VERSION_TH)
        await whole_journey(user)
        async with reader.sessions() as session:
            [journey] = (await session.exec(select(Journey))).all()
        assert journey.completed_at is not None
    finally:
        await reader.close()
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)
    output = log_path.read_text(errors="replace")
    # uvicorn shuts down cleanly, then re-raises the SIGTERM it captured
    assert process.returncode in (0, -signal.SIGTERM), output[-3000:]
    assert "Application shutdown complete" in output, output[-3000:]
    for source in ("telegram", "bot.channels.telegram", "bot.delivery", "bot.turn", "bot.app"):
        assert f" ERROR {source}" not in output, output[-3000:]
    assert TOKEN not in output, "the bot token must not reach the logs"
