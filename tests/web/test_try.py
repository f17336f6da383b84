"""The web chat (/try) in a real browser: the whole journey by clicking and typing."""

from __future__ import annotations

from sqlmodel import select

from bot.channels.web import WebChannel
from bot.server import build_web
from storage.models import Journey
from tests.drivers.browser import BrowserPerson
from tests.drivers.chat import t
from tests.drivers.journey import whole_journey
from tests.drivers.web import serve
from tests.web.conftest import SCREENSHOTS


async def test_the_whole_journey_in_the_browser(page_context, app) -> None:
    app.add_channel(WebChannel(longest_wait=2.0))
    async with serve(build_web(app), lifespan="on") as base:
        page = await page_context.new_page()
        person = BrowserPerson(page, base)
        await whole_journey(person)
        done = t(app, "s6.complete", name="สมชาย ใจดี", round=1)
        assert done in await page.inner_text("#log")
        await page.set_viewport_size({"width": 420, "height": 860})
        await page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        await page.evaluate("document.fonts.ready")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "try.png"))
        await page.reload()  # the conversation is read back from the database
        await page.locator("#log").get_by_text(done).wait_for(timeout=20_000)
        assert await page.locator("#log .choices button:not([disabled])").count() > 0
    async with app.sessions() as session:
        journey = (await session.exec(select(Journey))).one()
        assert journey.completed_at is not None and journey.current_step == 6


async def test_what_a_person_types_stays_text(page_context, app) -> None:
    app.add_channel(WebChannel(longest_wait=2.0))
    async with serve(build_web(app), lifespan="on") as base:
        page = await page_context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))
        person = BrowserPerson(page, base)
        await person.follow()
        await person.tap(1)  # accept
        typed = '<img src=x onerror="alert(1)"><b>สมชาย</b>'
        await person.say(typed)
        assert typed in await page.locator("#log .msg.you").last.inner_text()
        assert await page.locator("#log b").count() == 0
        assert await page.locator("#log img").count() == 0
        assert dialogs == []
