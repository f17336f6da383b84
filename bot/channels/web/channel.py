"""The web chat at /try: a page that talks to the same core as LINE and Telegram.

A visitor is known by a random token in an HttpOnly cookie (SameSite=Lax, Secure
over HTTPS); the person's id in the database is a hash of it, so the database
holds nothing that would let its reader speak as them. The page posts what the
person typed or tapped (`POST /try/api/say`, JSON only and from the page's own
origin, with an event id of the page's making, so a post sent again is handled
once) and is answered 202 only once the core has stored it. It reads what the
coach said with a long poll (`GET /try/api/messages?after=N`): the messages are
the chat's sent outbox rows, read back through the core (`Hub.history`), so a
reload, a restart or another instance shows the same conversation. Sending a
row to this channel is therefore only telling the waiting page to look.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import logging
import mimetypes
import re
import secrets
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.channels.base import Channel, CoreUnavailable, Hub, OutboundMessage, Progress, no_progress
from bot.channels.http import Malformed, parse_json, read_body, too_large, unavailable
from bot.channels.text import without_pages
from bot.channels.web.pages import page_response, script_json
from handlers.messages import MAX_INCOMING_TEXT, Incoming, Reply

log = logging.getLogger(__name__)

CHANNEL = "web"
COOKIE = "dlcoach_try"
COOKIE_DAYS = 180
MAX_BODY = 64 * 1024  # a typed message is at most MAX_INCOMING_TEXT characters
LONGEST_WAIT = 25.0  # seconds a poll waits for news (below common proxy time-outs)
RECHECK = 1.0  # seconds between looks while waiting (a message sent by another instance)
_EVENT = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_LANGS = ("th", "en")
PAGE_TEXTS = (
    "title",
    "intro",
    "input_label",
    "send",
    "retrying",
    "offline",
    "download",
    "image_alt",
    "you",
    "coach",
    "too_long",
    "other_lang",
)


def person_of(token: str) -> str:
    """The user id a cookie token stands for (a hash: the token itself is never stored)."""
    return "w" + hashlib.sha256(token.encode()).hexdigest()[:31]


class WebChannel(Channel):
    """Serves the /try page and its two endpoints; `send` wakes the page's poll."""

    name = CHANNEL

    def __init__(self, lang: str = "th", *, longest_wait: float = LONGEST_WAIT) -> None:
        self.lang = lang if lang in _LANGS else "th"
        self.longest_wait = longest_wait
        self.hub: Hub | None = None
        self._news: dict[str, asyncio.Event] = {}

    async def start(self, hub: Hub) -> None:
        self.hub = hub

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/try", self._page, methods=["GET"]),
            Route("/try/api/say", self._say, methods=["POST"]),
            Route("/try/api/messages", self._messages, methods=["GET"]),
        ]

    async def send(self, message: OutboundMessage, progress: Progress = no_progress) -> None:
        """The row is the message (the page reads it back once it is marked sent):
        tell a page waiting on this chat to look again."""
        news = self._news.pop(message.chat_id, None)
        if news is not None:
            news.set()

    # ---- the page -------------------------------------------------------------------

    async def _page(self, request: Request) -> Response:
        """GET /try: the chat page, in Thai unless ?lang=en; gives a new visitor a token."""
        lang = request.query_params.get("lang", self.lang)
        lang = lang if lang in _LANGS else self.lang
        if self.hub is None:
            return unavailable()
        hub = self.hub
        other = "en" if lang == "th" else "th"
        texts = {key: hub.content.t(f"web.{key}", lang) for key in PAGE_TEXTS}
        texts["other_lang"] = hub.content.t("web.other_lang", other)  # named in its own language
        values = {key: html.escape(value) for key, value in texts.items()}
        values.update(lang=lang, other=other, texts_json=script_json(texts))
        response = page_response("page.html", values, images="data:")
        if self._token(request) is None:
            response.set_cookie(
                COOKIE,
                secrets.token_urlsafe(24),
                max_age=COOKIE_DAYS * 86400,
                path="/try",
                httponly=True,
                samesite="lax",
                secure=_over_https(request),
            )
        return response

    # ---- what the person did --------------------------------------------------------

    async def _say(self, request: Request) -> Response:
        """POST /try/api/say: {"event", and "text" | "choice" (+ "seq", "label") |
        "start"}; 202 once stored, 503 (try again) when the core could not store it."""
        token = self._token(request)
        if token is None:
            return _error("no session: reload the page", 401)
        if not _same_origin(request):
            return _error("cross-origin request", 403)
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return _error("JSON only", 415)
        body = await read_body(request, MAX_BODY)
        if body is None:
            return too_large()
        try:
            incoming = _incoming(person_of(token), parse_json(body), self.lang)
        except Malformed as exc:
            return _error(str(exc), 400)
        try:
            await self._started().handle(incoming)
        except CoreUnavailable:
            return unavailable()
        return JSONResponse({"ok": True}, status_code=202)

    # ---- what the coach said --------------------------------------------------------

    async def _messages(self, request: Request) -> Response:
        """GET /try/api/messages?after=N[&wait=0]: the messages after outbox row N,
        waiting up to `longest_wait` seconds for one when there are none yet."""
        token = self._token(request)
        if token is None:
            return _error("no session: reload the page", 401)
        after = request.query_params.get("after", "0")
        if not (after.isascii() and after.isdigit() and len(after) < 19):
            return _error("after must be a row number", 400)
        wait = request.query_params.get("wait") != "0"
        chat = person_of(token)
        try:
            found = await self._wait_for(chat, int(after), self.longest_wait if wait else 0.0)
        except Exception:  # noqa: BLE001 - the database is down or locked: the page retries
            log.warning("web chat: could not read the history of a chat", exc_info=True)
            return unavailable()
        return JSONResponse(
            {"messages": [_message_json(m) for m in found]},
            headers={"Cache-Control": "no-store"},
        )

    async def _wait_for(self, chat: str, after: int, patience: float) -> list[OutboundMessage]:
        history = self._started().history
        if history is None:
            return []
        deadline = time.monotonic() + patience
        pause = RECHECK
        while True:
            found = await history(CHANNEL, chat, after)
            left = deadline - time.monotonic()
            if found or left <= 0:
                return found
            news = self._news.setdefault(chat, asyncio.Event())
            try:
                await asyncio.wait_for(news.wait(), min(pause, left))
                pause = 0.2  # woken: the row is marked sent a moment after it is sent
            except TimeoutError:
                pause = RECHECK
            finally:
                if self._news.get(chat) is news and news.is_set():
                    del self._news[chat]

    # ---- helpers --------------------------------------------------------------------

    def _started(self) -> Hub:
        if self.hub is None:
            raise CoreUnavailable("the web chat has not started")
        return self.hub

    @staticmethod
    def _token(request: Request) -> str | None:
        token = request.cookies.get(COOKIE)
        if token is None or not re.fullmatch(r"[A-Za-z0-9_-]{24,64}", token):
            return None
        return token


