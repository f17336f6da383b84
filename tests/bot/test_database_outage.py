"""The database goes away under `dlcoach serve`: nothing is acknowledged that was
not stored, the health check says so when the server is gone (a SQLite file
locked by another writer still answers its reads), and the platform's redelivery after the
outage is answered exactly once.

SQLite: another process holds the file's write lock. PostgreSQL: the server
refuses connections (a proxy in front of it is cut). Both webhooks (LINE and
Telegram) go through the real SDKs against the local fake platforms.
"""

from __future__ import annotations

import asyncio
import copy
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url
from sqlmodel import func, select

from bot.server import build_web
from handlers.clock import FakeClock
from storage.models import ProcessedEvent
from tests.conftest import reset_postgres
from tests.drivers.chat import POSTGRES_ENV, POSTGRES_URL, START, make_app
from tests.drivers.web import serve
from tests.fakes.line_api import FakeLineServer
from tests.fakes.line_webhook import follow_event, post_webhook, webhook_body
from tests.fakes.tcp_proxy import TcpProxy
from tests.fakes.telegram_api import FakeTelegramServer

LINE_SECRET, LINE_TOKEN = "outage-line-secret", "outage-line-token"
TELEGRAM_TOKEN, TELEGRAM_SECRET = "123456:outage-telegram-token", "outage-telegram-secret"
TELEGRAM_USER = 5551234


@dataclass
class Outage:
    """Switches the app's database off and on again."""

    url: str
    sqlite_file: Path | None = None
    proxy: TcpProxy | None = None
    _holder: sqlite3.Connection | None = None

    async def down(self) -> None:
        if self.proxy is not None:
            await self.proxy.refuse()
        else:  # another process takes the write lock and keeps it
            # In a thread: the app shares this event loop and may be mid-write;
            # blocking the loop would keep it from finishing, so the lock
            # could never be granted.
            self._holder = await asyncio.to_thread(self._take_write_lock)

    def _take_write_lock(self) -> sqlite3.Connection:
        holder = sqlite3.connect(
            self.sqlite_file, isolation_level=None, timeout=30, check_same_thread=False
        )
        holder.execute("BEGIN IMMEDIATE")
        return holder

    async def up(self) -> None:
        if self.proxy is not None:
            await self.proxy.restore()
        elif self._holder is not None:
            self._holder.rollback()
            self._holder.close()
            self._holder = None


@pytest.fixture(params=["sqlite", "postgres"])
async def outage(request, tmp_path) -> AsyncIterator[Outage]:
    if request.param == "sqlite":
        path = tmp_path / "outage.db"
        yield Outage(f"sqlite:///{path}", sqlite_file=path)
        return
    if not POSTGRES_URL:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL variant skipped")
    await reset_postgres(POSTGRES_URL)
    target = make_url(POSTGRES_URL)
    proxy = await TcpProxy(target.host or "127.0.0.1", target.port or 5432).start()
    url = target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    try:
        yield Outage(url, proxy=proxy)
    finally:
        await proxy.stop()


async def stored_events(app) -> int:  # noqa: ANN001
    async with app.sessions() as session:
        return (await session.exec(select(func.count()).select_from(ProcessedEvent))).one()


async def test_webhooks_are_not_acknowledged_while_the_database_is_down(outage, tmp_path):
    clock = FakeClock(START)
    async with (
        FakeLineServer(access_token=LINE_TOKEN, clock=clock) as line,
        FakeTelegramServer(token=TELEGRAM_TOKEN) as telegram,
    ):
        app = await make_app(
            outage.url,
            clock,
            line_channel_secret=LINE_SECRET,
            line_channel_access_token=LINE_TOKEN,
            line_api_base_url=line.base_url,
            telegram_bot_token=TELEGRAM_TOKEN,
            telegram_api_base_url=telegram.base_url,
            telegram_webhook_url="https://bot.example.go.th/webhooks/telegram",
            telegram_webhook_secret=TELEGRAM_SECRET,
            dlcoach_sqlite_busy_ms=200,
        )
        from bot.server import enabled_channels

        for channel in enabled_channels(app.settings):
            app.add_channel(channel)
        async with serve(build_web(app), lifespan="on") as base, httpx.AsyncClient() as client:
            line_user = "U" + "d" * 32
            event = follow_event(line_user, server=line)
            update = telegram.user_sends_text(TELEGRAM_USER, "/start", queue=False)

            async def post_line(body: dict[str, Any]) -> httpx.Response:
                return await post_webhook(f"{base}/webhooks/line", body, LINE_SECRET, client=client)

            async def post_telegram() -> httpx.Response:
                url = f"{base}/webhooks/telegram"
                return await telegram.post_to_webhook(update, url=url, secret_token=TELEGRAM_SECRET)

            assert (await client.get(f"{base}/healthz")).status_code == 200
            await outage.down()
            try:
                refused_line = await post_line(webhook_body(event))
                refused_telegram = await post_telegram()
                health = await client.get(f"{base}/healthz")
            finally:
                await outage.up()
            for refused in (refused_line, refused_telegram):
                assert refused.status_code == 503, refused.text
                assert refused.headers["retry-after"].isdigit()
            if outage.proxy is not None:  # the server is gone: unhealthy
                assert health.status_code == 503
                assert health.json()["database"] == "unavailable"
            else:  # SQLite locked by another writer: reads (the health check) still answer
                assert health.status_code == 200, health.text
            assert await stored_events(app) == 0, "nothing was stored, so nothing acknowledged"
            assert line.deliveries == [] and telegram.sent_messages(TELEGRAM_USER) == []

            # Back up: LINE and Telegram deliver again; each event is handled once.
            assert (await client.get(f"{base}/healthz")).status_code == 200
            again = copy.deepcopy(event)
            again["deliveryContext"]["isRedelivery"] = True
            for _ in range(2):
                assert (await post_line(webhook_body(again))).status_code == 200
                assert (await post_telegram()).status_code == 200
            await app.delivery.drain()
            assert await stored_events(app) == 2
            assert len(line.delivered(line_user)) >= 1
            first_line = line.delivered_texts(line_user)
            first_telegram = telegram.texts(TELEGRAM_USER)
            assert len(first_telegram) >= 1
            # one answer each: the second delivery of each event was a duplicate
            await app.delivery.drain()
            assert line.delivered_texts(line_user) == first_line
            assert len(first_line) == len(set(first_line))
            assert len(first_telegram) == len(set(first_telegram))
