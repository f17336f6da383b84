"""The LINE channel: signed webhooks in, replies (free) before pushes (counted).

In: `POST /webhooks/line` checks `X-Line-Signature` over the exact body bytes,
turns follow, unfollow, text and postback events into `Incoming` and hands
them to `App.handle` (which dedupes by `webhookEventId`). Group and room text
goes to the core as a group message; everything else is acknowledged and
ignored. While a person's answer is prepared, LINE shows its loading dots.

Out: `send` answers with the row's reply token while it is fresh and pushes
otherwise, with an `X-Line-Retry-Key` derived from the outbox row so that a
retry after a lost response never delivers twice. Nudges (non-essential
replies) wait when the month's push quota is nearly used; replies never do.

LINE takes images and documents only by https URL, so they are stored in the
`media` table and served from `GET /media/{id}/{name}` under
DLCOACH_PUBLIC_URL; without that address the text goes alone.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import io
import json
import logging
import mimetypes
import re
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import aiohttp
from linebot.v3.messaging import (
    ApiException,
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    PushMessageRequest,
    ReplyMessageRequest,
    ShowLoadingAnimationRequest,
)
from linebot.v3.messaging import Message as SdkMessage
from linebot.v3.models.events import UnknownEvent
from linebot.v3.webhooks import (
    Event,
    FollowEvent,
    GroupSource,
    MessageEvent,
    PostbackEvent,
    RoomSource,
    TextMessageContent,
    UnfollowEvent,
    UserSource,
)
from sqlmodel import delete
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.channels.base import (
    Channel,
    Deferred,
    OutboundMessage,
    PermanentFailure,
    RecipientBlocked,
    RetryLater,
)
from bot.channels.line_render import MediaLinks, batches, decode_postback, render
from bot.config import Settings
from handlers.messages import Incoming, Reply
from storage.db import transaction
from storage.models import AuditLog, ChannelAccount, Media, Person
from storage.outbox import record_progress
from storage.timeutil import as_utc

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from bot.app import App

log = logging.getLogger(__name__)

CHANNEL = "line"
PUBLIC_API = "https://api.line.me"
PUBLIC_DATA_API = "https://api-data.line.me"
REQUEST_TIMEOUT = 15.0  # seconds for a send
QUICK_TIMEOUT = 3.0  # seconds for best-effort calls made while LINE waits for our 200
LOADING_SECONDS = 10
QUOTA_CACHE = timedelta(seconds=60)
PROFILE_CACHE_SECONDS = 3600.0
PROFILE_CACHE_SIZE = 10_000
MEDIA_TTL = timedelta(days=30)
MAX_WEBHOOK_BODY = 1 << 20  # LINE's webhook bodies are a few kB
MAX_PREVIEW_BYTES = 1_000_000  # LINE's limit for previewImageUrl
RETRY_KEY_NAMESPACE = uuid.UUID("5b3f0c1e-8d0a-4f5e-9c61-2f1d6a7b9e40")
_MEDIA_ID = re.compile(r"[0-9a-f]{32}")
_NETWORK_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError)


# ------------------------------------------------------------------ configuration


def data_api_host(base_url: str) -> str:
    """Where uploads go: api-data.line.me for the public API, else the same server
    (the SDK's blob API would otherwise keep the public data host)."""
    base = base_url.rstrip("/")
    return PUBLIC_DATA_API if base == PUBLIC_API else base


def api_configuration(settings: Settings, *, data: bool = False) -> Configuration:
    """An SDK configuration pointed at LINE_API_BASE_URL (or its data host)."""
    base = settings.line_api_base_url.rstrip("/")
    return Configuration(
        host=data_api_host(base) if data else base,
        access_token=settings.line_channel_access_token or "",
    )


def verify_signature(body: bytes, signature: str | None, secret: str) -> bool:
    """X-Line-Signature is base64(HMAC-SHA256(secret, body)); compared in constant time."""
    if not signature or not secret:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, signature.strip().encode("ascii", "replace"))


def retry_key(message: OutboundMessage, part: int = 0) -> str:
    """A UUID that is the same every time this outbox row (and batch) is retried;
    the chat id is mixed in so a reused row id after a database reset cannot
    collide with a key LINE still remembers for someone else."""
    name = f"{message.retry_key}|{message.chat_id}" + (f"|{part}" if part else "")
    return str(uuid.uuid5(RETRY_KEY_NAMESPACE, name))


