"""A fake Telegram Bot API server for channel tests.

The Telegram channel is tested end to end with the real python-telegram-bot client over real
HTTP, so this server speaks the Bot API closely enough that PTB parses every answer, and it
fails the way Telegram fails (400 for over-long texts and callback data, 403 for blocked
users, 429 with ``retry_after``), because those failures are what the renderer and the
outbox exist to handle.

It runs a Starlette app under uvicorn in a daemon thread with its own event loop, so it keeps
answering even if the code under test blocks its own loop, and it serves sync and async tests
alike. One lock guards all state; the helpers may be called from any thread.

    async with FakeTelegramServer(token="123:ABC") as server:
        bot = telegram.Bot("123:ABC", base_url=server.base_url)
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import html
import itertools
import json
import re
import socket
import struct
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

T = TypeVar("T")
JSON = dict[str, Any]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
BLOCKED = "Forbidden: bot was blocked by the user"
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
OTHER_POLLER = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a content and reply markup of the current message"
)
# Form and multipart values are strings; PTB json.dumps() everything that is not (ints,
# bools, reply_markup...). These fields hold free text and are never JSON-decoded.
_STRING_FIELDS = {"text", "caption", "parse_mode", "url", "secret_token", "callback_query_id"}
_STRING_FIELDS |= {"action", "language_code", "data", "inline_message_id", "file_id"}
# Update kinds Telegram leaves out unless allowed_updates names them.
_OPT_IN_UPDATES = {"chat_member", "message_reaction", "message_reaction_count"}
_CHAT_ACTIONS = {"typing", "upload_photo", "upload_document", "record_voice", "upload_voice"}
_CHAT_ACTIONS |= {"record_video", "upload_video", "choose_sticker", "find_location"}
_HTML_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "a", "code"}
_HTML_TAGS |= {"pre", "blockquote", "tg-spoiler", "tg-emoji"}


class ApiError(Exception):
    """An error answer, raised by method handlers and sent in Telegram's JSON shape."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.retry_after = status, description, retry_after

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:  # PTB raises RetryAfter only when this is present
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart request, byte for byte as the client sent it."""

    field: str
    filename: str | None
    content: bytes
    content_type: str | None


@dataclass(frozen=True)
class Call:
    """One API call as received, so tests assert on what the bot asked for."""

    method: str
    params: JSON
    time: float
    status: int = 200
    response: Any = None  # the ``result`` on success, the description on failure
    via: str = "api"  # or "webhook answer": named in the bot's answer to a webhook call


@dataclass
class _Fault:
    method: str
    status: int | None
    description: str | None
    retry_after: int | None
    times: int
    chat_id: int | None
    delay: float


@dataclass
class _Queued:
    update: JSON
    forced: bool = False  # redelivered: handed out once more although its id was confirmed


# ---------------------------------------------------------------- request decoding


def _decode_value(name: str, value: Any) -> Any:
    if not isinstance(value, str) or name in _STRING_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _header_params(header: str) -> dict[str, str]:
    """``key="value"`` pairs of a header; httpx escapes them the HTML5 way (%22, \\\\)."""
    params = {}
    for key, quoted, bare in re.findall(r';\s*([\w*-]+)=(?:"((?:[^"\\]|\\.)*)"|([^;]*))', header):
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted or not bare else bare.strip()
        value = re.sub(r"%(22|[01][0-9A-F])", lambda m: chr(int(m.group(1), 16)), value)
        params[key.lower()] = value
    return params


def _parse_multipart(body: bytes, content_type: str) -> JSON:
    """A binary-safe multipart/form-data parser (python-multipart is not a dependency)."""
    boundary = _header_params(content_type).get("boundary")
    if not boundary:
        raise bad_request("multipart boundary is missing")
    params: JSON = {}
    for chunk in body.split(b"--" + boundary.encode())[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, content = chunk[2:].removesuffix(b"\r\n").partition(b"\r\n\r\n")
        headers = dict(
            (key.strip().lower(), value.strip())
            for key, _, value in (line.partition(":") for line in head.decode().split("\r\n"))
        )
        disposition = _header_params(headers.get("content-disposition", ""))
        name = disposition.get("name", "")
        if "filename" in disposition:
            ctype = headers.get("content-type")
            params[name] = UploadedFile(name, disposition["filename"], content, ctype)
        else:
            params[name] = _decode_value(name, content.decode())
    for name, value in list(params.items()):  # media groups refer to parts by attach://name
        if isinstance(value, str) and value.startswith("attach://"):
            params[name] = params.get(value.removeprefix("attach://"), value)
    return params


async def _read_params(request: Request) -> JSON:
    """Query string, form, multipart or JSON body: Telegram accepts all four."""
    params: JSON = {k: _decode_value(k, v) for k, v in request.query_params.items()}
    body, ctype = await request.body(), request.headers.get("content-type", "")
    if not body:
        return params
    if ctype.startswith("multipart/form-data"):
        params.update(_parse_multipart(body, ctype))
    elif ctype.startswith("application/json"):
        try:
            params.update(json.loads(body))
        except (ValueError, TypeError):
            raise bad_request("can't parse JSON object") from None
    else:
        pairs = urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)
        params.update({k: _decode_value(k, v) for k, v in pairs})
    return params


# ---------------------------------------------------------------- validation


def _html_text(text: str) -> str:
    """Telegram's HTML subset; unknown or unbalanced tags are a 400, as on the real server."""
    out, stack, pos = [], [], 0
    for m in re.finditer(r"<(/?)([^\s>/]*)[^>]*(>?)", text):
        out.append(html.unescape(text[pos : m.start()]))
        pos, closing, name = m.end(), m.group(1), m.group(2).lower()
        where = f"at byte offset {len(text[: m.start()].encode())}"
        if not m.group(3):
            raise bad_request(f"can't parse entities: Unclosed start tag {where}")
        if name not in _HTML_TAGS:
            kind = "end" if closing else "start"
            raise bad_request(f'can\'t parse entities: Unsupported {kind} tag "{name}" {where}')
        if not closing:
            stack.append(name)
        elif not stack or stack.pop() != name:
            raise bad_request(f"can't parse entities: Unmatched end tag {where}")
    if stack:
        raise bad_request(f"can't parse entities: Can't find end tag for \"{stack[-1]}\"")
    return "".join(out) + html.unescape(text[pos:])


