"""The one-screen assessment in a real browser, opened as a Telegram Mini App:
forged initData is refused with nothing stored, signed initData stores the nine
ratings and the result arrives in the chat."""

from __future__ import annotations

import json

from playwright.async_api import BrowserContext
from sqlmodel import select

from bot.channels.line import liff
from bot.channels.telegram.channel import ASSESS_PAGE
from storage.models import Assessment
from tests.bot.channels.test_line import LineUser, line_harness
from tests.bot.channels.test_line_liff import LIFF_ID, LOGIN_CHANNEL
from tests.bot.channels.test_telegram import TelegramUser, running_bot
from tests.bot.channels.test_telegram import server as server  # noqa: F401 - the fixture
from tests.bot.channels.test_telegram_webapp import PUBLIC, init_data, ratings
from tests.drivers.chat import t
from tests.drivers.journey import PRE, first_step1, onboard
from tests.web.conftest import SCREENSHOTS


async def open_as_mini_app(context: BrowserContext, url: str, proof: str):  # noqa: ANN201
    """The page as Telegram's app opens it: `window.Telegram.WebApp` holds the initData
    (Telegram's own script is not fetched here: there is no internet)."""
    page = await context.new_page()
    await page.route("https://telegram.org/**", lambda route: route.abort())
    web_app = "{ initData: PROOF, ready() {}, close() { window.miniAppClosed = true; } }"
    script = "window.Telegram = { WebApp: " + web_app.replace("PROOF", json.dumps(proof)) + " };"
    await page.add_init_script(script)
    await page.goto(url)
    return page


async def closed(page, flag: str) -> bool:  # noqa: ANN001
    """Whether the page asked the platform to close it (sets `window[flag]`) within 5 s
    (polled: the page's content policy allows no script made from a string)."""
    for _ in range(100):
        if await page.evaluate(f"window.{flag} === true"):
            return True
        await page.wait_for_timeout(50)
    return False


async def rate(page, levels: list[int]) -> None:  # noqa: ANN001
    for fieldset, level in zip(await page.locator("fieldset").all(), levels, strict=False):
        await fieldset.locator(f'input[value="{level}"]').check()


async def test_the_mini_app_refuses_forged_initdata_and_stores_signed(
    page_context, server, tmp_path
) -> None:
    async with running_bot(server, tmp_path, webhook=True, dlcoach_public_url=PUBLIC) as bot:
        user = TelegramUser(bot)
        await onboard(user)
        await first_step1(user)
        base = bot.webhook_url.rsplit("/webhooks", 1)[0]
        now = bot.clock.now().timestamp()

        forged = await open_as_mini_app(
            page_context, base + ASSESS_PAGE, init_data(user.user_id, "1:forged", at=now)
        )
        await rate(forged, PRE)
        await forged.get_by_role("button").click()
        await forged.get_by_text(t(bot.app, "assess_page.refused")).wait_for()
        assert await ratings(bot.app) == {}

        page = await open_as_mini_app(
            page_context, base + ASSESS_PAGE, init_data(user.user_id, at=now)
        )
        await rate(page, PRE[:-1])  # one skill left out: the page says so, nothing is sent
        await page.get_by_role("button").click()
        await page.get_by_text(t(bot.app, "assess_page.missing")).wait_for()
        assert await page.locator("fieldset.missing").count() == 1
        await rate(page, PRE)
        await page.set_viewport_size({"width": 420, "height": 860})
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.evaluate("window.scrollTo(0, 0)")
        await page.evaluate("document.fonts.ready")
        await page.screenshot(path=str(SCREENSHOTS / "assess.png"))
        await page.get_by_role("button").click()
        await page.get_by_text(t(bot.app, "assess_page.saved")).wait_for()
        assert await closed(page, "miniAppClosed")  # the page closes the Mini App once saved
        expected = dict(zip([s.id for s in bot.app.content.skills], PRE, strict=True))

        async def done(session) -> bool:  # noqa: ANN001
            found = await session.exec(
                select(Assessment).where(Assessment.completed_at.is_not(None))
            )  # type: ignore[union-attr]
            return found.first() is not None

        await bot.wait_db(done)
        assert await ratings(bot.app) == expected
        await bot.wait_db(lambda _session: _result_in_chat(bot, user))


async def _result_in_chat(bot, user) -> bool:  # noqa: ANN001
    title = t(bot.app, "s2.result_title")
    return any(title in m.get("text", "") for m in bot.server.sent_messages(user.user_id))


async def open_as_liff_app(context: BrowserContext, url: str, id_token: str):  # noqa: ANN201
    """The page as LINE opens a LIFF app: `window.liff` starts and hands out the
    person's ID token (LINE's SDK is not fetched here: there is no internet)."""
    page = await context.new_page()
    await page.route("https://static.line-scdn.net/**", lambda route: route.abort())
    sdk = (
        "{ init: (config) => { window.liffStarted = config.liffId; return Promise.resolve(); },"
        " getIDToken: () => TOKEN, closeWindow() { window.liffClosed = true; } }"
    )
    await page.add_init_script("window.liff = " + sdk.replace("TOKEN", json.dumps(id_token)) + ";")
    await page.goto(url)
    return page


async def test_the_liff_app_refuses_a_forged_id_token_and_stores_a_verified_one(
    page_context, tmp_path, caplog
) -> None:
    async with line_harness(tmp_path, caplog, line_liff_id=LIFF_ID) as h:
        person = LineUser(h)
        await onboard(person)
        await first_step1(person)
        url = h.base_url + liff.ASSESS_PAGE

        forged = await open_as_liff_app(page_context, url, "eyJhbGciOiJFUzI1NiJ9.forged.sig")
        await rate(forged, PRE)
        await forged.get_by_role("button").click()
        await forged.get_by_text(t(h.app, "assess_page.refused")).wait_for()
        assert await forged.evaluate("window.liffStarted") == LIFF_ID
        assert await ratings(h.app) == {}

        token = h.line.issue_id_token(person.user_id, LOGIN_CHANNEL)
        page = await open_as_liff_app(page_context, url, token)
        await rate(page, PRE)
        await page.get_by_role("button").click()
        await page.get_by_text(t(h.app, "assess_page.saved")).wait_for()
        assert await closed(page, "liffClosed")  # the page closes the LIFF app once saved
        await h.deliver()
        expected = dict(zip([s.id for s in h.app.content.skills], PRE, strict=True))
        assert await ratings(h.app) == expected
        assert any(t(h.app, "s2.result_title") in text for text in person.texts())
