"""Drive a LINE webhook endpoint the way the LINE Platform does.

Builders return complete event dicts (every field the SDK's models require),
:func:`webhook_body` wraps them with a ``destination``, :func:`encode_body`
turns that into the exact bytes to sign, :func:`sign` computes
``X-Line-Signature`` and :func:`post_webhook` sends it all with httpx.

When a builder gets ``server=`` (a :class:`~tests.fakes.line_api.FakeLineServer`)
its reply token is issued by that server, so the bot under test can really
reply with it, and its timestamp comes from the server's clock. Without a
server the reply token is random and unusable.

:func:`assert_known_event` proves a fixture is complete: the SDK silently turns
an event with a missing required field into ``UnknownEvent``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import os
import secrets
import time
from typing import TYPE_CHECKING, Any

import httpx
from linebot.v3.models.events import UnknownEvent
from linebot.v3.webhook import WebhookParser
from linebot.v3.webhooks import (
    Event,
    FollowEvent,
    JoinEvent,
    LeaveEvent,
    MessageEvent,
    PostbackEvent,
    TextMessageContent,
    UnfollowEvent,
)

if TYPE_CHECKING:
    from tests.fakes.line_api import FakeLineServer

__all__ = [
    "DEFAULT_DESTINATION",
    "assert_known_event",
    "encode_body",
    "follow_event",
    "group_source",
    "join_event",
    "leave_event",
    "new_webhook_event_id",
    "parse_with_sdk",
    "post_webhook",
    "postback_event",
    "room_source",
    "sign",
    "text_message_event",
    "unfollow_event",
    "user_source",
    "webhook_body",
]

DEFAULT_DESTINATION = "Ufa4e00000000000000000000000000b0"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_message_ids = itertools.count(590000000000000000 + secrets.randbelow(10**12))


# ------------------------------------------------------------------- identifiers


def new_webhook_event_id(timestamp_ms: int | None = None) -> str:
    """A unique 26-character ULID (48-bit ms time + 80 random bits, Crockford base32)."""
    ms = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    value = ((ms & ((1 << 48) - 1)) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_message_id() -> str:
    return str(next(_message_ids))


def new_quote_token() -> str:
    return secrets.token_urlsafe(48)


# ----------------------------------------------------------------------- sources


def user_source(user_id: str) -> dict[str, Any]:
    return {"type": "user", "userId": user_id}


def group_source(group_id: str, user_id: str | None = None) -> dict[str, Any]:
    source: dict[str, Any] = {"type": "group", "groupId": group_id}
    if user_id:
        source["userId"] = user_id
    return source


def room_source(room_id: str, user_id: str | None = None) -> dict[str, Any]:
    source: dict[str, Any] = {"type": "room", "roomId": room_id}
    if user_id:
        source["userId"] = user_id
    return source


def _source(user_id: str | None, group_id: str | None, room_id: str | None) -> dict[str, Any]:
    if group_id and room_id:
        raise ValueError("give group_id or room_id, not both")
    if group_id:
        return group_source(group_id, user_id)
    if room_id:
        return room_source(room_id, user_id)
    if not user_id:
        raise ValueError("a user source needs a user_id")
    return user_source(user_id)


def _chat_id(source: dict[str, Any]) -> str:
    return source.get("groupId") or source.get("roomId") or source["userId"]


# ------------------------------------------------------------------------ events


def _base(
    kind: str,
    source: dict[str, Any],
    *,
    server: FakeLineServer | None,
    timestamp: int | None,
    redelivery: bool,
    mode: str,
    webhook_event_id: str | None,
) -> dict[str, Any]:
    if timestamp is None:
        timestamp = int(server.now() * 1000) if server is not None else int(time.time() * 1000)
    return {
        "type": kind,
        "mode": mode,
        "timestamp": timestamp,
        "source": source,
        "webhookEventId": webhook_event_id or new_webhook_event_id(timestamp),
        "deliveryContext": {"isRedelivery": redelivery},
    }


def _reply_token(source: dict[str, Any], server: FakeLineServer | None, given: str | None) -> str:
    if given is not None:
        return given
    if server is not None:
        return server.issue_reply_token(_chat_id(source))
    return secrets.token_hex(16)


def follow_event(
    user_id: str,
    *,
    server: FakeLineServer | None = None,
    is_unblocked: bool = False,
    reply_token: str | None = None,
    timestamp: int | None = None,
    redelivery: bool = False,
    mode: str = "active",
    webhook_event_id: str | None = None,
) -> dict[str, Any]:
    """A user added the account as a friend (``is_unblocked``: they had blocked it before).

    With ``server``, an unblock also clears the block on the fake server.
    """
    source = user_source(user_id)
    event = _base(
        "follow",
        source,
        server=server,
        timestamp=timestamp,
        redelivery=redelivery,
        mode=mode,
        webhook_event_id=webhook_event_id,
    )
    event["replyToken"] = _reply_token(source, server, reply_token)
    event["follow"] = {"isUnblocked": is_unblocked}
    if server is not None:
        server.unblock(user_id)
    return event


def unfollow_event(
    user_id: str,
    *,
    server: FakeLineServer | None = None,
    timestamp: int | None = None,
    redelivery: bool = False,
    mode: str = "active",
    webhook_event_id: str | None = None,
) -> dict[str, Any]:
    """A user blocked the account. With ``server``, the fake server records the block too."""
    if server is not None:
        server.block(user_id)
    return _base(
        "unfollow",
        user_source(user_id),
        server=server,
        timestamp=timestamp,
        redelivery=redelivery,
        mode=mode,
        webhook_event_id=webhook_event_id,
    )


def text_message_event(
    user_id: str | None,
    text: str,
    *,
    server: FakeLineServer | None = None,
    group_id: str | None = None,
    room_id: str | None = None,
    reply_token: str | None = None,
    message_id: str | None = None,
    quote_token: str | None = None,
    timestamp: int | None = None,
    redelivery: bool = False,
    mode: str = "active",
    webhook_event_id: str | None = None,
) -> dict[str, Any]:
    """A text message from a user, or from a user in a group (``group_id``) or room (``room_id``)."""
    source = _source(user_id, group_id, room_id)
    event = _base(
        "message",
        source,
        server=server,
        timestamp=timestamp,
        redelivery=redelivery,
        mode=mode,
        webhook_event_id=webhook_event_id,
    )
    event["replyToken"] = _reply_token(source, server, reply_token)
    event["message"] = {
        "id": message_id or new_message_id(),
        "type": "text",
        "text": text,
        "quoteToken": quote_token or new_quote_token(),
    }
    return event


def postback_event(
    user_id: str | None,
    data: str,
    *,
    params: dict[str, Any] | None = None,
    server: FakeLineServer | None = None,
    group_id: str | None = None,
    room_id: str | None = None,
    reply_token: str | None = None,
    timestamp: int | None = None,
    redelivery: bool = False,
    mode: str = "active",
    webhook_event_id: str | None = None,
) -> dict[str, Any]:
    """A tap on a postback action; ``params`` carries date/time picker values."""
    source = _source(user_id, group_id, room_id)
    event = _base(
        "postback",
        source,
        server=server,
        timestamp=timestamp,
        redelivery=redelivery,
        mode=mode,
        webhook_event_id=webhook_event_id,
    )
    event["replyToken"] = _reply_token(source, server, reply_token)
    event["postback"] = {"data": data}
    if params:
        event["postback"]["params"] = params
    return event


def join_event(
    *,
    group_id: str | None = None,
    room_id: str | None = None,
    server: FakeLineServer | None = None,
    reply_token: str | None = None,
    timestamp: int | None = None,
    redelivery: bool = False,
    webhook_event_id: str | None = None,
) -> dict[str, Any]:
    """The account was added to a group or room."""
    source = _source(None, group_id, room_id)
    event = _base(
        "join",
        source,
        server=server,
        timestamp=timestamp,
        redelivery=redelivery,
        mode="active",
        webhook_event_id=webhook_event_id,
    )
    event["replyToken"] = _reply_token(source, server, reply_token)
    return event


def leave_event(
    *,
    group_id: str | None = None,
    room_id: str | None = None,
    server: FakeLineServer | None = None,
    timestamp: int | None = None,
    redelivery: bool = False,
    webhook_event_id: str | None = None,
) -> dict[str, Any]:
    """The account was removed from a group or left a room."""
    return _base(
        "leave",
        _source(None, group_id, room_id),
        server=server,
        timestamp=timestamp,
        redelivery=redelivery,
        mode="active",
        webhook_event_id=webhook_event_id,
    )


# ------------------------------------------------------------------- the request


def webhook_body(*events: dict[str, Any], destination: str = DEFAULT_DESTINATION) -> dict[str, Any]:
    """The request body LINE posts: ``{"destination": ..., "events": [...]}``."""
    return {"destination": destination, "events": list(events)}


def encode_body(body: dict[str, Any] | bytes | str) -> bytes:
    """The exact bytes to sign and send (compact UTF-8 JSON; Thai stays unescaped)."""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sign(body: bytes, channel_secret: str) -> str:
    """``X-Line-Signature``: base64 of HMAC-SHA256 over the raw body, keyed by the secret."""
    digest = hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


async def post_webhook(
    url: str,
    body: dict[str, Any] | bytes,
    secret: str,
    signature: str | None = None,
    *,
    client: httpx.AsyncClient | None = None,
    headers: dict[str, str] | None = None,
    request_timeout: float = 10.0,
) -> httpx.Response:
    """POST ``body`` (a dict is encoded with :func:`encode_body`) exactly as LINE would.

    ``signature`` overrides the computed one (pass a wrong value to test rejection).
    """
    raw = encode_body(body)
    sent_headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "LineBotWebhook/2.0",
        "X-Line-Signature": sign(raw, secret) if signature is None else signature,
    }
    sent_headers.update(headers or {})
    if client is not None:
        return await client.post(url, content=raw, headers=sent_headers, timeout=request_timeout)
    async with httpx.AsyncClient() as own:
        return await own.post(url, content=raw, headers=sent_headers, timeout=request_timeout)


# ------------------------------------------------------------------ SDK checks

_CHECK_SECRET = "fixture-check-secret"
_EVENT_CLASSES: dict[str, type] = {
    "follow": FollowEvent,
    "unfollow": UnfollowEvent,
    "message": MessageEvent,
    "postback": PostbackEvent,
    "join": JoinEvent,
    "leave": LeaveEvent,
}


def parse_with_sdk(
    body: dict[str, Any] | bytes, secret: str = _CHECK_SECRET, signature: str | None = None
) -> list[Event]:
    """Parse a webhook body with ``linebot.v3.webhook.WebhookParser``, verifying the signature.

    Raises ``linebot.v3.exceptions.InvalidSignatureError`` on a bad signature.
    """
    raw = encode_body(body)
    sig = sign(raw, secret) if signature is None else signature
    return WebhookParser(secret).parse(raw.decode("utf-8"), sig)


def assert_known_event(event: dict[str, Any], expected: type | None = None) -> Event:
    """Assert the SDK parses ``event`` as its proper class, not ``UnknownEvent``; return it.

    ``UnknownEvent`` subclasses ``Event``, so ``isinstance(e, Event)`` proves nothing;
    this checks the concrete class (and, for text messages, the content class).
    """
    parsed = parse_with_sdk(webhook_body(event))
    assert len(parsed) == 1, parsed
    result = parsed[0]
    assert not isinstance(result, UnknownEvent), (
        f"the SDK fell back to UnknownEvent (missing or invalid field?): {event}"
    )
    wanted = expected or _EVENT_CLASSES.get(event.get("type", ""))
    if wanted is not None:
        assert isinstance(result, wanted), (
            f"parsed as {type(result).__name__}, expected {wanted.__name__}"
        )
    message = event.get("message")
    if isinstance(message, dict) and message.get("type") == "text":
        assert isinstance(result.message, TextMessageContent), type(result.message).__name__
    return result