def visible_text(text: str, parse_mode: str | None) -> str:
    """The text as the user sees it, which is what Telegram's length limits apply to.

    HTML is checked like Telegram does; Markdown flavours are only stripped of markup.
    """
    mode = (parse_mode or "").lower()
    if mode == "html":
        return _html_text(text)
    if mode in ("markdown", "markdownv2"):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
        return re.sub(r"\\(.)|[*_~`|]", lambda m: m.group(1) or "", text)
    if mode:
        raise bad_request(f"unsupported parse_mode {parse_mode!r}")
    return text


def check_reply_markup(raw: Any) -> JSON | None:
    """Rejects what Telegram rejects, chiefly callback_data over 64 bytes of UTF-8."""
    if raw is None:
        return None
    markup = raw
    if isinstance(raw, str):
        with contextlib.suppress(ValueError):
            markup = json.loads(raw)
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return markup  # reply keyboards, remove_keyboard and force_reply pass unchecked
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" must be an Array of Arrays')
    buttons = [button for row in rows for button in row]
    if len(buttons) > 100:
        raise bad_request("reply markup is too long")
    for button in buttons:
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise bad_request("can't parse inline keyboard button: Text is not specified")
        if len(button) == 1:
            raise bad_request("text buttons are unallowed in the inline keyboard")
        if "web_app" in button:  # a Mini App opens only from an https address
            url = button["web_app"].get("url") if isinstance(button["web_app"], dict) else None
            if not isinstance(url, str) or not url.startswith("https://"):
                raise bad_request("BUTTON_URL_INVALID")
        if "callback_data" in button:
            data = button["callback_data"]
            size = len(data.encode()) if isinstance(data, str) else 0
            if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                raise bad_request("BUTTON_DATA_INVALID")
    return markup


def _command_entities(text: str) -> list[JSON]:
    """Telegram marks a leading /command, and PTB's CommandHandler needs that entity."""
    m = re.match(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]+)?", text)
    length = len(m.group()) if m else 0  # ASCII only, so UTF-16 length == len()
    return [{"type": "bot_command", "offset": 0, "length": length}] if m else []


