"""`dlcoach serve`: the web server (webhooks, health), the scheduler, and the
channels that the environment enables."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from bot.app import App
from bot.channels.base import Channel
from bot.config import Settings
from bot.dashboard import routes as dashboard_routes
from bot.metrics_page import CountWebhooks, metrics_page
from bot.scheduler import scheduler_for
from documents.fonts import FontNotAvailable, sarabun
from storage.db import read_only

log = logging.getLogger(__name__)


def enabled_channels(settings: Settings) -> list[Channel]:
    """The channels whose credentials are set, constructed but not started."""
    channels: list[Channel] = []
    if settings.telegram_bot_token:
        from bot.channels.telegram import TelegramChannel

        channels.append(TelegramChannel(settings))
    if settings.line_channel_secret and settings.line_channel_access_token:
        from bot.channels.line import LineChannel

        channels.append(LineChannel(settings))
    if settings.dlcoach_web_chat:
        from bot.channels.web import WebChannel

        channels.append(WebChannel(settings.policy().lang))
    return channels


class Runtime:
    """The long-running parts of `serve`: channels, delivery, scheduler."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.scheduler = scheduler_for(app)
        self._wakeup_task: asyncio.Task | None = None

    async def start(self) -> None:
        await self.app.prepare()
        await self.app.start_channels()
        try:  # what a crashed run of this machine held goes out now, not a lease later
            await self.app.delivery.release_orphans()
        except Exception:  # noqa: BLE001 - the delivery tick tries again
            log.exception("could not release the rows of stopped senders")
        self.app.delivery_wakeup.set()
        # Replies leave straight from their turn, claimed in its transaction.
        self.app.turn.sender = self.app.delivery
        self.scheduler.start()
        self._wakeup_task = asyncio.create_task(self._deliver_on_wakeup())

    async def _deliver_on_wakeup(self) -> None:
        """Send replies as soon as they are written (the periodic tick is the safety net)."""
        while True:
            await self.app.delivery_wakeup.wait()
            self.app.delivery_wakeup.clear()
            try:
                await self.app.delivery.drain()
            except Exception:
                log.exception("delivery failed; the next tick will retry")

    async def stop(self) -> None:
        if self._wakeup_task is not None:
            self._wakeup_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._wakeup_task
        self.scheduler.shutdown(wait=False)
        self.app.turn.sender = None
        await self.app.delivery.settle()
        await self.app.stop_channels()
        await self.app.close()


HEALTH_TIMEOUT = 3.0  # seconds the database may take to answer a health check


async def healthz(request: Request) -> JSONResponse:
    """200 when this instance can do its work (the database answers), else 503,
    so a load balancer stops sending webhooks to it and the platform retries."""
    app: App = request.app.state.app
    channels = sorted(app.channels)
    try:
        await asyncio.wait_for(database_answers(app), HEALTH_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy"
        log.warning("health check: database unavailable: %s", str(exc)[:200])
        body = {"status": "unavailable", "database": "unavailable", "channels": channels}
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok", "channels": channels})


async def database_answers(app: App) -> None:
    """A read that does not wait for SQLite's write lock: a long write elsewhere is
    not an outage."""
    async with read_only(app.engine).connect() as connection:
        await connection.execute(text("SELECT 1"))


async def font(request: Request) -> Response:
    """GET /fonts/sarabun-regular.ttf | sarabun-bold.ttf: Sarabun, the font of the
    documents, for the web pages, so Thai reads the same on a computer with no Thai
    font of its own."""
    weight = request.path_params["weight"]
    if weight not in ("regular", "bold"):
        return Response(status_code=404)
    try:
        fonts = sarabun()
    except FontNotAvailable:
        return Response(status_code=404)
    path = fonts.regular if weight == "regular" else fonts.bold
    return FileResponse(
        path, media_type="font/ttf", headers={"Cache-Control": "public, max-age=604800"}
    )


FONT_FACES = "\n".join(
    f'@font-face {{ font-family: "Sarabun"; font-weight: {weight}; font-display: swap; '
    f'src: url("/fonts/sarabun-{name}.ttf") format("truetype"); }}'
    for name, weight in (("regular", 400), ("bold", 700))
)


async def font_faces(request: Request) -> Response:
    """GET /fonts/sarabun.css: the font faces every web page links to."""
    return Response(
        FONT_FACES, media_type="text/css", headers={"Cache-Control": "public, max-age=604800"}
    )


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

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics_page, methods=["GET"]),
        Route("/fonts/sarabun.css", font_faces, methods=["GET"]),
        Route("/fonts/sarabun-{weight}.ttf", font, methods=["GET"]),
    ]
    routes.extend(dashboard_routes())
    for channel in app.channels.values():
        routes.extend(channel.routes())
    counted = Middleware(CountWebhooks, channels=frozenset(app.channels))
    web = Starlette(routes=routes, lifespan=lifespan, middleware=[counted])
    web.state.app = app
    web.state.runtime = runtime
    return web
