"""A fake LINE Messaging API for tests, served on loopback.

The real ``line-bot-sdk`` async client talks to it unmodified::

    async with FakeLineServer(access_token="tok") as server:
        config = Configuration(host=server.base_url, access_token="tok")
        async with AsyncApiClient(config) as client:
            api = AsyncMessagingApi(client)
            blob = AsyncMessagingApiBlob(client)
            ...

One server answers both LINE hosts. LINE serves uploads and downloads
(``POST /v2/bot/richmenu/{id}/content``, message content) from
``api-data.line.me`` and everything else from ``api.line.me``; the SDK's blob
API hard-codes the data host but only uses it when the ``Configuration`` has
no ``host``. A ``Configuration(host=server.base_url)`` therefore sends blob
calls here too; ``server.data_base_url`` is the same URL, for code that keeps
two base URLs.

The server runs uvicorn in a background thread with its own event loop, so it
keeps answering while a test blocks (a subprocess, a synchronous client).
State is guarded by a lock; everything the tests read returns copies.

Time never passes by itself: reply-token expiry and retry-key lifetime read an
injectable clock (``server.clock``, a :class:`ManualClock` unless one is
given), which tests move with ``server.clock.advance(seconds=61)``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import re
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = [
    "AUTH_FAILED",
    "INVALID_REPLY_TOKEN",
    "MONTHLY_LIMIT",
    "RATE_LIMITED",
    "Delivery",
    "FakeLineServer",
    "Fault",
    "LoadingStart",
    "ManualClock",
    "RecordedRequest",
    "RichMenu",
    "SentPush",
    "SentReply",
    "UserProfile",
    "validate_messages",
]

AUTH_FAILED = (
    "Authentication failed. Confirm that the access token in the authorization header is valid."
)
INVALID_REPLY_TOKEN = "Invalid reply token"
MONTHLY_LIMIT = "You have reached your monthly limit."
RATE_LIMITED = "The API rate limit has been exceeded. Try again later."
RETRY_KEY_ACCEPTED = "The retry key is already accepted"
NOT_FOUND = "Not found"

MAX_MESSAGES = 5
MAX_TEXT = 5000
MAX_URI = 1000
MAX_QUICK_REPLY_ITEMS = 13
MAX_QUICK_REPLY_LABEL = 20
MAX_POSTBACK_DATA = 300
MAX_ACTION_TEXT = 300
MAX_FLEX_ALT_TEXT = 1500
MAX_TEMPLATE_ALT_TEXT = 400
MAX_CAROUSEL_BUBBLES = 12
MAX_FLEX_BUTTON_LABEL = 40
MAX_BUBBLE_BYTES = 30_000
MAX_CAROUSEL_BYTES = 50_000
BOX_LAYOUTS = {"horizontal", "vertical", "baseline"}
FLEX_COMPONENTS = {"box", "button", "image", "video", "icon", "text", "span", "separator", "filler"}
FLEX_BUTTON_ACTIONS = {"postback", "message", "uri", "datetimepicker", "clipboard"}
MAX_RICH_MENU_IMAGE = 1024 * 1024
MAX_CHAT_BAR_TEXT = 14
MAX_RICH_MENU_AREAS = 20
RETRY_KEY_LIFETIME = 24 * 3600.0

MESSAGE_TYPES = {
    "text",
    "textV2",
    "sticker",
    "image",
    "video",
    "audio",
    "location",
    "imagemap",
    "template",
    "flex",
}


# --------------------------------------------------------------------------- clock


class ManualClock:
    """A clock that only moves when told to. Calling it returns an aware UTC datetime."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2025, 1, 6, 2, 0, tzinfo=UTC)
        if self._now.tzinfo is None:
            self._now = self._now.replace(tzinfo=UTC)

    def __call__(self) -> datetime:
        return self._now

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float = 0.0, **delta: float) -> datetime:
        """Move forward by ``seconds`` plus any ``timedelta`` keywords (minutes=..., hours=...)."""
        self._now += timedelta(seconds=seconds, **delta)
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _as_seconds(value: Any) -> float:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    return float(value)


# ------------------------------------------------------------------------- records


