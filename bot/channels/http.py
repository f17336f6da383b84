"""What every webhook does with a request before it knows the platform: read a
bounded body, parse JSON that may be hostile, and say "try again later".

Webhook bodies are a few kB; anything much larger, or JSON nested deep enough
to exhaust the parser, is refused with a clear status instead of a traceback.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from handlers import metrics

log = logging.getLogger(__name__)

MAX_WEBHOOK_BODY = 1 << 20  # LINE's and Telegram's webhook bodies are a few kB
RETRY_AFTER_SECONDS = 5


class Malformed(ValueError):
    """The body is not JSON the webhook can read."""


async def read_body(request: Request, limit: int = MAX_WEBHOOK_BODY) -> bytes | None:
    """The raw body, or None past `limit`: nothing unsigned gets to make us
    buffer without limit before the signature is checked."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes) -> Any:
    """The decoded body; `Malformed` for anything that is not JSON, including
    JSON nested too deep for the parser (a RecursionError otherwise)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise Malformed(str(exc)[:100]) from exc


def too_large() -> JSONResponse:
    return JSONResponse({"error": "body too large"}, status_code=413)


def unavailable() -> JSONResponse:
    """503 with Retry-After: nothing was stored; the platform keeps the update
    and delivers it again (redeliveries are deduped by event id)."""
    return JSONResponse(
        {"error": "temporarily unavailable"},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


class Rejections:
    """Refused webhook requests, counted by reason and summed up in one log line
    a minute at most: a flood of forged requests must not flood the log too."""

    def __init__(
        self, channel: str, every: float = 60.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.channel, self.every, self.monotonic = channel, every, monotonic
        self.totals: Counter[str] = Counter()  # since start, e.g. for metrics
        self._pending: Counter[str] = Counter()
        self._last = monotonic()

    def count(self, reason: str) -> None:
        self.totals[reason] += 1
        metrics.WEBHOOKS_REJECTED.labels(self.channel.lower(), reason).inc()
        self._pending[reason] += 1
        now = self.monotonic()
        if now - self._last >= self.every or sum(self.totals.values()) == 1:
            summary = ", ".join(f"{n} {why}" for why, n in sorted(self._pending.items()))
            log.warning("%s webhooks refused since the last report: %s", self.channel, summary)
            self._pending.clear()
            self._last = now
