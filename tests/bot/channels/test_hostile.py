"""Hostile requests over both webhooks get a clear status and never a traceback: JSON
nested far too deep, bodies over the cap (also when streamed without a length),
Telegram updates missing their chat or sender, and a consented person's text and
button ids that no app would send (lone surrogates, NUL, control characters,
digits that are not ASCII, 30-digit numbers), which get an answer in Thai.

The harnesses are those of `test_line.py` (signed posts, ERROR logs fail the test)
and `test_telegram.py` (the webhook under uvicorn, with the fake Bot API).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlmodel import select

from bot.channels.http import MAX_WEBHOOK_BODY
from storage.models import ProcessedEvent
from tests.bot.channels.test_line import SECRET as LINE_SECRET
from tests.bot.channels.test_line import LineUser, harness  # noqa: F401 - a fixture
from tests.bot.channels.test_telegram import SECRET as TELEGRAM_SECRET
from tests.bot.channels.test_telegram import (  # noqa: F401 - fixtures
    TelegramUser,
    server,
    webhook,
)
from tests.drivers.journey import onboard
from tests.fakes.line_webhook import post_webhook, postback_event, text_message_event, webhook_body

THAI = re.compile(r"[\u0E00-\u0E7F]")
DEEP = 100_000
HOSTILE_TEXTS = [
    "\ud800",  # a lone surrogate: UTF-8 cannot encode it
    "ab\udc00\ud83d cd",  # halves in the wrong order
    "a\x00b",  # NUL: PostgreSQL refuses it in text
    "\x1b[31m\x07\x08\r\x7f",  # terminal escapes and other control characters
    "😀" * 4500,  # longer than any answer, in characters outside the BMP
]
THIRTY = "9" * 30
HOSTILE_IDS = [
    f"fb:{THIRTY}",  # the feedback "reply" button with a number past any database integer
    "fb:๑๒๓",  # Thai digits
    "fb:²",  # isdigit() says yes, int() says no
    f"pv:{THIRTY}",  # "open the record" (admins only)
    "ex:๑",  # "give the certificate" (the head only)
    "lv:9",  # a level no question offers
]


def deep_bodies() -> list[bytes]:
    return [
        b"[" * DEEP + b"]" * DEEP,
        b'{"destination": "x", "update_id": 1, "events": ' + b"[" * DEEP + b"]" * DEEP + b"}",
        b'{"a":' * DEEP + b"1" + b"}" * DEEP,
    ]


def ascii_json(data: Any) -> bytes:
    """JSON with every non-ASCII character escaped, as a lone surrogate can only travel."""
    return json.dumps(data).encode("ascii")


async def streamed(body: bytes) -> AsyncIterator[bytes]:
    """A body sent in chunks without a Content-Length."""
    for start in range(0, len(body), 64 << 10):
        yield body[start : start + (64 << 10)]


# ---- LINE ----------------------------------------------------------------------------------


async def test_line_refuses_deep_json_and_oversized_bodies(harness):  # noqa: F811
    h = harness
    for body in deep_bodies():
        response = await post_webhook(h.webhook_url, body, LINE_SECRET, client=h.client)
        assert response.status_code == 400, response.text
    over = b'{"events": [], "x": "' + b"a" * MAX_WEBHOOK_BODY + b'"}'
    assert (await post_webhook(h.webhook_url, over, LINE_SECRET)).status_code == 413
    async with httpx.AsyncClient() as client:
        chunked = await client.post(h.webhook_url, content=streamed(over))
    assert chunked.status_code == 413
    async with h.app.sessions() as session:
        assert (await session.exec(select(ProcessedEvent))).all() == []
    assert h.channel.rejections.totals["malformed"] == len(deep_bodies())
    assert h.channel.rejections.totals["too large"] == 2


async def test_line_hostile_text_and_postbacks_get_an_answer_in_thai(harness):  # noqa: F811
    h = harness
    person = LineUser(h)
    await onboard(person)
    events = [text_message_event(person.user_id, text, server=h.line) for text in HOSTILE_TEXTS]
    datas = [f"q=1&c={choice}" for choice in HOSTILE_IDS] + [
        "q=²&c=lv:1",
        f"q={THIRTY}&c=lv:1",
        "q=" + "1" * 5000 + "&c=x",
    ]
    events += [postback_event(person.user_id, data, server=h.line) for data in datas]
    for event in events:
        before = len(person.texts())
        body = ascii_json(webhook_body(event))
        response = await post_webhook(h.webhook_url, body, LINE_SECRET, client=h.client)
        assert response.status_code == 200, (event, response.text)
        await h.deliver()
        answers = person.texts()[before:]
        assert answers, event
        assert all(THAI.search(text) for text in answers), answers


# ---- Telegram ------------------------------------------------------------------------------


async def post_raw(url: str, body: bytes | AsyncIterator[bytes]) -> httpx.Response:
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(url, content=body, headers=headers)


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.split(".")[0] in ("bot", "handlers", "storage")
    ]


async def test_telegram_refuses_deep_json_and_oversized_bodies(webhook, caplog):  # noqa: F811
    url = webhook.webhook_url
    for body in deep_bodies():
        assert (await post_raw(url, body)).status_code == 400
    # 20 MB used to be read whole; the cap is LINE's.
    over = b'{"update_id": 1, "message": {"text": "' + b"a" * (20 << 20) + b'"}}'
    assert (await post_raw(url, over)).status_code == 413
    assert (await post_raw(url, streamed(over[: MAX_WEBHOOK_BODY + 100]))).status_code == 413
    async with webhook.app.sessions() as session:
        assert (await session.exec(select(ProcessedEvent))).all() == []
    assert webhook.channel.rejections.totals["too large"] == 2
    assert errors_logged(caplog) == []


async def test_telegram_updates_without_a_chat_or_sender_are_ignored(webhook, caplog):  # noqa: F811
    srv = webhook.server
    user = {"id": 5550101, "is_bot": False, "first_name": "Somchai", "language_code": "th"}
    text = srv.user_sends_text(5550101, "/start", queue=False)
    text["message"].pop("chat")
    pressed = srv.user_presses(5550101, 1, "1|lv:2", queue=False)
    pressed["callback_query"].pop("from")
    no_chat = srv.user_presses(5550101, 1, "1|lv:2", queue=False)
    no_chat["callback_query"]["message"] = {
        "message_id": 1,
        "date": 1,
        "reply_markup": {"inline_keyboard": [[{"text": "x", "callback_data": "1|lv:2"}]]},
    }
    odd = srv.user_presses(5550101, 1, "1|lv:2", queue=False)
    odd["callback_query"].pop("message")
    odd["callback_query"]["data"] = ["not", "a", "string"]
    blocked = srv.make_update(
        "my_chat_member",
        {
            "from": user,
            "date": 0,
            "old_chat_member": {"status": "member", "user": user},
            "new_chat_member": {"status": "kicked", "user": user, "until_date": 0},
        },
    )
    odd_user = srv.user_presses(5550101, 1, "1|lv:2", queue=False)
    odd_user["callback_query"]["from"] = {"id": "abc"}
    statuses = []
    for update in (text, pressed, no_chat, odd, blocked, odd_user):
        statuses.append((await srv.post_to_webhook(update)).status_code)
    # Nothing to answer: ignored with 200, or refused as unreadable with 400.
    assert statuses == [200, 200, 200, 200, 200, 400]
    async with webhook.app.sessions() as session:
        processed = (await session.exec(select(ProcessedEvent))).all()
    # The button on a message without its chat is still a press by that sender.
    assert [p.event_id for p in processed] == [str(no_chat["update_id"])]
    assert errors_logged(caplog) == []


async def test_telegram_hostile_text_and_buttons_get_an_answer_in_thai(webhook, caplog):  # noqa: F811
    srv = webhook.server
    person = TelegramUser(webhook, user_id=5550102)
    await onboard(person)
    message_id = srv.sent_messages(person.user_id)[-1]["message_id"]
    updates = []
    for text in HOSTILE_TEXTS:
        update = srv.user_sends_text(person.user_id, "x", language_code="th", queue=False)
        update["message"]["text"] = text
        updates.append(update)
    datas = [f"1|{choice}" for choice in HOSTILE_IDS] + [*HOSTILE_IDS, "²|lv:1", f"{THIRTY}|x"]
    updates += [srv.user_presses(person.user_id, message_id, d, queue=False) for d in datas]
    for update in updates:
        before = len(person.texts())
        assert (await post_raw(webhook.webhook_url, ascii_json(update))).status_code == 200
        await webhook.settle(update["update_id"])
        answers = person.texts()[before:]
        assert answers, update
        assert all(THAI.search(text) for text in answers), answers
    assert errors_logged(caplog) == []