@dataclass
class RecordedRequest:
    """One HTTP request as the fake received it, and the status it answered."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    json: Any
    request_id: str
    status: int | None = None

    @property
    def retry_key(self) -> str | None:
        return self.headers.get("x-line-retry-key")


@dataclass
class SentReply:
    """An accepted reply (HTTP 200)."""

    reply_token: str
    to: str  # the chat the token was issued for
    messages: list[dict[str, Any]]
    delivered: bool
    request_id: str
    notification_disabled: bool = False


@dataclass
class SentPush:
    """An accepted push (HTTP 200), including pushes to users who blocked the account."""

    to: str
    messages: list[dict[str, Any]]
    retry_key: str | None
    delivered: bool
    request_id: str
    notification_disabled: bool = False


@dataclass
class Delivery:
    """One message that reached a chat."""

    to: str
    message: dict[str, Any]
    via: str  # "reply" or "push"
    request_id: str


@dataclass
class LoadingStart:
    chat_id: str
    loading_seconds: int
    at: datetime


@dataclass
class RichMenu:
    rich_menu_id: str
    menu: dict[str, Any]  # the request body as sent
    image: bytes | None = None
    image_content_type: str | None = None


@dataclass
class UserProfile:
    user_id: str
    display_name: str
    language: str | None = None
    picture_url: str | None = None
    status_message: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"userId": self.user_id, "displayName": self.display_name}
        if self.picture_url:
            out["pictureUrl"] = self.picture_url
        if self.status_message:
            out["statusMessage"] = self.status_message
        if self.language:
            out["language"] = self.language
        return out


@dataclass
class Fault:
    """An injected failure; see :meth:`FakeLineServer.fail_next`."""

    path_suffix: str
    status: int
    times: int
    method: str | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    after_processing: bool = False
    delay: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        if self.times <= 0:
            return False
        if self.method and self.method.upper() != method:
            return False
        return path.endswith(self.path_suffix)

    def response_body(self) -> Any:
        if self.body is not None:
            return self.body
        if self.status == 429:
            return {"message": RATE_LIMITED}
        if self.status >= 500:
            return {"message": "Internal server error"}
        return {"message": f"Injected failure {self.status}"}


@dataclass
class _ReplyToken:
    to: str
    issued_at: float
    lifetime: float
    used: bool = False


@dataclass
class _AcceptedRetry:
    request_id: str
    accepted_at: float
    sent_messages: list[dict[str, str]]


class _Reject(Exception):
    """Raised inside a handler to answer with a LINE-shaped error."""

    def __init__(self, status: int, message: str, details: list[dict[str, str]] | None = None):
        super().__init__(message)
        self.status = status
        self.payload: dict[str, Any] = {"message": message}
        if details:
            self.payload["details"] = details


# ---------------------------------------------------------------- message checks


def _text_length(text: str) -> int:
    """LINE counts UTF-16 code units: a surrogate-pair emoji is two characters."""
    return len(text.encode("utf-16-le")) // 2


def _walk_actions(node: Any, prop: str, errors: list[dict[str, str]]) -> None:
    if isinstance(node, dict):
        kind = node.get("type")
        if kind == "postback" and "data" in node:
            data = node.get("data")
            if not isinstance(data, str) or not data:
                errors.append({"message": "must be specified", "property": f"{prop}.data"})
            elif _text_length(data) > MAX_POSTBACK_DATA:
                errors.append(
                    {
                        "message": f"Length must be between 0 and {MAX_POSTBACK_DATA}",
                        "property": f"{prop}.data",
                    }
                )
            display = node.get("displayText")
            if isinstance(display, str) and _text_length(display) > MAX_ACTION_TEXT:
                errors.append(
                    {
                        "message": f"Length must be between 0 and {MAX_ACTION_TEXT}",
                        "property": f"{prop}.displayText",
                    }
                )
        if kind == "richmenuswitch":
            for key in ("richMenuAliasId", "data"):
                if not isinstance(node.get(key), str) or not node[key]:
                    errors.append({"message": "must be specified", "property": f"{prop}.{key}"})
        if kind == "uri" and "uri" in node:
            uri = node.get("uri")
            if not isinstance(uri, str) or not re.match(r"(https?|line|tel)://|tel:", uri):
                errors.append({"message": "invalid uri scheme", "property": f"{prop}.uri"})
            elif len(uri) > MAX_URI:
                errors.append(
                    {
                        "message": f"Length must be between 0 and {MAX_URI}",
                        "property": f"{prop}.uri",
                    }
                )
        if (
            kind == "message"
            and isinstance(node.get("text"), str)
            and _text_length(node["text"]) > MAX_ACTION_TEXT
        ):
            errors.append(
                {
                    "message": f"Length must be between 0 and {MAX_ACTION_TEXT}",
                    "property": f"{prop}.text",
                }
            )
        for key, value in node.items():
            _walk_actions(value, f"{prop}.{key}", errors)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _walk_actions(item, f"{prop}[{i}]", errors)


def _json_bytes(node: Any) -> int:
    return len(json.dumps(node, ensure_ascii=False, separators=(",", ":")).encode())


def _check_container(node: Any, prop: str, errors: list[dict[str, str]]) -> None:
    """A Flex container: a bubble, or a carousel of 1-12 bubbles, within LINE's sizes."""
    if not isinstance(node, dict) or node.get("type") not in ("bubble", "carousel"):
        errors.append({"message": "must be specified", "property": prop})
        return
    if node["type"] == "bubble":
        _check_bubble(node, prop, errors)
        return
    bubbles = node.get("contents")
    if not isinstance(bubbles, list) or not 1 <= len(bubbles) <= MAX_CAROUSEL_BUBBLES:
        errors.append(
            {"message": f"Size must be between 1 and {MAX_CAROUSEL_BUBBLES}", "property": prop}
        )
        return
    if _json_bytes(node) > MAX_CAROUSEL_BYTES:
        errors.append({"message": "carousel is too large (max 50 KB)", "property": prop})
    for i, bubble in enumerate(bubbles):
        if not isinstance(bubble, dict) or bubble.get("type") != "bubble":
            errors.append({"message": "must be a bubble", "property": f"{prop}.contents[{i}]"})
        else:
            _check_bubble(bubble, f"{prop}.contents[{i}]", errors)


def _check_bubble(bubble: dict[str, Any], prop: str, errors: list[dict[str, str]]) -> None:
    """Header, body and footer are boxes (the hero may also be an image or video)."""
    if _json_bytes(bubble) > MAX_BUBBLE_BYTES:
        errors.append({"message": "bubble is too large (max 30 KB)", "property": prop})
    if not any(bubble.get(block) for block in ("header", "hero", "body", "footer")):
        errors.append({"message": "must have at least one block", "property": prop})
    for block in ("header", "hero", "body", "footer"):
        node = bubble.get(block)
        if node is None:
            continue
        allowed = ("box", "image", "video") if block == "hero" else ("box",)
        if not isinstance(node, dict) or node.get("type") not in allowed:
            errors.append({"message": "must be a box", "property": f"{prop}.{block}"})
        else:
            _check_component(node, f"{prop}.{block}", errors)


