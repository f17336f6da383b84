"""GET /metrics: the process's Prometheus metrics (see handlers/metrics.py) for a
scraper that presents DLCOACH_METRICS_TOKEN as a bearer token. Without the setting
the page does not exist (404); with a wrong or missing token, 401.

Counters are counted where things happen; the outbox gauges (rows waiting, age of
the oldest, per channel) are read from the database on each scrape, so every
instance reports the same shared queue. Webhook requests are counted by
`CountWebhooks`, around the whole app, by channel and the status answered."""

from __future__ import annotations

import hmac
import logging
from datetime import datetime
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from handlers import metrics
from storage import outbox as queries
from storage.timeutil import as_utc

log = logging.getLogger(__name__)

WAITING = {queries.PENDING, queries.SENDING}


async def metrics_page(request: Request) -> Response:
    app = request.app.state.app
    token = app.settings.dlcoach_metrics_token
    if not token:
        return Response(status_code=404)
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
    try:
        async with app.read_sessions() as session:
            lines = await queries.status_lines(session)
    except Exception as error:  # noqa: BLE001 - the counters are still worth serving
        log.warning("metrics: the outbox could not be read: %s", type(error).__name__)
    else:
        _set_outbox(lines, list(app.channels), app.clock.now())
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _set_outbox(lines: list[queries.StatusLine], channels: list[str], now: datetime) -> None:
    """Rows waiting (pending or being sent) and the oldest one's age, per channel."""
    waiting = dict.fromkeys(channels, 0)
    oldest: dict[str, float] = dict.fromkeys(channels, 0.0)
    for line in lines:
        if line.status not in WAITING:
            continue
        waiting[line.channel] = waiting.get(line.channel, 0) + line.count
        if line.oldest is not None:
            age = max((now - as_utc(line.oldest)).total_seconds(), 0.0)
            oldest[line.channel] = max(oldest.get(line.channel, 0.0), age)
    metrics.OUTBOX_PENDING.clear()
    metrics.OUTBOX_OLDEST_SECONDS.clear()
    for channel, count in waiting.items():
        metrics.OUTBOX_PENDING.labels(channel).set(count)
        metrics.OUTBOX_OLDEST_SECONDS.labels(channel).set(oldest.get(channel, 0.0))


class CountWebhooks:
    """ASGI middleware: counts each request under /webhooks/<channel> by the status
    answered (channels it does not know count as "other")."""

    def __init__(self, app: Any, channels: frozenset[str]) -> None:
        self.app, self.channels = app, channels

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/webhooks/"):
            await self.app(scope, receive, send)
            return
        name = path.split("/")[2]
        channel = name if name in self.channels else "other"
        answered = {"status": 500}

        async def sending(message: dict) -> None:
            if message["type"] == "http.response.start":
                answered["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            metrics.WEBHOOKS.labels(channel, str(answered["status"])).inc()