class FakeTelegramServer:
    """A Bot API server on 127.0.0.1 that records calls and injects updates and faults.

    Handlers of API methods are the ``_api_<methodName>`` methods; Telegram matches method
    names case-insensitively and so does this server.
    """

    def __init__(
        self,
        token: str = "123:ABC",
        *,
        bot_username: str = "dlcoach_test_bot",
        bot_first_name: str = "DL Coach",
        host: str = "127.0.0.1",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token, self.host, self.port, self._clock = token, host, 0, clock
        bot_id = token.split(":", 1)[0]
        self.bot_user: JSON = {
            "id": int(bot_id) if bot_id.isdigit() else 123456,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self._lock = threading.RLock()
        self._calls: list[Call] = []
        self._queue: list[_Queued] = []
        self._delivered: list[JSON] = []
        self._update_ids = itertools.count(100001)
        self._ids = itertools.count(1)  # callback query and file numbers
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._messages: dict[tuple[int, int], JSON] = {}  # live state, edits applied
        self._sent: list[JSON] = []  # as sent
        self._edits: list[JSON] = []
        self._keyboards: list[JSON] = []
        self._uploads: list[UploadedFile] = []
        self._files: dict[str, UploadedFile | None] = {}  # None: sent by URL
        self._users: dict[int, JSON] = {}
        self._chats: dict[int, JSON] = {}
        self._callbacks: dict[str, bool] = {}  # query id -> answered already
        self._answered: list[JSON] = []
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._menu_buttons: dict[str, JSON] = {}  # chat id ("" for the default) -> button
        self._faults: list[_Fault] = []
        self._blocked: set[int] = set()
        self._webhook: JSON = {}
        self._allowed_updates: list[str] = []
        self._poll_generation = 0
        self._waiting_polls = 0
        self._watchers: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None
        self._closing = False
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        names = [n.removeprefix("_api_") for n in dir(self) if n.startswith("_api_")]
        self._methods = {n.lower(): n for n in [*names, "getUpdates"]}

    # ------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        """What PTB takes as ``base_url``: it appends ``{token}/{method}``."""
        return f"http://{self.host}:{self.port}/bot"

    def method_url(self, method: str) -> str:
        return f"{self.base_url}{self.token}/{method}"

    def start(self) -> FakeTelegramServer:
        """Binds a free port first (so there is no race for it), then serves it from a thread."""
        # IPPROTO_TCP spelled out: asyncio sets TCP_NODELAY only on sockets that name it, and
        # without it every answer waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind((self.host, 0))
        sock.listen(128)
        self.port = sock.getsockname()[1]
        routes = [Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"])]
        config = uvicorn.Config(Starlette(routes=routes), log_level="warning", lifespan="off")
        config.timeout_graceful_shutdown = 2
        self._server, self._closing = uvicorn.Server(config), False
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._serve(sock),), name="fake-telegram", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake Telegram server did not start")
            time.sleep(0.005)
        return self

    async def _serve(self, sock: socket.socket) -> None:
        self._loop, self._wakeup = asyncio.get_running_loop(), asyncio.Event()
        assert self._server is not None
        await self._server.serve(sockets=[sock])

    def stop(self) -> None:
        """Ends pending long polls at once, so shutdown does not wait for their timeouts."""
        if self._server is None or self._thread is None:
            return
        self._closing = True
        self._notify(wake_pollers=True)
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._server = self._thread = self._loop = None

    def __enter__(self) -> FakeTelegramServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> FakeTelegramServer:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    # ------------------------------------------------------------ recorder

    def _copy(self, value: T) -> T:
        with self._lock:
            return copy.deepcopy(value)

    def calls(self, method: str | None = None) -> list[Call]:
        """Every call received, failed ones too (see ``Call.status``), oldest first."""
        with self._lock:
            return [c for c in self._calls if method in (None, c.method)]

    def sent_messages(self, chat_id: int | None = None) -> list[JSON]:
        """Messages the bot sent successfully, as they were when sent."""
        return [m for m in self._copy(self._sent) if chat_id in (None, m["chat"]["id"])]

    def texts(self, chat_id: int | None = None) -> list[str]:
        """The text (or caption) of each message sent, as the user sees it."""
        return [m.get("text", m.get("caption", "")) for m in self.sent_messages(chat_id)]

    def message(self, chat_id: int, message_id: int) -> JSON | None:
        """A message as it is now, edits applied."""
        return self._copy(self._messages.get((chat_id, message_id)))

    @property
    def edits(self) -> list[JSON]:
        """Each successfully edited message, as it was right after that edit."""
        return self._copy(self._edits)

    @property
    def keyboards(self) -> list[JSON]:
        """Every reply_markup accepted by a send or an edit, inline or not, in order."""
        return self._copy(self._keyboards)

    @property
    def answered_callbacks(self) -> list[JSON]:
        """The params of each successful answerCallbackQuery."""
        return self._copy(self._answered)

    @property
    def commands(self) -> dict[str, list[JSON]]:
        """Default-scope command lists by language_code ("" for all languages)."""
        items = self._copy(self._commands).items()
        return {lang: cmds for (scope, lang), cmds in items if scope == "default"}

    def chat_commands(self, chat_id: int) -> list[JSON]:
        """The command list set for one chat (scope "chat", any language), or []."""
        scope = json.dumps({"chat_id": chat_id, "type": "chat"}, sort_keys=True)
        with self._lock:
            return copy.deepcopy(self._commands.get((scope, ""), []))

    def menu_button(self, chat_id: int) -> JSON:
        """The menu button set for one chat (Telegram's default when none was)."""
        with self._lock:
            return copy.deepcopy(self._menu_buttons.get(str(chat_id), {"type": "default"}))

    @property
    def uploads(self) -> list[UploadedFile]:
        """Files uploaded by successful sends, in order."""
        return self._copy(self._uploads)

    @property
    def webhook(self) -> JSON:
        """The last setWebhook params (url, secret_token...), or {} when none is set."""
        return self._copy(self._webhook)

    @property
    def polling(self) -> bool:
        """True while a getUpdates call is waiting for updates: the bot is listening."""
        return self._waiting_polls > 0

    @property
    def delivered(self) -> list[JSON]:
        """Every update handed out by getUpdates, in order, repeats included."""
        return self._copy(self._delivered)

    def file_content(self, file_id: str) -> bytes | None:
        stored = self._files.get(file_id)
        return stored.content if stored else None

    async def wait_for(self, predicate: Callable[[], T], within: float = 5.0) -> T:
        """Waits until ``predicate()`` is truthy, re-checking after every change; returns it.

        Raises AssertionError on time-out, so a test fails with a message instead of hanging.
        """
        watcher = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._watchers.append(watcher)
        try:
            async with asyncio.timeout(within):
                while True:
                    watcher[1].clear()
                    if result := predicate():
                        return result
                    await watcher[1].wait()
        except TimeoutError:
            raise AssertionError(f"condition not met within {within}s") from None
        finally:
            with self._lock:
                self._watchers.remove(watcher)

    async def wait_for_calls(self, method: str, count: int = 1, within: float = 5.0) -> list[Call]:
        """Waits for ``count`` successful calls of ``method``; returns all successful ones."""

        def done() -> list[Call]:
            calls = [c for c in self.calls(method) if c.status == 200]
            return calls if len(calls) >= count else []

        return await self.wait_for(done, within)

    # ------------------------------------------------------------ faults

    def fail_next(
        self,
        method: str,
        status: int | None = 500,
        *,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
        delay: float = 0.0,
    ) -> None:
        """Makes the next ``times`` calls of ``method`` (to ``chat_id``, if given) fail.

        A 429 always carries ``parameters.retry_after`` (default 1), as PTB needs to raise
        RetryAfter. ``delay`` holds the answer back to provoke client time-outs; with
        ``status=None`` the call is then served normally, only late.
        """
        if status == 429 and not retry_after:
            retry_after = 1
        fault = _Fault(method.lower(), status, description, retry_after, times, chat_id, delay)
        with self._lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        """Ends every failure still planned (an outage is over)."""
        with self._lock:
            self._faults.clear()

    def block(self, chat_id: int) -> None:
        """From now on every send or edit to ``chat_id`` answers 403, as for a blocked bot."""
        with self._lock:
            self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        with self._lock:
            self._blocked.discard(chat_id)

    def _take_fault(self, method: str, params: JSON) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method != method.lower() or fault.chat_id not in (
                    None,
                    params.get("chat_id"),
                ):
                    continue
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    # ------------------------------------------------------------ updates, as users make them

    def make_update(self, kind: str, payload: JSON) -> JSON:
        """A new update with the next update_id, not queued: for POSTing to a webhook."""
        with self._lock:
            return {"update_id": next(self._update_ids), kind: payload}

    def queue_update(self, update: JSON, *, forced: bool = False) -> JSON:
        """Queues an update for getUpdates and wakes a waiting long poll."""
        with self._lock:
            self._queue.append(_Queued(copy.deepcopy(update), forced))
        self._notify(wake_pollers=True)
        return update

    def redeliver(self, update: JSON) -> JSON:
        """Queues the same update again, even if its id was confirmed: Telegram does that."""
        return self.queue_update(update, forced=True)

    def user_sends_text(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        queue: bool = True,
    ) -> JSON:
        """A private message; a leading /command gets its bot_command entity, as in Telegram."""
        user = self._user(
            user_id,
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
        )
        message = self._user_message(self._private_chat(user), user, text)
        return self._emit("message", message, queue)

    def user_presses(
        self,
        user_id: int,
        message_id: int,
        callback_data: str,
        *,
        chat_id: int | None = None,
        queue: bool = True,
    ) -> JSON:
        """A tap on an inline button of ``message_id`` (in the user's private chat by default)."""
        user, chat_id = self._user(user_id), user_id if chat_id is None else chat_id
        with self._lock:
            query_id = str(4_000_000_000 + 7919 * next(self._ids))
            self._callbacks[query_id] = False
            message = copy.deepcopy(self._messages.get((chat_id, message_id))) or {
                "message_id": message_id,
                "date": int(self._clock()),
                "chat": self._chat(chat_id),
            }
        query = {
            "id": query_id,
            "from": user,
            "message": message,
            "chat_instance": f"{chat_id}{self.bot_user['id']}",
            "data": callback_data,
        }
        return self._emit("callback_query", query, queue)

    def user_presses_button(
        self, user_id: int, button_text: str, *, chat_id: int | None = None, queue: bool = True
    ) -> JSON:
        """Presses the button labelled ``button_text`` on the newest message that shows one."""
        chat_id = user_id if chat_id is None else chat_id
        with self._lock:
            messages = [
                m for (c, _), m in sorted(self._messages.items(), reverse=True) if c == chat_id
            ]
        labels = []
        for message in messages:
            for row in message.get("reply_markup", {}).get("inline_keyboard", []):
                for button in row:
                    labels.append(button["text"])
                    if button["text"] == button_text and "callback_data" in button:
                        data = button["callback_data"]
                        return self.user_presses(
                            user_id, message["message_id"], data, chat_id=chat_id, queue=queue
                        )
        raise LookupError(f"no button {button_text!r} in chat {chat_id}; there are {labels}")

    def user_blocks(self, user_id: int, *, queue: bool = True) -> JSON:
        """The user blocks the bot: sends now fail with 403, and a my_chat_member update comes."""
        self.block(user_id)
        user, bot = self._user(user_id), dict(self.bot_user)
        member_update = {
            "chat": self._private_chat(user),
            "from": user,
            "date": int(self._clock()),
            "old_chat_member": {"status": "member", "user": bot},
            "new_chat_member": {"status": "kicked", "user": bot, "until_date": 0},
        }
        return self._emit("my_chat_member", member_update, queue)

    def group_message(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        title: str = "Test group",
        chat_type: str = "group",
        first_name: str | None = None,
        queue: bool = True,
    ) -> JSON:
        """A message from ``user_id`` in a group (negative ``chat_id``) or supergroup."""
        user = self._user(user_id, first_name=first_name)
        chat = {"id": chat_id, "type": chat_type, "title": title}
        with self._lock:
            self._chats[chat_id] = chat
        return self._emit("message", self._user_message(chat, user, text), queue)

    def edited_message(
        self,
        user_id: int,
        message_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        queue: bool = True,
    ) -> JSON:
        """The user edits one of their earlier messages (LookupError if there is none)."""
        key = (user_id if chat_id is None else chat_id, message_id)
        with self._lock:
            message = self._messages.get(key)
            if message is None or message["from"]["id"] != user_id:
                raise LookupError(f"user {user_id} sent no message {key}")
            message.update(text=text, edit_date=int(self._clock()))
            message.pop("entities", None)
            message.update({"entities": _command_entities(text)} if text.startswith("/") else {})
            message = copy.deepcopy(message)
        return self._emit("edited_message", message, queue)

    async def post_to_webhook(
        self, update: JSON, *, url: str | None = None, secret_token: str | None = None
    ) -> httpx.Response:
        """POSTs an update as Telegram does: JSON body plus the secret-token header."""
        url = url or self.webhook.get("url")
        if not url:
            raise RuntimeError("no webhook is set and no url was given")
        secret = self.webhook.get("secret_token") if secret_token is None else secret_token
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(url, json=update, headers=headers)
        self.webhook_answered(response.status_code, response.content)
        return response

    def _user(self, user_id: int, **profile: str | None) -> JSON:
        """The user's profile; what a helper names is remembered for the user's next updates."""
        default = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        with self._lock:
            user = self._users.setdefault(user_id, {**default, "language_code": "th"})
            user.update({k: v for k, v in profile.items() if v is not None})
            return copy.deepcopy(user)

    def _private_chat(self, user: JSON) -> JSON:
        chat = {"id": user["id"], "type": "private"}
        chat.update({k: user[k] for k in ("first_name", "last_name", "username") if k in user})
        with self._lock:
            self._chats[user["id"]] = chat
        return copy.deepcopy(chat)

    def _chat(self, chat_id: int) -> JSON:
        if chat_id in self._chats:
            return copy.deepcopy(self._chats[chat_id])
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
        kind = "supergroup" if chat_id < -1_000_000_000_000 else "group"
        return {"id": chat_id, "type": kind, "title": f"Chat {chat_id}"}

    def _new_message(self, chat: JSON, sender: JSON, **content: Any) -> JSON:
        """Stores a message; ids count per chat, shared by the bot and the users, as in Telegram."""
        with self._lock:
            message_id = next(self._message_ids.setdefault(chat["id"], itertools.count(1)))
            message = {
                "message_id": message_id,
                "from": sender,
                "chat": chat,
                "date": int(self._clock()),
            }
            message.update(content)
            self._messages[(chat["id"], message_id)] = message
            return copy.deepcopy(message)

    def _user_message(self, chat: JSON, user: JSON, text: str) -> JSON:
        entities = {"entities": _command_entities(text)} if text.startswith("/") else {}
        return self._new_message(chat, user, text=text, **entities)

    def _emit(self, kind: str, payload: JSON, queue: bool) -> JSON:
        update = self.make_update(kind, payload)
        return self.queue_update(update) if queue else update

    def _notify(self, wake_pollers: bool = False) -> None:
        """Wakes ``wait_for`` callers, and long polls when updates came, each on its own loop."""
        with self._lock:
            targets = [(loop, event.set) for loop, event in self._watchers]
        if wake_pollers and self._loop is not None:
            targets.append((self._loop, self._wake_pollers))
        for loop, callback in targets:
            with contextlib.suppress(RuntimeError):  # a closed loop has no waiter left
                loop.call_soon_threadsafe(callback)

    def _wake_pollers(self) -> None:
        """On the server loop: every waiting getUpdates re-checks the queue."""
        if self._wakeup is not None:
            self._wakeup.set()
            self._wakeup = asyncio.Event()

    # ------------------------------------------------------------ HTTP

    async def _endpoint(self, request: Request) -> JSONResponse:
        """Answers ``/bot{token}/{method}`` and records the call, whatever its outcome."""
        method = self._methods.get(request.path_params["method"].lower())
        if request.path_params["token"] != self.token:
            return JSONResponse(ApiError(401, "Unauthorized").body(), status_code=401)
        if method is None:
            return JSONResponse(ApiError(404, "Not Found").body(), status_code=404)
        try:
            params = await _read_params(request)
        except ApiError as error:
            params, unreadable = {}, error
        else:
            unreadable = None
        status, body = await self._call(method, params, unreadable)
        return JSONResponse(body, status_code=status)

    async def _call(
        self, method: str, params: JSON, unreadable: ApiError | None = None, via: str = "api"
    ) -> tuple[int, JSON]:
        """Performs and records one call, whatever its outcome (`unreadable`: its
        parameters could not be read, and this is the answer)."""
        started = self._clock()
        try:
            if unreadable is not None:
                raise unreadable
            result = await self._dispatch(method, params)
            status, body = 200, {"ok": True, "result": result}
        except ApiError as error:
            status, body, result = error.status, error.body(), error.description
        with self._lock:
            self._calls.append(Call(method, params, started, status, copy.deepcopy(result), via))
        self._notify()
        return status, body

    def webhook_answered(self, status: int, body: bytes) -> None:
        """What Telegram does with the bot's answer to a webhook call: a 200 whose
        JSON names a Bot API ``method`` has that method performed, after the
        answer and without telling the bot how it went (core.telegram.org/bots/api,
        "Making requests when getting updates"). Safe from any thread."""
        try:
            params = json.loads(body) if status == 200 and body else None
        except ValueError:
            return
        if not isinstance(params, dict) or not isinstance(params.get("method"), str):
            return
        method = self._methods.get(params.pop("method").lower())
        if method is not None and self._loop is not None:
            call = self._call(method, params, via="webhook answer")
            asyncio.run_coroutine_threadsafe(call, self._loop)

    async def _dispatch(self, method: str, params: JSON) -> Any:
        if fault := self._take_fault(method, params):
            await asyncio.sleep(fault.delay)
            if fault.status is not None:
                default = f"Too Many Requests: retry after {fault.retry_after}"
                description = fault.description or (
                    default if fault.status == 429 else "Internal Server Error"
                )
                raise ApiError(fault.status, description, fault.retry_after)
        if (
            method.startswith(("send", "edit", "copy", "forward"))
            and params.get("chat_id") in self._blocked
        ):
            raise ApiError(403, BLOCKED)
        if method == "getUpdates":
            return await self._get_updates(params)
        with self._lock:
            return getattr(self, f"_api_{method}")(params)

    # ------------------------------------------------------------ getUpdates

    async def _get_updates(self, params: JSON) -> list[JSON]:
        """Long polling: confirms ids below ``offset`` and waits up to ``timeout`` for news.

        A newer getUpdates ends a waiting one with 409, as Telegram does when two instances
        poll with one token; with a webhook set, getUpdates is a 409 too.
        """
        if self._webhook:
            raise ApiError(409, WEBHOOK_ACTIVE)
        offset = int(params.get("offset") or 0)
        limit = max(1, min(int(params.get("limit") or 100), 100))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(params.get("timeout") or 0)
        with self._lock:
            if isinstance(params.get("allowed_updates"), list):
                self._allowed_updates = params["allowed_updates"]
            self._poll_generation += 1
            generation = self._poll_generation
        self._wake_pollers()
        while True:
            wakeup = self._wakeup  # taken before the check: a wake after it is not missed
            with self._lock:
                if generation != self._poll_generation:
                    raise ApiError(409, OTHER_POLLER)
                updates = self._take_updates(offset, limit)
            if updates or self._closing or wakeup is None or loop.time() >= deadline:
                self._notify()
                return updates
            self._waiting_polls += 1
            self._notify()
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), deadline - loop.time())
            finally:
                self._waiting_polls -= 1

    def _take_updates(self, offset: int, limit: int) -> list[JSON]:
        if offset < 0:  # keep only the last -offset updates
            confirmed = [q for q in self._queue if not q.forced][:offset]
            self._queue = [q for q in self._queue if q not in confirmed]
        elif offset:
            self._queue = [q for q in self._queue if q.forced or q.update["update_id"] >= offset]

        def allowed(queued: _Queued) -> bool:
            kind = next(k for k in queued.update if k != "update_id")
            return (
                kind in self._allowed_updates
                if self._allowed_updates
                else kind not in _OPT_IN_UPDATES
            )

        self._queue = [q for q in self._queue if allowed(q)]  # Telegram drops the others
        batch = self._queue[:limit]
        self._queue = [q for q in self._queue if not (q.forced and q in batch)]
        updates = [copy.deepcopy(q.update) for q in batch]
        self._delivered.extend(copy.deepcopy(updates))
        return updates

    # ------------------------------------------------------------ API methods

    def _chat_id(self, params: JSON) -> int:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise bad_request("chat_id is empty")
        if isinstance(chat_id, bool) or not isinstance(chat_id, int):
            raise bad_request("chat not found")
        return chat_id

    def _checked_text(self, params: JSON, key: str = "text") -> str:
        """Limits count characters after entity parsing, as Telegram counts them."""
        text = visible_text(str(params.get(key) or ""), params.get("parse_mode"))
        if key == "caption":
            if len(text) > MAX_CAPTION_LENGTH:
                raise bad_request("message caption is too long")
        elif not text.strip():
            raise bad_request("message text is empty")
        elif len(text) > MAX_TEXT_LENGTH:
            raise bad_request("message is too long")
        return text

    def _bot_message(self, params: JSON, **content: Any) -> JSON:
        chat_id = self._chat_id(params)
        markup = check_reply_markup(params.get("reply_markup"))
        if markup is not None and "inline_keyboard" in markup:  # only inline ones are echoed
            content["reply_markup"] = markup
        message = self._new_message(self._chat(chat_id), dict(self.bot_user), **content)
        self._keyboards.extend([markup] if markup is not None else [])
        self._sent.append(copy.deepcopy(message))
        return message

    def _api_getMe(self, params: JSON) -> JSON:
        return dict(self.bot_user)

    def _api_sendMessage(self, params: JSON) -> JSON:
        return self._bot_message(params, text=self._checked_text(params))

    def _api_sendPhoto(self, params: JSON) -> JSON:
        return self._send_file(params, "photo")

    def _api_sendDocument(self, params: JSON) -> JSON:
        return self._send_file(params, "document")

    def _send_file(self, params: JSON, kind: str) -> JSON:
        """An upload, a file_id sent before, or a URL (its content is then unknown: b"")."""
        self._chat_id(params)
        value = params.get(kind)
        if value is None:
            raise bad_request(f"there is no {kind} in the request")
        if isinstance(value, str) and value in self._files:
            file_id, upload = value, self._files[value]
        elif isinstance(value, UploadedFile) or str(value).startswith(("http://", "https://")):
            file_id = f"BQAC{kind}{next(self._ids)}"
            upload = value if isinstance(value, UploadedFile) else None
        else:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if upload is not None and not upload.content:
            raise bad_request("file must be non-empty")
        data = upload.content if upload else b""
        meta = {"file_id": file_id, "file_unique_id": f"AQAD{file_id}", "file_size": len(data)}
        content: JSON = {}
        if params.get("caption"):
            content["caption"] = self._checked_text(params, "caption")
        if kind == "photo":
            width, height = 800, 600
            if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
                width, height = struct.unpack(">II", data[16:24])
            thumb = {**meta, "file_id": f"{file_id}s", "width": 90, "height": 90}
            content["photo"] = [thumb, {**meta, "width": width, "height": height}]
        else:
            name, mime = (upload.filename, upload.content_type) if upload else (None, None)
            content["document"] = {**meta, "file_name": name, "mime_type": mime}
        message = self._bot_message(params, **content)
        self._files[file_id] = upload
        if isinstance(value, UploadedFile):
            self._uploads.append(value)
        return message

    def _editable(self, params: JSON) -> JSON:
        key = (self._chat_id(params), int(params.get("message_id") or 0))
        message = self._messages.get(key)
        if message is None:  # inline_message_id is not supported: not found either
            raise bad_request("message to edit not found")
        if message["from"]["id"] != self.bot_user["id"]:
            raise bad_request("message can't be edited")
        return message

    def _apply_edit(self, message: JSON, params: JSON, **changes: Any) -> JSON:
        """Telegram drops the inline keyboard when an edit does not repeat it."""
        markup = check_reply_markup(params.get("reply_markup"))
        inline = markup if markup and "inline_keyboard" in markup else None
        if (
            all(message.get(k) == v for k, v in changes.items())
            and message.get("reply_markup") == inline
        ):
            raise bad_request(NOT_MODIFIED)
        message.pop("reply_markup", None)
        message.update(
            changes, edit_date=int(self._clock()), **({"reply_markup": inline} if inline else {})
        )
        self._keyboards.extend([markup] if markup is not None else [])
        self._edits.append(copy.deepcopy(message))
        return copy.deepcopy(message)

    def _api_editMessageText(self, params: JSON) -> JSON:
        message = self._editable(params)
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        return self._apply_edit(message, params, text=self._checked_text(params))

    def _api_editMessageReplyMarkup(self, params: JSON) -> JSON:
        return self._apply_edit(self._editable(params), params)

    def _api_answerCallbackQuery(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if self._callbacks.get(query_id, True):  # unknown, or answered already
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        self._callbacks[query_id] = True
        self._answered.append(dict(params))
        return True

    def _api_sendChatAction(self, params: JSON) -> bool:
        self._chat_id(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    def _api_setWebhook(self, params: JSON) -> bool:
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._queue.clear()
        url = str(params.get("url") or "")
        self._webhook = {k: v for k, v in params.items() if k != "certificate"} if url else {}
        return True

    def _api_deleteWebhook(self, params: JSON) -> bool:
        return self._api_setWebhook({"drop_pending_updates": params.get("drop_pending_updates")})

    def _api_getWebhookInfo(self, params: JSON) -> JSON:
        info = {
            "url": self._webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
        }
        if self._webhook:
            info["max_connections"] = self._webhook.get("max_connections", 40)
            if self._webhook.get("allowed_updates"):
                info["allowed_updates"] = self._webhook["allowed_updates"]
        return info

    def _commands_key(self, params: JSON) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        scope_key = scope["type"] if set(scope) == {"type"} else json.dumps(scope, sort_keys=True)
        return scope_key, str(params.get("language_code") or "")

    def _api_setMyCommands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("command description is empty")
        self._commands[self._commands_key(params)] = commands
        return True

    def _api_getMyCommands(self, params: JSON) -> list[JSON]:
        return copy.deepcopy(self._commands.get(self._commands_key(params), []))

    def _api_deleteMyCommands(self, params: JSON) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    def _api_setChatMenuButton(self, params: JSON) -> bool:
        button = params.get("menu_button") or {"type": "default"}
        kind = button.get("type")
        if kind not in ("commands", "web_app", "default"):
            raise bad_request("can't parse menu button")
        if kind == "web_app":
            url = str((button.get("web_app") or {}).get("url", ""))
            if not url.startswith("https://") or not button.get("text"):
                raise bad_request("WEB_APP_URL_INVALID" if button.get("text") else "text is empty")
        key = str(params["chat_id"]) if params.get("chat_id") is not None else ""
        self._menu_buttons[key] = button
        return True

    def _api_getChatMenuButton(self, params: JSON) -> JSON:
        key = str(params["chat_id"]) if params.get("chat_id") is not None else ""
        return copy.deepcopy(self._menu_buttons.get(key, {"type": "default"}))