def _check_component(node: Any, prop: str, errors: list[dict[str, str]]) -> None:
    """One Flex component and, for a box, its children."""

    def err(message: str, sub: str = "") -> None:
        errors.append({"message": message, "property": f"{prop}{sub}"})

    if not isinstance(node, dict) or node.get("type") not in FLEX_COMPONENTS:
        err("must be one of the flex components", ".type")
        return
    kind = node["type"]
    if kind == "box":
        if node.get("layout") not in BOX_LAYOUTS:
            err("must be one of horizontal, vertical, baseline", ".layout")
        children = node.get("contents")
        if not isinstance(children, list):
            err("must be specified", ".contents")
            return
        for i, child in enumerate(children):
            _check_component(child, f"{prop}.contents[{i}]", errors)
    elif kind == "text":
        text = node.get("text")
        if not node.get("contents") and (not isinstance(text, str) or not text):
            err("must be specified", ".text")
        if "wrap" in node and not isinstance(node["wrap"], bool):
            err("must be a boolean", ".wrap")
    elif kind == "button":
        action = node.get("action")
        if not isinstance(action, dict) or action.get("type") not in FLEX_BUTTON_ACTIONS:
            err("must be one of the button actions", ".action.type")
            return
        label = action.get("label")
        if not isinstance(label, str) or not label:
            err("must be specified", ".action.label")
        elif _text_length(label) > MAX_FLEX_BUTTON_LABEL:
            err(f"Length must be between 0 and {MAX_FLEX_BUTTON_LABEL}", ".action.label")
        if action["type"] == "postback" and not action.get("data"):
            err("must be specified", ".action.data")


def _check_message(msg: Any, prop: str, errors: list[dict[str, str]]) -> None:
    def err(message: str, sub: str = "") -> None:
        errors.append({"message": message, "property": f"{prop}{sub}"})

    if not isinstance(msg, dict):
        err("must be an object")
        return
    kind = msg.get("type")
    if kind not in MESSAGE_TYPES:
        err("must be one of the message types", ".type")
        return
    if kind in ("text", "textV2"):
        text = msg.get("text")
        if not isinstance(text, str) or not text:
            err("must be specified", ".text")
        elif _text_length(text) > MAX_TEXT:
            err(f"Length must be between 0 and {MAX_TEXT}", ".text")
    elif kind == "flex":
        alt = msg.get("altText")
        if not isinstance(alt, str) or not alt:
            err("must be specified", ".altText")
        elif _text_length(alt) > MAX_FLEX_ALT_TEXT:
            err(f"Length must be between 0 and {MAX_FLEX_ALT_TEXT}", ".altText")
        _check_container(msg.get("contents"), f"{prop}.contents", errors)
    elif kind == "template":
        alt = msg.get("altText")
        if not isinstance(alt, str) or not alt:
            err("must be specified", ".altText")
        elif _text_length(alt) > MAX_TEMPLATE_ALT_TEXT:
            err(f"Length must be between 0 and {MAX_TEMPLATE_ALT_TEXT}", ".altText")
        if not isinstance(msg.get("template"), dict):
            err("must be specified", ".template")
    elif kind in ("image", "video"):
        for key in ("originalContentUrl", "previewImageUrl"):
            url = msg.get(key)
            if not isinstance(url, str) or not url.startswith("https://"):
                err("must be an https URL", f".{key}")
    elif kind == "sticker":
        for key in ("packageId", "stickerId"):
            if not msg.get(key):
                err("must be specified", f".{key}")

    quick = msg.get("quickReply")
    if quick is not None:
        items = quick.get("items") if isinstance(quick, dict) else None
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_QUICK_REPLY_ITEMS:
            err(f"Size must be between 1 and {MAX_QUICK_REPLY_ITEMS}", ".quickReply.items")
        else:
            for i, item in enumerate(items):
                action = item.get("action") if isinstance(item, dict) else None
                if not isinstance(action, dict):
                    err("must be specified", f".quickReply.items[{i}].action")
                    continue
                label = action.get("label")
                if action.get("type") not in ("camera", "cameraRoll", "location") and not label:
                    err("must be specified", f".quickReply.items[{i}].action.label")
                elif isinstance(label, str) and _text_length(label) > MAX_QUICK_REPLY_LABEL:
                    err(
                        f"Length must be between 0 and {MAX_QUICK_REPLY_LABEL}",
                        f".quickReply.items[{i}].action.label",
                    )
    _walk_actions({k: v for k, v in msg.items()}, prop, errors)


def validate_messages(messages: Any) -> list[dict[str, str]]:
    """LINE-style error details for a ``messages`` array; empty when it is acceptable."""
    errors: list[dict[str, str]] = []
    if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_MESSAGES:
        errors.append(
            {"message": f"Size must be between 1 and {MAX_MESSAGES}", "property": "messages"}
        )
        return errors
    for i, msg in enumerate(messages):
        _check_message(msg, f"messages[{i}]", errors)
    return errors


def _bad_request(errors: list[dict[str, str]]) -> _Reject:
    return _Reject(400, f"The request body has {len(errors)} error(s)", errors)


# -------------------------------------------------------------------------- server

Handler = Callable[[Request, RecordedRequest, dict[str, str]], Awaitable[Response]]