# -------------------------------------------------------------------- events in


@dataclass(frozen=True)
class EventView:
    """The parts of a LINE event the core needs, before profile enrichment."""

    incoming: Incoming
    redelivery: bool
    wants_loading: bool


def parse_event(raw: Any) -> Event | None:
    """The SDK's model of one event; None for kinds the SDK does not know."""
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        return None
    try:
        event = Event.from_dict(raw)
    except (ValueError, TypeError, KeyError):
        return None
    return None if isinstance(event, UnknownEvent) else event


def _mode(event: Event) -> str:
    mode = getattr(event, "mode", None)
    return str(getattr(mode, "value", mode) or "active")


def _postback_incoming(data: str, base: dict[str, Any]) -> Incoming:
    """Quick replies carry `q=<seq>&c=<id>`; rich-menu buttons carry `c=go:<command>`
    without a question, which is the same as typing the command."""
    postback = decode_postback(data)
    if postback.choice is None:
        # Not ours (an old menu, another tool): the core answers with the current question.
        return Incoming(kind="choice", choice=data[:64] or "?", **base)
    if postback.question_seq is None and postback.choice.startswith("go:"):
        return Incoming(kind="text", text="/" + postback.choice.removeprefix("go:"), **base)
    return Incoming(
        kind="choice", choice=postback.choice, question_seq=postback.question_seq, **base
    )


def _private_incoming(event: Event, base: dict[str, Any]) -> Incoming | None:
    if isinstance(event, FollowEvent):
        return Incoming(kind="follow", **base)
    if isinstance(event, UnfollowEvent):
        return Incoming(kind="unfollow", **{**base, "reply_token": None})
    if isinstance(event, PostbackEvent):
        return _postback_incoming(event.postback.data or "", base)
    if isinstance(event, MessageEvent):
        if isinstance(event.message, TextMessageContent):
            return Incoming(kind="text", text=event.message.text or "", **base)
        # A sticker, photo or file: an empty answer, so the core re-asks its question.
        return Incoming(kind="text", text="", **base)
    return None


def view_event(event: Event) -> EventView | None:
    """Map one SDK event to an `Incoming`, or None when the coach has nothing to do with it."""
    if _mode(event) == "standby":  # another module owns the chat right now
        return None
    source = event.source
    event_id = getattr(event, "webhook_event_id", None)
    reply_token = getattr(event, "reply_token", None)
    context = getattr(event, "delivery_context", None)
    redelivery = bool(getattr(context, "is_redelivery", False))
    if isinstance(source, UserSource) and source.user_id:
        base = {
            "channel": CHANNEL,
            "user_id": source.user_id,
            "chat_id": source.user_id,
            "reply_token": reply_token,
            "event_id": event_id,
        }
        incoming = _private_incoming(event, base)
        if incoming is None:
            return None
        loading = incoming.kind in ("text", "choice") and not redelivery
        return EventView(incoming, redelivery, loading)
    if isinstance(source, GroupSource | RoomSource) and isinstance(event, MessageEvent):
        if not isinstance(event.message, TextMessageContent):
            return None
        chat_id = source.group_id if isinstance(source, GroupSource) else source.room_id
        if not chat_id:
            return None
        incoming = Incoming(
            channel=CHANNEL,
            user_id=source.user_id or chat_id,
            chat_id=chat_id,
            kind="text",
            text=event.message.text or "",
            reply_token=reply_token,
            event_id=event_id,
            chat_type="group",
        )
        return EventView(incoming, redelivery, False)
    return None


@dataclass(frozen=True)
class Profile:
    display_name: str | None
    language: str | None


class ProfileCache:
    """Display names and languages from LINE, kept an hour in memory.

    Only a cache: losing it costs one API call. It lets onboarding offer the
    person's LINE name and choose their language before they have one here.
    """

    def __init__(self, size: int = PROFILE_CACHE_SIZE, ttl: float = PROFILE_CACHE_SECONDS):
        self.size, self.ttl = size, ttl
        self._items: OrderedDict[str, tuple[float, Profile]] = OrderedDict()

    def get(self, user_id: str) -> Profile | None:
        item = self._items.get(user_id)
        if item is None or item[0] < time.monotonic():
            return None
        return item[1]

    def put(self, user_id: str, profile: Profile) -> None:
        self._items[user_id] = (time.monotonic() + self.ttl, profile)
        self._items.move_to_end(user_id)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


