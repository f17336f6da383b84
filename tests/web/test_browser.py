"""The browser the web tests rely on starts, and reaches the bot's own server."""

from __future__ import annotations

import json

from bot.server import build_web
from tests.drivers.web import serve


async def test_chromium_reads_the_health_check(page_context, app) -> None:
    async with serve(build_web(app)) as base:
        page = await page_context.new_page()
        response = await page.goto(f"{base}/healthz")
        assert response is not None and response.status == 200
        body = json.loads(await page.inner_text("body"))
        assert body.get("status") == "ok"