class _NoSignalServer(uvicorn.Server):
    """uvicorn without signal handlers (it runs in a thread) and with a quicker stop."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[override]
        yield

    async def main_loop(self) -> None:
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            await asyncio.sleep(0.01)


class FakeLineServer:
    """A LINE Messaging API stand-in on ``127.0.0.1`` (see the module docstring).

    ``quota``: the monthly push limit reported by ``GET /v2/bot/message/quota``
    (``None`` means type ``"none"``, unlimited). ``reply_token_lifetime``:
    seconds a reply token stays usable. ``clock``: a callable returning now
    (``datetime`` or epoch seconds), or an object with ``.now()``; defaults to a
    fresh :class:`ManualClock`. ``bot_user_id``: what ``GET /v2/bot/info``
    answers, and the ``destination`` webhook builders may use.
    """

    def __init__(
        self,
        access_token: str = "test-access-token",
        *,
        quota: int | None = 500,
        quota_used: int = 0,
        reply_token_lifetime: float = 60.0,
        clock: Any = None,
        bot_user_id: str = "Ufa4e00000000000000000000000000b0",
        default_language: str | None = "th",
        port: int = 0,
        channel_secret: str = "",
    ) -> None:
        self.access_token = access_token
        self.channel_secret = channel_secret  # signs the webhook endpoint's test call
        self.quota = quota
        self._quota_used = quota_used
        self.reply_token_lifetime = reply_token_lifetime
        self.clock = clock if clock is not None else ManualClock()
        self.bot_user_id = bot_user_id
        self.default_language = default_language
        self._port = port

        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self.requests: list[RecordedRequest] = []
        self._replies: list[SentReply] = []
        self._pushes: list[SentPush] = []
        self._deliveries: list[Delivery] = []
        self._loading: list[LoadingStart] = []
        self._rich_menus: dict[str, RichMenu] = {}
        self._deleted_rich_menus: list[str] = []
        self.default_rich_menu_id: str | None = None
        self.user_rich_menus: dict[str, str] = {}
        self.rich_menu_aliases: dict[str, str] = {}  # alias id -> rich menu id
        self._reply_tokens: dict[str, _ReplyToken] = {}
        self._retry_keys: dict[str, _AcceptedRetry] = {}
        self._blocked: set[str] = set()
        self._profiles: dict[str, UserProfile] = {}
        self._faults: list[Fault] = []
        # LINE Login ID tokens (what a LIFF app's liff.getIDToken() returns):
        # token -> (user id, channel id, expiry in epoch seconds)
        self._id_tokens: dict[str, tuple[str, str, float]] = {}
        self.webhook_endpoint = ""  # what PUT /v2/bot/channel/webhook/endpoint set

        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.base_url = ""

        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("POST", re.compile(r"/oauth2/v2\.1/verify"), self._verify_id_token),
            ("GET", re.compile(r"/v2/bot/channel/webhook/endpoint"), self._get_endpoint),
            ("PUT", re.compile(r"/v2/bot/channel/webhook/endpoint"), self._set_endpoint),
            ("POST", re.compile(r"/v2/bot/channel/webhook/test"), self._test_endpoint),
            ("POST", re.compile(r"/v2/bot/message/reply"), self._reply),
            ("POST", re.compile(r"/v2/bot/message/push"), self._push),
            ("GET", re.compile(r"/v2/bot/message/quota"), self._quota),
            ("GET", re.compile(r"/v2/bot/message/quota/consumption"), self._consumption),
            ("POST", re.compile(r"/v2/bot/chat/loading/start"), self._loading_start),
            ("GET", re.compile(r"/v2/bot/profile/(?P<user_id>[^/]+)"), self._profile),
            ("GET", re.compile(r"/v2/bot/info"), self._bot_info),
            ("POST", re.compile(r"/v2/bot/richmenu/alias"), self._create_alias),
            ("GET", re.compile(r"/v2/bot/richmenu/alias/list"), self._list_aliases),
            ("POST", re.compile(r"/v2/bot/richmenu/alias/(?P<alias>[^/]+)"), self._update_alias),
            ("GET", re.compile(r"/v2/bot/richmenu/alias/(?P<alias>[^/]+)"), self._get_alias),
            ("DELETE", re.compile(r"/v2/bot/richmenu/alias/(?P<alias>[^/]+)"), self._delete_alias),
            ("POST", re.compile(r"/v2/bot/richmenu"), self._create_rich_menu),
            ("GET", re.compile(r"/v2/bot/richmenu/list"), self._list_rich_menus),
            ("POST", re.compile(r"/v2/bot/richmenu/(?P<id>[^/]+)/content"), self._upload_image),
            ("GET", re.compile(r"/v2/bot/richmenu/(?P<id>[^/]+)/content"), self._download_image),
            ("GET", re.compile(r"/v2/bot/richmenu/(?P<id>[^/]+)"), self._get_rich_menu),
            ("DELETE", re.compile(r"/v2/bot/richmenu/(?P<id>[^/]+)"), self._delete_rich_menu),
            ("POST", re.compile(r"/v2/bot/user/all/richmenu/(?P<id>[^/]+)"), self._set_default),
            ("GET", re.compile(r"/v2/bot/user/all/richmenu"), self._get_default),
            ("DELETE", re.compile(r"/v2/bot/user/all/richmenu"), self._clear_default),
            (
                "POST",
                re.compile(r"/v2/bot/user/(?P<user_id>[^/]+)/richmenu/(?P<id>[^/]+)"),
                self._link_user_menu,
            ),
            ("GET", re.compile(r"/v2/bot/user/(?P<user_id>[^/]+)/richmenu"), self._get_user_menu),
            (
                "DELETE",
                re.compile(r"/v2/bot/user/(?P<user_id>[^/]+)/richmenu"),
                self._unlink_user_menu,
            ),
        ]
        methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
        self.app = Starlette(routes=[Route("/{path:path}", self._dispatch, methods=methods)])

    # ------------------------------------------------------------------ lifecycle

    @property
    def data_base_url(self) -> str:
        """The ``api-data.line.me`` stand-in: the same server as :attr:`base_url`."""
        return self.base_url

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1]) if self.base_url else 0

    def start(self) -> FakeLineServer:
        """Bind a free loopback port and serve in a background thread (blocks until ready)."""
        if self._thread is not None:
            raise RuntimeError("FakeLineServer is already running")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(("127.0.0.1", self._port))
        sock.listen(128)
        self._socket = sock
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(
            self.app,
            loop="asyncio",
            lifespan="off",
            log_level="warning",
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=2,
        )
        self._server = _NoSignalServer(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name=f"fake-line-api-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("FakeLineServer did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._server = None
        self._thread = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __enter__(self) -> FakeLineServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> FakeLineServer:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    # ------------------------------------------------------------- test controls

    def now(self) -> float:
        """The injected clock's reading, as epoch seconds."""
        clock = self.clock
        value = clock() if callable(clock) else clock.now()
        return _as_seconds(value)

    def issue_reply_token(self, to: str, *, lifetime: float | None = None) -> str:
        """A fresh single-use reply token for chat ``to`` (user, group or room id)."""
        token = secrets.token_hex(16)
        with self._lock:
            self._reply_tokens[token] = _ReplyToken(
                to=to,
                issued_at=self.now(),
                lifetime=self.reply_token_lifetime if lifetime is None else lifetime,
            )
        return token

    def issue_id_token(self, user_id: str, channel_id: str, *, lifetime: float = 3600.0) -> str:
        """An ID token of LINE Login channel ``channel_id`` for ``user_id``, as
        LIFF's ``liff.getIDToken()`` gives a page (opaque here: LINE's is a JWT)."""
        header = secrets.token_urlsafe(12)
        token = f"{header}.{secrets.token_urlsafe(48)}.{secrets.token_urlsafe(32)}"
        with self._lock:
            self._id_tokens[token] = (user_id, channel_id, self.now() + lifetime)
        return token

    def block(self, user_id: str) -> None:
        """The user blocked the account: pushes still answer 200 but deliver nothing."""
        with self._lock:
            self._blocked.add(user_id)

    def unblock(self, user_id: str) -> None:
        with self._lock:
            self._blocked.discard(user_id)

    def is_blocked(self, user_id: str) -> bool:
        with self._lock:
            return user_id in self._blocked

    def add_user(
        self,
        user_id: str,
        display_name: str = "",
        *,
        language: str | None = None,
        picture_url: str | None = None,
        status_message: str | None = None,
    ) -> UserProfile:
        """Register the profile ``GET /v2/bot/profile/{userId}`` returns for this user."""
        profile = UserProfile(
            user_id=user_id,
            display_name=display_name or f"LINE user {user_id[-4:]}",
            language=language,
            picture_url=picture_url,
            status_message=status_message,
        )
        with self._lock:
            self._profiles[user_id] = profile
        return profile

    def fail_next(
        self,
        path_suffix: str,
        status: int = 500,
        times: int = 1,
        *,
        method: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        after_processing: bool = False,
        delay: float = 0.0,
    ) -> Fault:
        """Answer the next ``times`` requests whose path ends with ``path_suffix`` with ``status``.

        By default the request is not processed (nothing delivered, no token or
        retry key consumed). ``after_processing=True`` processes it first and
        then answers the failure: the "LINE delivered it but the response was
        lost" case that retry keys exist for. ``delay`` sleeps (really) before
        answering, to exercise client timeouts.
        """
        fault = Fault(
            path_suffix=path_suffix,
            status=status,
            times=times,
            method=method,
            body=body,
            headers=dict(headers or {}),
            after_processing=after_processing,
            delay=delay,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Ends every failure still planned (an outage is over)."""
        with self._lock:
            self._faults.clear()

    @property
    def quota_used(self) -> int:
        with self._lock:
            return self._quota_used

    @quota_used.setter
    def quota_used(self, value: int) -> None:
        with self._lock:
            self._quota_used = value

    # ---------------------------------------------------------------- recordings

    @property
    def replies(self) -> list[SentReply]:
        with self._lock:
            return list(self._replies)

    @property
    def pushes(self) -> list[SentPush]:
        with self._lock:
            return list(self._pushes)

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    @property
    def loading_started(self) -> list[LoadingStart]:
        with self._lock:
            return list(self._loading)

    @property
    def rich_menus(self) -> dict[str, RichMenu]:
        """Rich menus that exist now (deleted ones are in :attr:`deleted_rich_menus`)."""
        with self._lock:
            return dict(self._rich_menus)

    @property
    def deleted_rich_menus(self) -> list[str]:
        with self._lock:
            return list(self._deleted_rich_menus)

    def delivered(self, to: str) -> list[dict[str, Any]]:
        """Every message object that reached chat ``to``, by reply or push, in order."""
        with self._lock:
            return [d.message for d in self._deliveries if d.to == to]

    def delivered_texts(self, to: str) -> list[str]:
        """``text`` (or ``altText``) of each message delivered to ``to``."""
        return [m.get("text") or m.get("altText") or "" for m in self.delivered(to)]

    def requests_to(self, path_suffix: str, method: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [
                r
                for r in self.requests
                if r.path.endswith(path_suffix) and (method is None or r.method == method)
            ]

    def reset_records(self) -> None:
        """Forget recorded traffic (state such as tokens, menus and quota stays)."""
        with self._lock:
            self.requests.clear()
            self._replies.clear()
            self._pushes.clear()
            self._deliveries.clear()
            self._loading.clear()

    # ------------------------------------------------------------------ dispatch

    def _new_request_id(self) -> str:
        return f"{next(self._ids):08x}-{uuid.uuid4().hex[:24]}"

    async def _dispatch(self, request: Request) -> Response:
        body = await request.body()
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        record = RecordedRequest(
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            json=parsed,
            request_id=self._new_request_id(),
        )
        with self._lock:
            self.requests.append(record)
        response = await self._handle(request, record)
        response.headers["x-line-request-id"] = record.request_id
        record.status = response.status_code
        return response

    def _json(
        self, payload: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> JSONResponse:
        return JSONResponse(payload, status_code=status, headers=headers)

    async def _handle(self, request: Request, record: RecordedRequest) -> Response:
        login = record.path.startswith("/oauth2/")  # LINE Login: no bearer token
        if not login and record.headers.get("authorization") != f"Bearer {self.access_token}":
            return self._json({"message": AUTH_FAILED}, 401)

        fault = None
        with self._lock:
            for candidate in self._faults:
                if candidate.matches(record.method, record.path):
                    candidate.times -= 1
                    fault = candidate
                    break
            self._faults = [f for f in self._faults if f.times > 0]
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.after_processing:
                await self._route(request, record)
            return self._json(fault.response_body(), fault.status, fault.headers)
        return await self._route(request, record)

    async def _route(self, request: Request, record: RecordedRequest) -> Response:
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(record.path)
            if match and method == record.method:
                try:
                    return await handler(request, record, match.groupdict())
                except _Reject as rejected:
                    return self._json(rejected.payload, rejected.status)
        return self._json({"message": NOT_FOUND}, 404)

    # ------------------------------------------------------------------ webhook endpoint

    async def _get_endpoint(self, request: Request, record: RecordedRequest, _: dict) -> Response:
        with self._lock:
            endpoint = self.webhook_endpoint
        return self._json({"endpoint": endpoint, "active": bool(endpoint)})

    @staticmethod
    def _endpoint_error(url: Any) -> str | None:
        """LINE takes https only, up to 500 characters; loopback http is let through
        here so that the test call can reach a bot running in the test."""
        if not isinstance(url, str) or not url:
            return "The property, 'endpoint' must be specified."
        if len(url) > 500:
            return "Length must be between 0 and 500"
        loopback = url.startswith(("http://127.0.0.1:", "http://localhost:"))
        if not url.startswith("https://") and not loopback:
            return "Invalid webhook endpoint URL"
        return None

    async def _set_endpoint(self, request: Request, record: RecordedRequest, _: dict) -> Response:
        url = self._body(record).get("endpoint")
        problem = self._endpoint_error(url)
        if problem is not None:
            raise _Reject(400, problem)
        with self._lock:
            self.webhook_endpoint = url
        return self._json({})

    async def _test_endpoint(self, request: Request, record: RecordedRequest, _: dict) -> Response:
        """POST a signed webhook without events to the endpoint, as LINE's "Verify"."""
        body = record.json if isinstance(record.json, dict) else {}
        with self._lock:
            url = body.get("endpoint") or self.webhook_endpoint
        if not url:
            raise _Reject(400, "The webhook endpoint is not set")
        payload = json.dumps({"destination": self.bot_user_id, "events": []}).encode()
        signature = base64.b64encode(
            hmac.new(self.channel_secret.encode(), payload, hashlib.sha256).digest()
        ).decode()
        stamp = datetime.now(UTC).isoformat()
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                answer = await client.post(
                    url,
                    content=payload,
                    headers={"Content-Type": "application/json", "X-Line-Signature": signature},
                )
        except httpx.HTTPError as error:
            return self._json(
                {
                    "success": False,
                    "timestamp": stamp,
                    "statusCode": 0,
                    "reason": "COULD_NOT_CONNECT",
                    "detail": type(error).__name__,
                }
            )
        ok = answer.status_code == 200
        return self._json(
            {
                "success": ok,
                "timestamp": stamp,
                "statusCode": answer.status_code,
                "reason": "OK" if ok else "ERROR_STATUS_CODE",
                "detail": f"{answer.status_code} {answer.reason_phrase}",
            }
        )

    # ------------------------------------------------------------------ LINE Login

    async def _verify_id_token(
        self, request: Request, record: RecordedRequest, _: dict
    ) -> Response:
        """POST /oauth2/v2.1/verify (form: id_token, client_id), as LINE answers it."""
        form = dict(parse_qsl(record.body.decode("utf-8", "replace")))
        token, client_id = form.get("id_token", ""), form.get("client_id", "")
        if not token or not client_id:
            return self._json({"error": "invalid_request", "error_description": "Required."}, 400)
        with self._lock:
            found = self._id_tokens.get(token)
        if found is None:
            return self._json(
                {"error": "invalid_request", "error_description": "Invalid IdToken."}, 400
            )
        user_id, channel_id, expires = found
        if expires <= self.now():
            return self._json(
                {"error": "invalid_request", "error_description": "IdToken expired."}, 400
            )
        if channel_id != client_id:
            return self._json(
                {"error": "invalid_request", "error_description": "Invalid IdToken Audience."},
                400,
            )
        issued = int(expires - 3600)
        return self._json(
            {
                "iss": "https://access.line.me",
                "sub": user_id,
                "aud": channel_id,
                "exp": int(expires),
                "iat": issued,
                "amr": ["linesso"],
                "name": "LINE user",
            }
        )

    # ------------------------------------------------------------------ messages

    def _body(self, record: RecordedRequest) -> dict[str, Any]:
        if not isinstance(record.json, dict):
            raise _Reject(400, "The request body is not valid JSON")
        return record.json

    def _sent_messages(self, messages: list[dict[str, Any]]) -> list[dict[str, str]]:
        out = []
        for msg in messages:
            sent = {"id": str(480000000000000000 + next(self._ids))}
            if msg.get("type") in ("text", "textV2", "sticker", "image", "video", "template"):
                sent["quoteToken"] = secrets.token_urlsafe(24)
            out.append(sent)
        return out

    def _deliver(self, to: str, messages: list[dict[str, Any]], via: str, request_id: str) -> None:
        for msg in messages:
            self._deliveries.append(Delivery(to=to, message=msg, via=via, request_id=request_id))

    async def _reply(self, request: Request, record: RecordedRequest, _: dict) -> Response:
        if record.retry_key is not None:
            raise _Reject(400, "X-Line-Retry-Key is not supported for this API")
        body = self._body(record)
        errors = validate_messages(body.get("messages"))
        token = body.get("replyToken")
        if not isinstance(token, str) or not token:
            errors.append({"message": "must be specified", "property": "replyToken"})
        if errors:
            raise _bad_request(errors)
        now = self.now()
        with self._lock:
            info = self._reply_tokens.get(token)
            if info is None or info.used or now - info.issued_at > info.lifetime:
                raise _Reject(400, INVALID_REPLY_TOKEN)
            info.used = True
            delivered = info.to not in self._blocked
            messages = body["messages"]
            self._replies.append(
                SentReply(
                    reply_token=token,
                    to=info.to,
                    messages=messages,
                    delivered=delivered,
                    request_id=record.request_id,
                    notification_disabled=bool(body.get("notificationDisabled")),
                )
            )
            if delivered:
                self._deliver(info.to, messages, "reply", record.request_id)
            sent = self._sent_messages(messages)
        return self._json({"sentMessages": sent})

    async def _push(self, request: Request, record: RecordedRequest, _: dict) -> Response:
        key = record.retry_key
        if key is not None:
            try:
                uuid.UUID(key)
            except ValueError:
                raise _Reject(400, "The retry key must be a UUID in hexadecimal format") from None
        body = self._body(record)
        errors = validate_messages(body.get("messages"))
        to = body.get("to")
        if not isinstance(to, str) or not to:
            errors.append({"message": "must be specified", "property": "to"})
        if errors:
            raise _bad_request(errors)
        now = self.now()
        with self._lock:
            if key is not None:
                accepted = self._retry_keys.get(key)
                if accepted and now - accepted.accepted_at <= RETRY_KEY_LIFETIME:
                    return self._json(
                        {"message": RETRY_KEY_ACCEPTED, "sentMessages": accepted.sent_messages},
                        409,
                        {"x-line-accepted-request-id": accepted.request_id},
                    )
            if self.quota is not None and self._quota_used >= self.quota:
                raise _Reject(429, MONTHLY_LIMIT)
            delivered = to not in self._blocked
            messages = body["messages"]
            self._pushes.append(
                SentPush(
                    to=to,
                    messages=messages,
                    retry_key=key,
                    delivered=delivered,
                    request_id=record.request_id,
                    notification_disabled=bool(body.get("notificationDisabled")),
                )
            )
            if delivered:
                self._quota_used += 1
                self._deliver(to, messages, "push", record.request_id)
            sent = self._sent_messages(messages)
            if key is not None:
                self._retry_keys[key] = _AcceptedRetry(record.request_id, now, sent)
        return self._json({"sentMessages": sent})

    async def _quota(self, request: Request, record: RecordedRequest, _: dict) -> Response:
        if self.quota is None:
            return self._json({"type": "none"})
        return self._json({"type": "limited", "value": self.quota})

    async def _consumption(self, request: Request, record: RecordedRequest, _: dict) -> Response:
        return self._json({"totalUsage": self.quota_used})

    async def _loading_start(self, request: Request, record: RecordedRequest, _: dict) -> Response:
        body = self._body(record)
        chat_id = body.get("chatId")
        seconds = body.get("loadingSeconds", 20)
        errors = []
        if not isinstance(chat_id, str) or not chat_id:
            errors.append({"message": "must be specified", "property": "chatId"})
        if not isinstance(seconds, int) or not 5 <= seconds <= 60 or seconds % 5:
            errors.append(
                {"message": "must be a multiple of 5 from 5 to 60", "property": "loadingSeconds"}
            )
        if errors:
            raise _bad_request(errors)
        with self._lock:
            self._loading.append(
                LoadingStart(chat_id, seconds, datetime.fromtimestamp(self.now(), UTC))
            )
        return self._json({}, 202)

    async def _profile(self, request: Request, record: RecordedRequest, args: dict) -> Response:
        user_id = args["user_id"]
        with self._lock:
            if user_id in self._blocked:
                raise _Reject(404, NOT_FOUND)
            profile = self._profiles.get(user_id) or UserProfile(
                user_id=user_id,
                display_name=f"LINE user {user_id[-4:]}",
                language=self.default_language,
            )
        return self._json(profile.to_json())

    async def _bot_info(self, request: Request, record: RecordedRequest, _: dict) -> Response:
        return self._json(
            {
                "userId": self.bot_user_id,
                "basicId": "@000dlcoach",
                "displayName": "dlcoach",
                "chatMode": "bot",
                "markAsReadMode": "auto",
            }
        )

    # ---------------------------------------------------------------- rich menus

    def _menu(self, rich_menu_id: str) -> RichMenu:
        menu = self._rich_menus.get(rich_menu_id)
        if menu is None:
            raise _Reject(404, NOT_FOUND)
        return menu

    def _menu_json(self, menu: RichMenu) -> dict[str, Any]:
        return {"richMenuId": menu.rich_menu_id, **menu.menu}

    async def _create_rich_menu(
        self, request: Request, record: RecordedRequest, _: dict
    ) -> Response:
        body = self._body(record)
        errors = []
        size = body.get("size")
        if not isinstance(size, dict) or not {"width", "height"} <= set(size):
            errors.append({"message": "must be specified", "property": "size"})
        if not isinstance(body.get("selected"), bool):
            errors.append({"message": "must be specified", "property": "selected"})
        name = body.get("name")
        if not isinstance(name, str) or not name or len(name) > 300:
            errors.append({"message": "Length must be between 1 and 300", "property": "name"})
        bar = body.get("chatBarText")
        if not isinstance(bar, str) or not bar or _text_length(bar) > MAX_CHAT_BAR_TEXT:
            errors.append(
                {
                    "message": f"Length must be between 1 and {MAX_CHAT_BAR_TEXT}",
                    "property": "chatBarText",
                }
            )
        areas = body.get("areas")
        if not isinstance(areas, list) or len(areas) > MAX_RICH_MENU_AREAS:
            errors.append(
                {
                    "message": f"Size must be between 0 and {MAX_RICH_MENU_AREAS}",
                    "property": "areas",
                }
            )
        else:
            _walk_actions(areas, "areas", errors)
            if isinstance(size, dict):
                for i, area in enumerate(areas):
                    b = area.get("bounds") if isinstance(area, dict) else None
                    inside = isinstance(b, dict) and all(
                        isinstance(b.get(k), int) and b[k] >= 0
                        for k in ("x", "y", "width", "height")
                    )
                    if not inside or (
                        b["x"] + b["width"] > size.get("width", 0)
                        or b["y"] + b["height"] > size.get("height", 0)
                    ):
                        errors.append(
                            {
                                "message": "must be inside the rich menu",
                                "property": f"areas[{i}].bounds",
                            }
                        )
        if errors:
            raise _bad_request(errors)
        rich_menu_id = f"richmenu-{secrets.token_hex(16)}"
        with self._lock:
            self._rich_menus[rich_menu_id] = RichMenu(rich_menu_id, body)
        return self._json({"richMenuId": rich_menu_id})

    async def _list_rich_menus(
        self, request: Request, record: RecordedRequest, _: dict
    ) -> Response:
        with self._lock:
            menus = [self._menu_json(m) for m in self._rich_menus.values()]
        return self._json({"richmenus": menus})

    async def _get_rich_menu(
        self, request: Request, record: RecordedRequest, args: dict
    ) -> Response:
        with self._lock:
            return self._json(self._menu_json(self._menu(args["id"])))

    async def _delete_rich_menu(
        self, request: Request, record: RecordedRequest, args: dict
    ) -> Response:
        with self._lock:
            self._menu(args["id"])
            if args["id"] in self.rich_menu_aliases.values():
                raise _Reject(400, "the richmenu is referred to by a richmenu alias")
            del self._rich_menus[args["id"]]
            self._deleted_rich_menus.append(args["id"])
            if self.default_rich_menu_id == args["id"]:
                self.default_rich_menu_id = None
            self.user_rich_menus = {
                u: m for u, m in self.user_rich_menus.items() if m != args["id"]
            }
        return self._json({})

    async def _upload_image(
        self, request: Request, record: RecordedRequest, args: dict
    ) -> Response:
        content_type = record.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in ("image/png", "image/jpeg"):
            raise _Reject(415, "The content type must be image/png or image/jpeg")
        if not record.body:
            raise _Reject(400, "The image is empty")
        if len(record.body) > MAX_RICH_MENU_IMAGE:
            raise _Reject(400, "The image must be 1 MB or smaller")
        with self._lock:
            menu = self._menu(args["id"])
            if menu.image is not None:
                raise _Reject(400, "An image has already been uploaded to the richmenu")
            menu.image = record.body
            menu.image_content_type = content_type
        return self._json({})

    async def _download_image(
        self, request: Request, record: RecordedRequest, args: dict
    ) -> Response:
        with self._lock:
            menu = self._menu(args["id"])
            if menu.image is None:
                raise _Reject(404, NOT_FOUND)
            return Response(menu.image, media_type=menu.image_content_type)

    async def _set_default(self, request: Request, record: RecordedRequest, args: dict) -> Response:
        with self._lock:
            menu = self._menu(args["id"])
            if menu.image is None:
                raise _Reject(400, "must upload richmenu image before applying it to user")
            self.default_rich_menu_id = menu.rich_menu_id
        return self._json({})

    async def _get_default(self, request: Request, record: RecordedRequest, _: dict) -> Response:
        with self._lock:
            if self.default_rich_menu_id is None:
                raise _Reject(404, "no default richmenu")
            return self._json({"richMenuId": self.default_rich_menu_id})

    async def _clear_default(self, request: Request, record: RecordedRequest, _: dict) -> Response:
        with self._lock:
            self.default_rich_menu_id = None
        return self._json({})

    def _menu_with_image(self, rich_menu_id: object) -> RichMenu:
        if not isinstance(rich_menu_id, str):
            raise _Reject(400, "The request body has 1 error(s)")
        menu = self._menu(rich_menu_id)
        if menu.image is None:
            raise _Reject(400, "must upload richmenu image before applying it to user")
        return menu

    async def _create_alias(self, request: Request, record: RecordedRequest, _: dict) -> Response:
        body = self._body(record)
        alias = body.get("richMenuAliasId")
        if not isinstance(alias, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", alias):
            raise _Reject(400, "richMenuAliasId must be 1 to 32 of A-Z a-z 0-9 _ -")
        with self._lock:
            menu = self._menu_with_image(body.get("richMenuId"))
            if alias in self.rich_menu_aliases:
                raise _Reject(400, "conflict richmenu alias id")
            self.rich_menu_aliases[alias] = menu.rich_menu_id
        return self._json({})

    async def _update_alias(
        self, request: Request, record: RecordedRequest, args: dict
    ) -> Response:
        body = self._body(record)
        with self._lock:
            if args["alias"] not in self.rich_menu_aliases:
                raise _Reject(404, "richmenu alias not found")
            self.rich_menu_aliases[args["alias"]] = self._menu_with_image(
                body.get("richMenuId")
            ).rich_menu_id
        return self._json({})

    async def _get_alias(self, request: Request, record: RecordedRequest, args: dict) -> Response:
        with self._lock:
            menu_id = self.rich_menu_aliases.get(args["alias"])
        if menu_id is None:
            raise _Reject(404, "richmenu alias not found")
        return self._json({"richMenuAliasId": args["alias"], "richMenuId": menu_id})

    async def _list_aliases(self, request: Request, record: RecordedRequest, _: dict) -> Response:
        with self._lock:
            aliases = [
                {"richMenuAliasId": alias, "richMenuId": menu_id}
                for alias, menu_id in self.rich_menu_aliases.items()
            ]
        return self._json({"aliases": aliases})

    async def _delete_alias(
        self, request: Request, record: RecordedRequest, args: dict
    ) -> Response:
        with self._lock:
            if self.rich_menu_aliases.pop(args["alias"], None) is None:
                raise _Reject(404, "richmenu alias not found")
        return self._json({})

    async def _link_user_menu(
        self, request: Request, record: RecordedRequest, args: dict
    ) -> Response:
        with self._lock:
            menu = self._menu(args["id"])
            if menu.image is None:
                raise _Reject(400, "must upload richmenu image before applying it to user")
            self.user_rich_menus[args["user_id"]] = menu.rich_menu_id
        return self._json({})

    async def _get_user_menu(
        self, request: Request, record: RecordedRequest, args: dict
    ) -> Response:
        with self._lock:
            menu_id = self.user_rich_menus.get(args["user_id"])
            if menu_id is None:
                raise _Reject(404, "the user has no richmenu")
            return self._json({"richMenuId": menu_id})

    async def _unlink_user_menu(
        self, request: Request, record: RecordedRequest, args: dict
    ) -> Response:
        with self._lock:
            self.user_rich_menus.pop(args["user_id"], None)
        return self._json({})