# ----------------------------------------------------------------------- quota


@dataclass
class QuotaReading:
    """The month's push allowance (None: unlimited) and how much of it is used."""

    limit: int | None
    used: int
    read_at: datetime

    def share_used(self) -> float:
        if self.limit is None:
            return 0.0
        return 1.0 if self.limit <= 0 else self.used / self.limit


@dataclass(frozen=True)
class Recipient:
    """Who an outbox row goes to, as far as sending cares."""

    active: bool
    person_id: int | None
    lang: str


class _MonthlyLimit(Exception):
    """LINE refused a push: the month's quota is used up."""


# --------------------------------------------------------------------- channel


class LineChannel(Channel):
    """LINE Messaging API adapter (line-bot-sdk v3, async client)."""

    name = CHANNEL

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app: App | None = None
        self._client: AsyncApiClient | None = None
        self.api: AsyncMessagingApi | None = None
        self.profiles = ProfileCache()
        self._quota: QuotaReading | None = None

    # ---- lifecycle ------------------------------------------------------------

    async def start(self, app: App) -> None:
        """Open the SDK client inside the running loop (aiohttp needs it)."""
        self.app = app
        if self._client is None:
            self._client = AsyncApiClient(api_configuration(self.settings))
            self.api = AsyncMessagingApi(self._client)

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.close()
        self._client = self.api = None

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/webhooks/line", self.webhook, methods=["POST"]),
            Route("/media/{media_id}/{filename}", self.media, methods=["GET", "HEAD"]),
        ]

    # ---- webhook --------------------------------------------------------------

    async def webhook(self, request: Request) -> Response:
        """Verify, parse, hand each event to the core; 200 once all are recorded."""
        body = await _read_body(request)
        if body is None:
            return JSONResponse({"error": "body too large"}, status_code=413)
        secret = self.settings.line_channel_secret or ""
        if not verify_signature(body, request.headers.get("x-line-signature"), secret):
            log.warning("rejected a LINE webhook with a missing or wrong signature")
            return JSONResponse({"error": "invalid signature"}, status_code=401)
        try:
            payload = json.loads(body)
        except ValueError:
            return JSONResponse({"error": "malformed JSON"}, status_code=400)
        events = payload.get("events") if isinstance(payload, dict) else None
        if not isinstance(events, list):
            return JSONResponse({"error": "no events list"}, status_code=400)
        if self.app is None or self.api is None:
            return JSONResponse({"error": "starting"}, status_code=503)
        failed = 0
        for raw in events:
            try:
                await self._handle_event(raw)
            except Exception:
                failed += 1
                # Type and id only: the event itself may carry what the person wrote.
                kind = raw.get("type") if isinstance(raw, dict) else None
                event_id = raw.get("webhookEventId") if isinstance(raw, dict) else None
                log.exception("LINE %s event %s could not be handled", kind, event_id)
        # A 500 makes LINE redeliver (when enabled); handled events are deduped then.
        return JSONResponse({"ok": not failed}, status_code=500 if failed else 200)

    async def _handle_event(self, raw: Any) -> None:
        event = parse_event(raw)
        view = view_event(event) if event is not None else None
        if view is None:
            kind = raw.get("type") if isinstance(raw, dict) else type(raw).__name__
            log.debug("ignoring LINE event of type %s", kind)
            return
        incoming = view.incoming
        if incoming.chat_type == "private" and incoming.kind != "unfollow":
            profile, _ = await asyncio.gather(
                self._profile(incoming.user_id),
                self._show_loading(incoming.chat_id) if view.wants_loading else _nothing(),
            )
            if profile is not None:
                incoming = replace(
                    incoming, display_name=profile.display_name, lang_hint=profile.language
                )
        assert self.app is not None
        await self.app.handle(incoming)

    async def _profile(self, user_id: str) -> Profile | None:
        """The person's LINE name and language (best effort, cached)."""
        cached = self.profiles.get(user_id)
        if cached is not None:
            return cached
        assert self.api is not None
        try:
            found = await self.api.get_profile(user_id, _request_timeout=QUICK_TIMEOUT)
        except (ApiException, *_NETWORK_ERRORS) as exc:
            log.info("no LINE profile for a user: %s", _short(exc))
            return None
        profile = Profile(found.display_name or None, found.language or None)
        self.profiles.put(user_id, profile)
        return profile

    async def _show_loading(self, chat_id: str) -> None:
        """LINE's typing dots until our answer arrives (best effort: never blocks the answer)."""
        assert self.api is not None
        request = ShowLoadingAnimationRequest(chat_id=chat_id, loading_seconds=LOADING_SECONDS)
        try:
            await self.api.show_loading_animation(request, _request_timeout=QUICK_TIMEOUT)
        except (ApiException, *_NETWORK_ERRORS) as exc:
            log.warning("LINE loading animation failed: %s", _short(exc))

    # ---- media ---------------------------------------------------------------

    async def media(self, request: Request) -> Response:
        """Serve a stored chart or document to LINE's servers and the person's phone."""
        media_id = request.path_params["media_id"]
        if self.app is None or not _MEDIA_ID.fullmatch(media_id):
            return Response(status_code=404)
        async with self.app.sessions() as session:
            item = await session.get(Media, media_id)
        if item is None or as_utc(item.created_at) < self.app.clock.now() - MEDIA_TTL:
            return Response(status_code=404)
        headers = {"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"}
        if not item.content_type.startswith("image/"):
            headers["Content-Disposition"] = (
                f"attachment; filename*=UTF-8''{quote(item.filename, safe='')}"
            )
        return Response(item.content, media_type=item.content_type, headers=headers)

    async def _publish_media(self, message: OutboundMessage) -> MediaLinks:
        """Store the row's images and documents and return their public URLs.

        Ids are derived from the row, so a retry reuses the same files and links.
        """
        base = (self.settings.dlcoach_public_url or "").rstrip("/")
        links = MediaLinks.none()
        files = [f for i, r in enumerate(message.replies) for f in _files_of(i, r)]
        if not base or not files:
            return links
        assert self.app is not None
        now = self.app.clock.now()
        async with transaction(self.app.sessions) as session:
            for file in files:
                media_id = self._media_id(message, file.part)
                if await session.get(Media, media_id) is None:
                    session.add(
                        Media(
                            id=media_id,
                            content=file.content,
                            content_type=file.content_type,
                            filename=file.filename[:200],
                            created_at=now,
                        )
                    )
                url = f"{base}/media/{media_id}/{quote(file.filename, safe='')}"
                getattr(links, file.role)[file.index] = url
            await session.exec(delete(Media).where(Media.created_at < now - MEDIA_TTL))
        return links

    def _media_id(self, message: OutboundMessage, part: str) -> str:
        """Unguessable without the channel secret, stable across retries of the row."""
        secret = (self.settings.line_channel_secret or "").encode()
        name = f"{message.retry_key}|{message.chat_id}|{part}".encode()
        return hmac.new(secret, name, hashlib.sha256).hexdigest()[:32]

    # ---- sending ---------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> None:
        """Reply while the token is fresh, push the rest; see the module docstring.

        A row that needs more than one request (over 5 messages) records each
        request that went out, so a retry resumes after it instead of repeating it.
        """
        if self.api is None or self.app is None:
            raise RetryLater("the LINE channel is not started")
        recipient = await self._recipient(message)
        if not recipient.active:
            raise RecipientBlocked("the person unfollowed the LINE account")
        done = message.sent_parts
        token_fresh = done == 0 and self._reply_token_fresh(message)
        if not token_fresh and not any(r.essential for r in message.replies):
            await self._quota_guard(message, recipient)
        links = await self._publish_media(message)
        t = partial(self._translate, recipient.lang)
        parts = batches(render(message.replies, t, links))
        for number in range(done, len(parts)):
            replied = False
            if number == 0 and token_fresh and message.reply_token:
                replied = await self._reply(message.reply_token, parts[0])
                if not replied:
                    log.info("outbox %s: reply token no longer valid, pushing", message.outbox_id)
            if not replied:
                await self._push_part(message, parts[number], number, recipient)
            if number + 1 < len(parts):
                await self._record_progress(message, number + 1)

    async def _record_progress(self, message: OutboundMessage, sent: int) -> None:
        assert self.app is not None
        async with transaction(self.app.sessions) as session:
            await record_progress(session, message.outbox_id, sent)

    def _translate(self, lang: str, key: str, **values: object) -> str:
        assert self.app is not None
        return self.app.content.t(key, lang, **values)

    def _reply_token_fresh(self, message: OutboundMessage) -> bool:
        if not message.reply_token or message.reply_token_expires_at is None:
            return False
        assert self.app is not None
        return as_utc(message.reply_token_expires_at) > self.app.clock.now()

    async def _recipient(self, message: OutboundMessage) -> Recipient:
        assert self.app is not None
        default = self.app.settings.default_lang
        if message.account_id is None:
            return Recipient(True, None, default)
        async with self.app.sessions() as session:
            account = await session.get(ChannelAccount, message.account_id)
            if account is None:
                return Recipient(True, None, default)
            person = await session.get(Person, account.person_id)
        # Only the person's own chat follows their block; a group they are in does not.
        active = account.active or account.chat_id != message.chat_id
        return Recipient(active, account.person_id, person.lang if person else default)

    async def _reply(self, token: str, batch: list[dict[str, Any]]) -> bool:
        """Send by reply token; False when LINE says the token is unusable (expired, used)."""
        assert self.api is not None
        request = ReplyMessageRequest(reply_token=token, messages=_sdk_messages(batch))
        try:
            await self.api.reply_message(request, _request_timeout=REQUEST_TIMEOUT)
        except ApiException as exc:
            if exc.status == 400 and "reply token" in _error_message(exc).lower():
                return False
            raise _delivery_error(exc, "reply") from exc
        except _NETWORK_ERRORS as exc:
            raise RetryLater(f"reply: {_short(exc)}") from exc
        return True

    async def _push_part(
        self,
        message: OutboundMessage,
        batch: list[dict[str, Any]],
        part: int,
        recipient: Recipient,
    ) -> None:
        try:
            await self._push(message, batch, part)
        except _MonthlyLimit as exc:
            reading = await self._read_quota()
            await self._audit_deferral(message, recipient, "monthly_limit", reading)
            raise Deferred("LINE push quota for the month is used up") from exc

    async def _push(self, message: OutboundMessage, batch: list[dict[str, Any]], part: int) -> None:
        """Push with a retry key: a 409 means LINE already has this batch, which is success."""
        assert self.api is not None
        request = PushMessageRequest(to=message.chat_id, messages=_sdk_messages(batch))
        try:
            await self.api.push_message(
                request,
                x_line_retry_key=retry_key(message, part),
                _request_timeout=REQUEST_TIMEOUT,
            )
        except ApiException as exc:
            if exc.status == 409:
                log.info("outbox %s: LINE had already accepted this push", message.outbox_id)
                return
            if exc.status == 429 and "monthly limit" in _error_message(exc).lower():
                raise _MonthlyLimit() from exc
            raise _delivery_error(exc, "push") from exc
        except _NETWORK_ERRORS as exc:
            raise RetryLater(f"push: {_short(exc)}") from exc
        if self._quota is not None:
            self._quota.used += 1

    # ---- quota -----------------------------------------------------------------

    async def _quota_guard(self, message: OutboundMessage, recipient: Recipient) -> None:
        """Defer a nudge when the month's pushes are above the configured share."""
        reading = await self._read_quota()
        share = self.settings.dlcoach_line_quota_share
        if reading is None or reading.limit is None or reading.share_used() < share:
            return
        await self._audit_deferral(message, recipient, "quota_share", reading)
        raise Deferred(
            f"LINE push quota {reading.used}/{reading.limit} is at or above {share:.0%}: "
            "nudge deferred"
        )

    async def _read_quota(self) -> QuotaReading | None:
        """The quota and this month's use, read at most once a minute (None if LINE
        cannot say: then nudges go out rather than silently stop)."""
        assert self.app is not None and self.api is not None
        now = self.app.clock.now()
        if self._quota is not None and now - self._quota.read_at < QUOTA_CACHE:
            return self._quota
        try:
            quota = await self.api.get_message_quota(_request_timeout=QUICK_TIMEOUT)
            used = await self.api.get_message_quota_consumption(_request_timeout=QUICK_TIMEOUT)
        except (ApiException, *_NETWORK_ERRORS) as exc:
            log.warning("could not read the LINE push quota: %s", _short(exc))
            return None
        limit = quota.value if str(getattr(quota.type, "value", quota.type)) == "limited" else None
        self._quota = QuotaReading(limit=limit, used=int(used.total_usage or 0), read_at=now)
        return self._quota

    async def _audit_deferral(
        self,
        message: OutboundMessage,
        recipient: Recipient,
        reason: str,
        reading: QuotaReading | None,
    ) -> None:
        """Leave a row the working group sees: who missed which message, and why."""
        assert self.app is not None
        log.warning(
            "LINE push quota: outbox %s (%s) deferred (%s, %s of %s used)",
            message.outbox_id,
            message.kind,
            reason,
            reading.used if reading else "?",
            reading.limit if reading else "?",
        )
        detail = {
            "outbox_id": message.outbox_id,
            "kind": message.kind,
            "reason": reason,
            "used": reading.used if reading else None,
            "quota": reading.limit if reading else None,
            "share": self.settings.dlcoach_line_quota_share,
        }
        async with transaction(self.app.sessions) as session:
            session.add(
                AuditLog(
                    at=self.app.clock.now(),
                    action="line.quota_deferred",
                    subject_person_id=recipient.person_id,
                    detail=detail,
                )
            )


