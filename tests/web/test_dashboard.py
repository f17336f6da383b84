"""The dashboard in a real browser: an admin signs in by the /web link, reads the
overview, filters people, opens a record, downloads the report and reads it back;
an admin of another agency gets "not found" for all of it."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from openpyxl import load_workbook
from playwright.async_api import BrowserContext, Page

from bot.server import build_web
from tests.drivers.chat import t
from tests.drivers.web import serve
from tests.drivers.working_group import audit_rows, make_admin, make_agency
from tests.web.conftest import SCREENSHOTS
from tests.web.test_dashboard_http import FIXTURE, demo_staff, link_of

RECORDS = 'main a[href^="/admin/DEMO/people/"]'


async def sign_in(context: BrowserContext, base: str, secret: str) -> Page:
    """Open the /web link as the admin would (it shows a button) and press it.

    The link is asked for before the server starts: once it runs, its delivery loop
    takes the replies that the chat driver reads."""
    page = await context.new_page()
    await page.goto(f"{base}/admin/signin?t={secret}")
    async with page.expect_navigation():
        await page.get_by_role("button").click()
    return page


async def test_an_admin_signs_in_looks_filters_opens_and_downloads(page_context, app, channel):
    admin = await make_admin(app, channel)
    await demo_staff(app)
    secret = await link_of(admin)
    async with serve(build_web(app), lifespan="on") as base:
        page = await sign_in(page_context, base, secret)
        assert page.url == f"{base}/admin/DEMO/", await page.content()
        main = page.locator("main")
        await main.get_by_text(t(app, "dash.nav.overview")).first.wait_for()
        assert await main.locator("table").count() >= 3  # funnel, units, groups
        await page.set_viewport_size({"width": 1100, "height": 1400})
        await page.evaluate("document.fonts.ready")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "admin.png"), full_page=False)

        await page.get_by_role("link", name=t(app, "dash.nav.people")).click()
        assert await page.locator(RECORDS).count() == len(FIXTURE) + 1
        await page.get_by_label(t(app, "dash.filter.step")).select_option("done")
        await page.get_by_role("button", name=t(app, "dash.apply")).click()
        await page.wait_for_url("**/people?*step=done*")
        assert await page.locator(RECORDS).count() == 2  # the two who completed

        await page.locator(RECORDS).first.click()
        number = int(page.url.rsplit("/", 1)[1])
        await page.get_by_text(t(app, "dash.record_title", number=number)).first.wait_for()

        await page.get_by_role("link", name=t(app, "dash.nav.exports")).click()
        await page.get_by_label(t(app, "dash.format_xlsx")).check()
        async with page.expect_download() as started:
            await page.get_by_role("button", name=t(app, "dash.download")).click()
        download = await started.value
        assert download.suggested_filename.startswith("dlcoach-report-DEMO-")
        where = Path(await download.path())  # a temporary name, without the extension
        saved = await asyncio.to_thread(where.read_bytes)
        book = load_workbook(io.BytesIO(saved), read_only=True)
        assert t(app, "report.sheet_people")[:31] in book.sheetnames

        await page.get_by_role("button", name=t(app, "dash.signout")).click()
        await page.wait_for_load_state()
        await page.goto(f"{base}/admin/DEMO/people")
        assert await page.locator(RECORDS).count() == 0  # signed out: back to the start
    [viewed] = await audit_rows(app, "admin.record_viewed")
    assert viewed.detail["number"] == number
    [exported] = await audit_rows(app, "admin.export")
    assert exported.detail["via"] == "dashboard" and exported.detail["format"] == "xlsx"


async def test_an_admin_of_another_agency_gets_not_found(browser, app, channel) -> None:
    await make_agency(app, "B", "Agency B", ["B1"])
    other = await make_admin(app, channel, agency_code="B", name="ผู้ดูแลหน่วยงานบี")
    await demo_staff(app)
    secret = await link_of(other)
    context = await browser.new_context(accept_downloads=True, locale="th-TH")
    try:
        async with serve(build_web(app), lifespan="on") as base:
            page = await sign_in(context, base, secret)
            assert page.url == f"{base}/admin/B/"
            for path in ("", "people", "people/1", "ideas", "exports", "settings"):
                answer = await page.goto(f"{base}/admin/DEMO/{path}")
                assert answer is not None and answer.status == 404, path
                assert await page.locator(RECORDS).count() == 0
            # a form of agency A's page posted with B's own session and token
            await page.goto(f"{base}/admin/B/exports")
            token = await page.locator('input[name="form_token"]').first.input_value()
            posted = await page.request.post(
                f"{base}/admin/DEMO/exports",
                form={"form_token": token, "year": "2570", "format": "csv"},
                headers={"Origin": base},
            )
            assert posted.status == 404
            assert "text/csv" not in posted.headers.get("content-type", "")
    finally:
        await context.close()
    assert await audit_rows(app, "admin.export") == []
    assert await audit_rows(app, "admin.record_viewed") == []
