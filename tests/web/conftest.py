"""A real browser for the web pages: Playwright driving Debian's Chromium headless.

`./test` installs the browser when it is missing (scripts/ensure-browser); the
binary is /usr/bin/chromium unless DLCOACH_CHROMIUM names another. Screenshots
that the README shows are written to docs/screenshots/ by the tests that take them.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, async_playwright

CHROMIUM = os.environ.get("DLCOACH_CHROMIUM", "/usr/bin/chromium")
HAVE_CHROMIUM = os.path.exists(CHROMIUM)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A headless Chromium for one test (it starts in well under a second)."""
    if not HAVE_CHROMIUM:
        pytest.fail(f"no Chromium at {CHROMIUM}: run scripts/ensure-browser (./test does)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page_context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile (no cookies) with downloads allowed, Thai first."""
    context = await browser.new_context(accept_downloads=True, locale="th-TH")
    try:
        yield context
    finally:
        await context.close()
