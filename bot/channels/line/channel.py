"""The LINE channel: signed webhooks in, replies (free) before pushes (counted).

In: `POST /webhooks/line` checks `X-Line-Signature` over the exact body bytes,
turns the events the coach acts on into `Incoming` (see `webhook.py`) and
hands them to the core, which dedupes by `webhookEventId`. While a person's
answer is prepared, LINE shows its loading dots (when it is slow to come).

Out: `send` answers with the row's reply token while it is fresh and pushes
otherwise, with an `X-Line-Retry-Key` derived from the outbox row so that a
retry after a lost response never delivers twice. A reply is made idempotent
the same way: a fresh token that LINE calls spent on a retried row was spent
by that row's earlier attempt (a token LINE refused is recorded as such before
anything is pushed), so the reply is not pushed again. Nudges (non-essential
replies) wait when the month's push quota is nearly used (`quota.py`);
replies never do. Pictures and documents go by URL (`media.py`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any

import httpx
from linebot.v3.messaging import (
    ApiException,
    AsyncApiClient,
    AsyncMessagingApi,
    ShowLoadingAnimationRequest,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.channels.base import (
    Channel,
    CoreUnavailable,
    Hub,
    OutboundMessage,
    Progress,
    RetryLater,
    no_progress,
)
from bot.channels.http import (
    Malformed,
    Rejections,
    parse_json,
    read_body,
    too_large,
    unavailable,
)
from bot.channels.line import liff, media
from bot.channels.line.api import (
    NETWORK_ERRORS,
    PUSH_PATH,
    QUICK_TIMEOUT,
    REPLY_PATH,
    REQUEST_TIMEOUT,
    delivery_error,
    error_message,
    message_bodies,
    open_client,
    post_messages,
    retry_key,
    short,
    verify_signature,
)
from bot.channels.line.menus import MenuLinks
from bot.channels.line.quota import QuotaMeter
from bot.channels.line.render import batches, render
from bot.channels.line.webhook import (
    CHANNEL,
    Profile,
    ProfileCache,
    parse_event,
    view_event,
)
from bot.channels.web.assess import assessment_page, hand_over, posted_levels
from bot.config import Settings
from handlers.messages import ASSESS_PAGE as ASSESS_PAGE_CHOICE
from handlers.pushes import PushBudget

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

log = logging.getLogger(__name__)

LOADING_SECONDS = 10
# LINE's dots go up only when the answer is slow to come: an answer that arrives
# sooner needs none, and a dots request per message cost a call for nothing.
LOADING_AFTER = 0.8  # seconds


@dataclass
class _Dots:
    """A loading animation waiting to be asked for, or asked for, in one chat."""

    task: asyncio.Task[None] | None = None
    asked: bool = False  # the request to LINE went out (it is not taken back)


class _MonthlyLimit(Exception):
    """LINE refused a push: the month's quota is used up."""


