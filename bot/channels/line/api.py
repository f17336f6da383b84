"""The Messaging API: where it is, how a request is signed and retried, and what
its errors mean for the outbox."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import json
import uuid
from typing import Any

import aiohttp
from linebot.v3.messaging import ApiException, AsyncApiClient, Configuration
from linebot.v3.messaging import Message as SdkMessage

from bot.channels.base import OutboundMessage, PermanentFailure, RetryLater
from bot.channels.proxies import environment_proxy
from bot.config import Settings

PUBLIC_API = "https://api.line.me"
PUBLIC_DATA_API = "https://api-data.line.me"
REQUEST_TIMEOUT = 15.0  # seconds for a send
QUICK_TIMEOUT = 3.0  # seconds for best-effort calls made while LINE waits for our 200
REPLY_PATH = "/v2/bot/message/reply"
PUSH_PATH = "/v2/bot/message/push"
RETRY_KEY_NAMESPACE = uuid.UUID("5b3f0c1e-8d0a-4f5e-9c61-2f1d6a7b9e40")
NETWORK_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError)


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


def message_bodies(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rendered messages as LINE reads them, each checked once against the SDK's
    model (which validates the whole tree: a step's bubble and its quick replies
    cost about a millisecond of CPU) and written out again by it. Most messages
    are the same for everyone on the same step, so the checked bodies are kept
    by their JSON and shared: senders only read them. A message the SDK refuses
    raises here, before anything is sent."""
    return [_checked_body(json.dumps(item, ensure_ascii=False, sort_keys=True)) for item in batch]


@functools.lru_cache(maxsize=512)
def _checked_body(serialised: str) -> dict[str, Any]:
    return SdkMessage.from_json(serialised).to_dict()


async def open_client(settings: Settings) -> AsyncApiClient:
    """The SDK's client for the channel's sends, on an aiohttp session that does not
    read the environment on every call: the SDK opens its own with `trust_env=True`,
    which looks up proxy settings and reads `~/.netrc` for each request. The
    environment's proxy is looked up once here instead (`bot.channels.proxies`)."""
    configuration = api_configuration(settings)
    configuration.proxy = environment_proxy(configuration.host)
    client = AsyncApiClient(configuration)
    rest = client.rest_client
    its_own = rest.pool_manager
    connector = aiohttp.TCPConnector(limit=configuration.connection_pool_maxsize or 100)
    rest.pool_manager = aiohttp.ClientSession(connector=connector, trust_env=False)
    await its_own.close()
    return client


async def post_messages(
    client: AsyncApiClient,
    path: str,
    body: dict[str, Any],
    *,
    request_timeout: float,
    headers: dict[str, str] | None = None,
) -> None:
    """POST a reply or push body whose messages come from `message_bodies`.

    The SDK's `reply_message` and `push_message` take models, validate them again
    and write each one out on every call (the largest single cost of a send);
    this goes through the same client below that layer: the same address, token,
    session and errors (`ApiException` for a refusal), with the body as it is."""
    await client.call_api(
        path,
        "POST",
        header_params={
            "Accept": "application/json",
            "Content-Type": "application/json",
            **(headers or {}),
        },
        body=body,
        response_types_map={},
        auth_settings=["Bearer"],
        _return_http_data_only=True,
        _request_timeout=request_timeout,
    )


def error_message(exc: ApiException) -> str:
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


def delivery_error(exc: ApiException, what: str) -> Exception:
    """LINE's status -> what the outbox should do: 429 and 5xx wait, other 4xx give up."""
    detail = f"{what} {exc.status}: {error_message(exc)[:300]}"
    if exc.status == 429:
        return RetryLater(detail, _retry_after(exc))
    if exc.status is None or exc.status >= 500:
        return RetryLater(detail)
    return PermanentFailure(detail)


def short(exc: BaseException) -> str:
    """A log line's worth of an error."""
    if isinstance(exc, ApiException):
        return f"{exc.status} {error_message(exc)[:200]}"
    return repr(exc)[:200]
