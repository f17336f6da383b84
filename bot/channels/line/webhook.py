"""LINE webhook events in: which ones the coach acts on, and as what `Incoming`.

Follow, unfollow, text and postback events of one person's chat, and text in
groups and rooms (as group messages); everything else is acknowledged and
ignored. Also the profile cache that lets onboarding offer the person's LINE
name and language.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

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

from bot.channels.line.render import decode_postback
from handlers.messages import Incoming

CHANNEL = "line"
PROFILE_CACHE_SECONDS = 3600.0
PROFILE_CACHE_SIZE = 10_000


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


def _postback_incoming(data: str, base: dict[str, Any]) -> Incoming | None:
    """Quick replies carry `q=<seq>&c=<id>`; rich-menu buttons carry `c=go:<command>`
    without a question, which is the same as typing the command; a rich menu's tabs
    carry `c=tab:<alias>`, which asks nothing of the bot."""
    postback = decode_postback(data)
    if postback.question_seq is None and (postback.choice or "").startswith("tab:"):
        return None  # a rich menu tab: LINE switched the menu on the phone already
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