class LineChannel(Channel):
    """LINE Messaging API adapter (line-bot-sdk v3, async client)."""

    name = CHANNEL

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.hub: Hub | None = None
        self._client: AsyncApiClient | None = None
        self.api: AsyncMessagingApi | None = None
        self.profiles = ProfileCache()
        self.menus = MenuLinks()
        self.rejections = Rejections("LINE")
        self.quota: QuotaMeter | None = None
        self._http: httpx.AsyncClient | None = None  # LINE Login's verify endpoint
        # Loading animations in the background, by chat: a send to that chat calls
        # off one still waiting (`loading_after`) and waits for one asked for, so
        # the dots never come after the answer.
        self._loading: dict[str, _Dots] = {}
        self.loading_after = LOADING_AFTER

    # ---- lifecycle ------------------------------------------------------------

    async def start(self, hub: Hub) -> None:
        """Open the SDK client inside the running loop (aiohttp needs it)."""
        self.hub = hub
        self.quota = QuotaMeter(hub.clock, self.settings.dlcoach_line_quota_share)
        if self._client is None:
            self._client = await open_client(self.settings)
            self.api = AsyncMessagingApi(self._client)
        if self._http is None and self.settings.line_liff_id:
            self._http = httpx.AsyncClient()

    async def stop(self) -> None:
        tasks = [dots.task for dots in self._loading.values() if dots.task is not None]
        for dots in self._loading.values():
            if not dots.asked and dots.task is not None:
                dots.task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.close()
        if self._http is not None:
            await self._http.aclose()
        self._client = self.api = self._http = None

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/webhooks/line", self.webhook, methods=["POST"]),
            Route("/media/{media_id}/{filename}", self.media, methods=["GET", "HEAD", "POST"]),
            Route(liff.ASSESS_PAGE, self._assess_page, methods=["GET"]),
            Route(liff.ASSESS_API, self._assess_post, methods=["POST"]),
        ]

    def pages(self) -> dict[str, str]:
        """Page-opening choices this channel can open: the one-screen assessment,
        when its LIFF app is set up."""
        url = liff.liff_url(self.settings)
        return {ASSESS_PAGE_CHOICE: url} if url else {}

    # ---- the one-screen assessment (LIFF) -------------------------------------

    async def _assess_page(self, request: Request) -> Response:
        """GET /assess/line: the one-screen assessment, the LIFF app's endpoint."""
        if self.hub is None or not self.settings.line_liff_id:
            return Response(status_code=404 if self.hub else 503)
        lang = request.query_params.get("lang", self.settings.policy().lang)
        return assessment_page(
            self.hub.content,
            lang if lang in ("th", "en") else "th",
            endpoint=liff.ASSESS_API,
            platform_script=liff.LIFF_SDK,
            script_host=liff.LIFF_SCRIPTS,
            connects=liff.LIFF_CONNECTS,
            liff_id=self.settings.line_liff_id,
        )

    async def _assess_post(self, request: Request) -> Response:
        """POST /assess/api/line {"proof": ID token, "levels": "232143221"}: the
        levels, from the person LINE verified the ID token for, handed to the core
        as one answer; 403 (nothing stored) when LINE refuses the token."""
        hub, http = self.hub, self._http
        if hub is None or http is None:
            return unavailable() if hub is None else Response(status_code=404)
        posted = await posted_levels(request)
        if isinstance(posted, Response):
            return posted
        try:
            user_id = await liff.verified_user_id(http, self.settings, posted.proof)
        except liff.LineUnreachable as error:
            log.warning("line: could not verify an ID token: %s", error)
            return unavailable()
        if user_id is None:
            self.rejections.count("bad LIFF ID token")
            return JSONResponse({"error": "not verified by LINE"}, status_code=403)
        return await hand_over(hub, posted, CHANNEL, user_id)

    # ---- webhook --------------------------------------------------------------

    async def webhook(self, request: Request) -> Response:
        """Verify, parse, hand each event to the core; 200 once all are recorded."""
        body = await read_body(request)
        if body is None:
            self.rejections.count("too large")
            return too_large()
        secret = self.settings.line_channel_secret or ""
        if not verify_signature(body, request.headers.get("x-line-signature"), secret):
            self.rejections.count("bad signature")
            return JSONResponse({"error": "invalid signature"}, status_code=401)
        try:
            payload = parse_json(body)
        except Malformed:
            self.rejections.count("malformed")
            return JSONResponse({"error": "malformed JSON"}, status_code=400)
        events = payload.get("events") if isinstance(payload, dict) else None
        if not isinstance(events, list):
            self.rejections.count("malformed")
            return JSONResponse({"error": "no events list"}, status_code=400)
        if self.hub is None or self.api is None:
            return JSONResponse({"error": "starting"}, status_code=503)
        failed = 0
        for raw in events:
            try:
                await self._handle_event(raw)
            except CoreUnavailable:
                # Nothing of this event was stored: LINE must deliver it (and the
                # rest) again; the events already handled are deduped then.
                log.error("database unavailable: asking LINE to redeliver")
                return unavailable()
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
            if view.wants_loading:  # not awaited: the turn need not wait for the dots
                self._start_loading(incoming.chat_id)
            profile = await self._profile(incoming.user_id)
            if profile is not None:
                incoming = replace(
                    incoming, display_name=profile.display_name, lang_hint=profile.language
                )
        assert self.hub is not None
        await self.hub.handle(incoming)

    async def _profile(self, user_id: str) -> Profile | None:
        """The person's LINE name and language (best effort, cached)."""
        cached = self.profiles.get(user_id)
        if cached is not None:
            return cached
        assert self.api is not None
        try:
            found = await self.api.get_profile(user_id, _request_timeout=QUICK_TIMEOUT)
        except (ApiException, *NETWORK_ERRORS) as exc:
            log.info("no LINE profile for a user: %s", short(exc))
            return None
        profile = Profile(found.display_name or None, found.language or None)
        self.profiles.put(user_id, profile)
        return profile

    def _start_loading(self, chat_id: str) -> None:
        earlier = self._loading.get(chat_id)
        if earlier is not None and not earlier.asked and earlier.task is not None:
            earlier.task.cancel()  # one wait per chat: the newest message's
        dots = _Dots()
        dots.task = asyncio.create_task(self._show_loading(chat_id, dots))
        self._loading[chat_id] = dots

        def forget(_: asyncio.Task[None]) -> None:
            if self._loading.get(chat_id) is dots:
                del self._loading[chat_id]

        dots.task.add_done_callback(forget)

    async def _loading_sent(self, chat_id: str) -> None:
        """Before a send to `chat_id`: dots not yet asked for are not needed any
        more; dots asked for are waited for (briefly), so they come first."""
        dots = self._loading.get(chat_id)
        if dots is None or dots.task is None:
            return
        if not dots.asked:
            dots.task.cancel()
            return
        await asyncio.wait([dots.task], timeout=QUICK_TIMEOUT)

    async def _show_loading(self, chat_id: str, dots: _Dots) -> None:
        """LINE's typing dots until our answer arrives, when it has not come within
        `loading_after` (best effort: never blocks the answer)."""
        await asyncio.sleep(self.loading_after)
        assert self.api is not None
        dots.asked = True
        request = ShowLoadingAnimationRequest(chat_id=chat_id, loading_seconds=LOADING_SECONDS)
        try:
            await self.api.show_loading_animation(request, _request_timeout=QUICK_TIMEOUT)
        except (ApiException, *NETWORK_ERRORS) as exc:
            log.warning("LINE loading animation failed: %s", short(exc))

    async def media(self, request: Request) -> Response:
        """/media/{id}/{name}: a published chart, or a document's page and (POST) file."""
        if self.hub is None:
            return Response(status_code=404)
        return await media.serve(self.hub.media, request, self.hub.content)

    # ---- sending ---------------------------------------------------------------

    async def push_budget(self) -> PushBudget | None:
        """The month's pushes left for nudges: LINE's quota less its consumption (read
        at most once a minute) less the pushes this process sent since."""
        if self.api is None or self.quota is None:
            return None
        return await self.quota.budget(self.api)

    async def send(self, message: OutboundMessage, progress: Progress = no_progress) -> None:
        """Reply while the token is fresh, push the rest; see the module docstring.

        A row that needs more than one request (over 5 messages) reports each
        request that went out, so a retry resumes after it instead of repeating it.
        """
        if self.api is None or self.hub is None or self.quota is None:
            raise RetryLater("the LINE channel is not started")
        await self._loading_sent(message.chat_id)
        await self.menus.follow(self.api, message)
        done = message.sent_parts
        token_fresh = done == 0 and self._reply_token_fresh(message)
        if not token_fresh and not any(r.essential for r in message.replies):
            await self.quota.guard(self.api, message)
        links = await media.publish(
            self.hub.media,
            self.settings.dlcoach_public_url,
            self.settings.line_channel_secret or "",
            message,
        )
        parts = batches(
            render(
                message.replies,
                partial(self.hub.content.t, lang=message.lang),
                links,
                self.pages(),
            )
        )
        for number in range(done, len(parts)):
            replied = False
            if number == 0 and token_fresh and message.reply_token:
                replied = await self._reply(message.reply_token, parts[0])
                if not replied and message.attempt > 1:
                    # The token is fresh yet spent: an earlier attempt of this very
                    # row used it and was cut off before recording that (a crash,
                    # a lost response). The reply went out; pushing would double it.
                    log.info("outbox %s: its reply went out on an earlier try", message.outbox_id)
                    replied = True
                elif not replied:
                    log.info("outbox %s: reply token no longer valid, pushing", message.outbox_id)
                    await progress(0, token_refused=True)
            if not replied:
                await self._push_part(message, parts[number], number)
            if number + 1 < len(parts):
                await progress(number + 1)

    def _reply_token_fresh(self, message: OutboundMessage) -> bool:
        if not message.reply_token or message.reply_token_expires_at is None:
            return False
        assert self.hub is not None
        return message.reply_token_expires_at > self.hub.clock.now()

    async def _reply(self, token: str, batch: list[dict[str, Any]]) -> bool:
        """Send by reply token; False when LINE says the token is unusable (expired, used)."""
        assert self.api is not None
        assert self._client is not None
        body = {
            "replyToken": token,
            "messages": message_bodies(batch),
            "notificationDisabled": False,
        }
        try:
            await post_messages(self._client, REPLY_PATH, body, request_timeout=REQUEST_TIMEOUT)
        except ApiException as exc:
            if exc.status == 400 and "reply token" in error_message(exc).lower():
                return False
            raise delivery_error(exc, "reply") from exc
        except NETWORK_ERRORS as exc:
            raise RetryLater(f"reply: {short(exc)}") from exc
        return True

    async def _push_part(
        self, message: OutboundMessage, batch: list[dict[str, Any]], part: int
    ) -> None:
        assert self.api is not None and self.quota is not None
        try:
            await self._push(message, batch, part)
        except _MonthlyLimit as exc:
            raise await self.quota.used_up(self.api, message) from exc

    async def _push(self, message: OutboundMessage, batch: list[dict[str, Any]], part: int) -> None:
        """Push with a retry key: a 409 means LINE already has this batch, which is success."""
        assert self.api is not None and self.quota is not None
        assert self._client is not None
        body = {
            "to": message.chat_id,
            "messages": message_bodies(batch),
            "notificationDisabled": False,
        }
        try:
            await post_messages(
                self._client,
                PUSH_PATH,
                body,
                headers={"X-Line-Retry-Key": retry_key(message, part)},
                request_timeout=REQUEST_TIMEOUT,
            )
        except ApiException as exc:
            if exc.status == 409:
                log.info("outbox %s: LINE had already accepted this push", message.outbox_id)
                return
            if exc.status == 429 and "monthly limit" in error_message(exc).lower():
                raise _MonthlyLimit() from exc
            raise delivery_error(exc, "push") from exc
        except NETWORK_ERRORS as exc:
            raise RetryLater(f"push: {short(exc)}") from exc
        self.quota.pushed()