# ------------------------------------------------------------------------ helpers


async def _nothing() -> None:
    return None


async def _read_body(request: Request) -> bytes | None:
    """The raw body, or None past MAX_WEBHOOK_BODY: nothing unsigned gets to make us
    buffer without limit before the signature is checked."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_WEBHOOK_BODY:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_WEBHOOK_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _sdk_messages(batch: list[dict[str, Any]]) -> list[SdkMessage]:
    return [SdkMessage.from_dict(item) for item in batch]


def _error_message(exc: ApiException) -> str:
    try:
        body = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        return str(exc.body or "")
    return str(body.get("message", "")) if isinstance(body, dict) else str(body)


def _retry_after(exc: ApiException) -> float | None:
    value = (exc.headers or {}).get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _delivery_error(exc: ApiException, what: str) -> Exception:
    """LINE's status -> what the outbox should do: 429 and 5xx wait, other 4xx give up."""
    detail = f"{what} {exc.status}: {_error_message(exc)[:300]}"
    if exc.status == 429:
        return RetryLater(detail, _retry_after(exc))
    if exc.status is None or exc.status >= 500:
        return RetryLater(detail)
    return PermanentFailure(detail)


def _short(exc: BaseException) -> str:
    if isinstance(exc, ApiException):
        return f"{exc.status} {_error_message(exc)[:200]}"
    return repr(exc)[:200]


@dataclass(frozen=True)
class _File:
    """One file a reply carries, and which `MediaLinks` map its URL goes into."""

    index: int
    role: str  # "images", "previews" or "documents"
    part: str
    content: bytes
    content_type: str
    filename: str


def _files_of(index: int, reply: Reply) -> list[_File]:
    """The files to publish for one reply (a large image also gets a small preview)."""
    if reply.image_png is not None:
        files = [
            _File(index, "images", f"{index}:image", reply.image_png, "image/png", "image.png")
        ]
        if len(reply.image_png) > MAX_PREVIEW_BYTES:
            preview = _preview_png(reply.image_png)
            files.append(
                _File(index, "previews", f"{index}:preview", preview, "image/png", "preview.png")
            )
        return files
    if reply.document is not None:
        name = reply.document_name or "document"
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return [_File(index, "documents", f"{index}:doc", reply.document, kind, name)]
    return []


def _preview_png(data: bytes) -> bytes:
    """A smaller copy for LINE's preview (at most 1 MB), keeping the aspect ratio."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.thumbnail((1024, 1024))
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=True)
    return out.getvalue()
