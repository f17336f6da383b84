"""`dlcoach serve`: the web server (webhooks, health), the scheduler, and the
channels that the environment enables."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.app import App
from bot.bootstrap import prepare
from bot.config import Settings
from bot.outbox import Delivery
from bot.scheduler import NudgeTicks
from bot.weekly import WEEKLY_TICK_MINUTES, post_weekly_summaries

log = logging.getLogger(__name__)

DELIVERY_TICK_SECONDS = 2


class ConfigError(Exception):
    """The environment asks for something that cannot work (e.g. a webhook without a secret)."""


def enabled_channels(settings: Settings) -> list:
    """The channels whose credentials are set, constructed but not started."""
    channels = []
    if settings.telegram_bot_token:
        from bot.channels.telegram import TelegramChannel

        if settings.telegram_webhook_url and not settings.telegram_webhook_secret:
            raise ConfigError(
                "TELEGRAM_WEBHOOK_URL is set but TELEGRAM_WEBHOOK_SECRET is not: "
                "refusing to accept unauthenticated webhooks"
            )
        channels.append(TelegramChannel(settings))
    if settings.line_channel_secret and settings.line_channel_access_token:
        from bot.channels.line import LineChannel

        channels.append(LineChannel(settings))
    return channels


class Runtime:
    """The long-running parts of `serve`: channels, delivery, scheduler."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.delivery = Delivery(app)
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self._wakeup_task: asyncio.Task | None = None

    async def start(self) -> None:
        await prepare(self.app)
        for channel in self.app.channels.values():
            await channel.start(self.app)
        self.scheduler.add_job(
            self.delivery.drain,
            "interval",
            seconds=DELIVERY_TICK_SECONDS,
            id="outbox",
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.add_job(
            post_weekly_summaries,
            "interval",
            minutes=WEEKLY_TICK_MINUTES,
            args=[self.app],
            id="weekly",
            max_instances=1,
            coalesce=True,
        )
        NudgeTicks(self.app).register(self.scheduler)
        self.scheduler.start()
        self._wakeup_task = asyncio.create_task(self._deliver_on_wakeup())

    async def _deliver_on_wakeup(self) -> None:
        """Send replies as soon as they are written (the periodic tick is the safety net)."""
        while True:
            await self.app.delivery_wakeup.wait()
            self.app.delivery_wakeup.clear()
            try:
                await self.delivery.drain()
            except Exception:
                log.exception("delivery failed; the next tick will retry")

    async def stop(self) -> None:
        if self._wakeup_task is not None:
            self._wakeup_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._wakeup_task
        self.scheduler.shutdown(wait=False)
        for channel in self.app.channels.values():
            await channel.stop()
        await self.app.close()


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "channels": sorted(request.app.state.app.channels)})


def build_web(app: App) -> Starlette:
    """The Starlette application: health check plus every channel's webhook routes."""
    runtime = Runtime(app)

    @contextlib.asynccontextmanager
    async def lifespan(_web: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    routes = [Route("/healthz", healthz, methods=["GET"])]
    for channel in app.channels.values():
        routes.extend(channel.routes())
    web = Starlette(routes=routes, lifespan=lifespan)
    web.state.app = app
    web.state.runtime = runtime
    return web