def _incoming(chat: str, data: Any, lang: str) -> Incoming:
    """The Incoming a post describes; `Malformed` for anything else."""
    if not isinstance(data, dict):
        raise Malformed("a JSON object is expected")
    event = data.get("event")
    if not isinstance(event, str) or not _EVENT.match(event):
        raise Malformed("event must be 8 to 64 letters, digits, - or _")
    page_lang = data.get("lang") if data.get("lang") in _LANGS else lang
    base: dict[str, Any] = {
        "channel": CHANNEL,
        "user_id": chat,
        "chat_id": chat,
        "event_id": f"{chat}:{event}",
        "lang_hint": page_lang,
    }
    if data.get("start") is True:
        return Incoming(kind="follow", **base)
    choice, text = data.get("choice"), data.get("text", data.get("label", ""))
    if not isinstance(text, str):
        raise Malformed("text must be a string")
    if len(text) > MAX_INCOMING_TEXT:
        raise Malformed(f"text longer than {MAX_INCOMING_TEXT} characters")
    if choice is not None:
        seq = data.get("seq")
        if not isinstance(choice, str) or not (seq is None or type(seq) is int):
            raise Malformed("choice must be a string and seq a number")
        return Incoming(kind="choice", choice=choice, question_seq=seq, text=text, **base).cleaned()
    if not text.strip():
        raise Malformed("nothing to say")
    return Incoming(kind="text", text=text, **base).cleaned()


def _message_json(message: OutboundMessage) -> dict[str, Any]:
    return {"id": message.outbox_id, "parts": [_part_json(r) for r in message.replies]}


def _part_json(reply: Reply) -> dict[str, Any]:
    """One reply as the page draws it: the text (shown as text, never as markup), its
    buttons, and any picture or document inline as a data: address. (The one-screen
    assessment opens inside LINE and Telegram only: here the questions are asked.)"""
    reply = without_pages(reply)
    part: dict[str, Any] = {"text": reply.text}
    if reply.question_seq is not None:
        part["seq"] = reply.question_seq
    if reply.choices:
        part["choices"] = [{"id": c.id, "label": c.label} for c in reply.choices]
    if reply.image_png is not None:
        part["image"] = "data:image/png;base64," + base64.b64encode(reply.image_png).decode()
    if reply.document is not None:
        name = reply.document_name or "document"
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        data = base64.b64encode(reply.document).decode()
        part["document"] = {"name": name, "href": f"data:{kind};base64,{data}"}
    return part


def _error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _over_https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip()
    return request.url.scheme == "https" or forwarded == "https"


def _same_origin(request: Request) -> bool:
    """A post from the page itself: its Origin (when the browser sends one) is this host."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host
