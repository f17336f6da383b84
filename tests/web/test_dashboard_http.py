"""The dashboard over HTTP (the ASGI app in process): signing in by the /web link,
what is refused, agency isolation, the audited reads and downloads, the settings."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import time

import httpx
import pytest
from openpyxl import load_workbook
from sqlmodel import select

from bot.server import build_web
from storage.agencies import numbered
from storage.db import transaction
from storage.models import AdminRole, Agency, Idea, Unit, WebSession, WebSignIn
from tests.drivers.chat import Person, RecordingChannel, make_app, t
from tests.drivers.journey import onboard
from tests.drivers.working_group import (
    FIXTURE,
    audit_rows,
    in_group,
    make_admin,
    make_agency,
    person_id,
    place,
)

LINK = re.compile(r"/admin/signin\?t=([A-Za-z0-9_-]+)")
TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


async def link_of(admin) -> str:  # noqa: ANN001 - a chat Person
    """The secret of a fresh /web link, as the admin reads it in chat."""
    replies = await admin.say("/web")
    found = LINK.search("\n".join(r.text for r in replies))
    assert found, replies
    return found.group(1)


def client(app) -> httpx.AsyncClient:  # noqa: ANN001
    web = build_web(app)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://testserver")


async def signed_in(app, admin, web: httpx.AsyncClient) -> str:  # noqa: ANN001
    """Sign `web` in with a fresh link; returns the form token of its session."""
    secret = await link_of(admin)
    answer = await web.post("/admin/signin", data={"t": secret})
    assert answer.status_code == 303, answer.text
    page = await web.get(answer.headers["location"])
    assert page.status_code == 200
    return TOKEN.search(page.text).group(1)


async def sessions_stored(app) -> int:  # noqa: ANN001
    async with app.sessions() as session:
        return len((await session.exec(select(WebSession))).all())


async def demo_staff(app) -> list[int]:  # noqa: ANN001
    """The summary tests' five people (at steps 1, 3 and 6, two completed), in DEMO."""
    async with transaction(app.sessions) as session:
        demo = (await session.exec(select(Agency).where(Agency.code == "DEMO"))).one()
        for name in ("กองหนึ่ง", "กองสอง"):
            session.add(Unit(agency_id=demo.id, name=name))
    return await place(app, "DEMO", FIXTURE)


async def agency(app, code: str = "DEMO") -> Agency:  # noqa: ANN001
    async with app.sessions() as session:
        return (await session.exec(select(Agency).where(Agency.code == code))).one()


async def test_the_link_signs_in_once_with_a_strict_http_only_cookie(app, channel) -> None:
    admin = await make_admin(app, channel)
    secret = await link_of(admin)
    async with client(app) as web:
        for _ in range(2):  # a link preview opening the link uses nothing up
            preview = await web.get(f"/admin/signin?t={secret}")
            assert preview.status_code == 200 and 'method="post"' in preview.text
        answer = await web.post("/admin/signin", data={"t": secret})
        assert answer.status_code == 303 and answer.headers["location"] == "/admin/DEMO/"
        cookie = answer.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/admin" in cookie
        assert "Secure" not in cookie  # plain http on loopback
        overview = await web.get("/admin/DEMO/")
        assert overview.status_code == 200
        assert t(app, "dash.nav.overview") in overview.text
        again = await web.post("/admin/signin", data={"t": secret})  # the same link twice
        assert again.status_code == 403
        assert t(app, "dash.signin_refused") in again.text
    assert await sessions_stored(app) == 1
    assert [row.action for row in await audit_rows(app, "admin.web_signin")] == ["admin.web_signin"]


async def test_over_https_the_cookie_is_secure(sqlite_url, clock) -> None:
    app = await make_app(sqlite_url, clock, dlcoach_dashboard_url="https://dash.example.go.th/")
    channel = RecordingChannel()
    app.add_channel(channel)
    try:
        admin = await make_admin(app, channel)
        replies = await admin.say("/web")
        assert "https://dash.example.go.th/admin/signin?t=" in replies[-1].text
        secret = LINK.search(replies[-1].text).group(1)
        async with client(app) as web:
            answer = await web.post("/admin/signin", data={"t": secret})
            assert "Secure" in answer.headers["set-cookie"]
    finally:
        await app.close()


async def test_forged_and_expired_links_store_nothing(app, channel, clock) -> None:
    admin = await make_admin(app, channel)
    async with client(app) as web:
        for forged in ("x" * 43, "", "a" * 5000, "' OR 1=1 --"):
            answer = await web.post("/admin/signin", data={"t": forged})
            assert answer.status_code == 403
        secret = await link_of(admin)
        clock.advance(minutes=11)
        late = await web.post("/admin/signin", data={"t": secret})
        assert late.status_code == 403
        assert (await web.get("/admin/DEMO/", follow_redirects=False)).status_code == 303
    assert await sessions_stored(app) == 0


async def test_the_link_is_sent_only_in_a_private_chat(app, channel) -> None:
    admin = await make_admin(app, channel)
    said = await in_group(app, channel, admin.user, "/web")
    assert [r.text for r in said] == [t(app, "group.private_only")]
    async with app.sessions() as session:
        assert (await session.exec(select(WebSignIn))).all() == []


async def test_staff_get_no_link(app, channel) -> None:
    person = Person(app, channel)
    await onboard(person)
    replies = await person.say("/web")
    assert not LINK.search("\n".join(r.text for r in replies))


async def test_an_admin_of_another_agency_sees_none_of_demo(app, channel) -> None:
    await make_agency(app, "B", "Agency B", ["B1"])
    demo_admin = await make_admin(app, channel)
    other = await make_admin(app, channel, agency_code="B", name="ผู้ดูแลหน่วยงานบี")
    await demo_staff(app)
    async with client(app) as web:
        token = await signed_in(app, other, web)
        assert (await web.get("/admin/B/")).status_code == 200
        for path in (
            "/admin/DEMO/",
            "/admin/DEMO/people",
            "/admin/DEMO/people/1",
            "/admin/DEMO/ideas",
            "/admin/DEMO/exports",
            "/admin/DEMO/settings",
        ):
            answer = await web.get(path)
            assert answer.status_code == 404, path
        download = await web.post(
            "/admin/DEMO/exports", data={"form_token": token, "year": "2570", "format": "csv"}
        )
        assert download.status_code == 404
        change = await web.post(
            "/admin/DEMO/settings/holdout", data={"form_token": token, "percent": "40"}
        )
        assert change.status_code == 404
        people = await web.get("/admin/B/people")
        assert t(app, "dash.people_none") in people.text  # DEMO's people are not B's
    assert (await agency(app)).holdout_percent != 40
    assert await audit_rows(app, "admin.export") == []
    assert await audit_rows(app, "admin.record_viewed") == []
    del demo_admin


async def test_not_signed_in_or_without_the_form_token_nothing_is_done(app, channel) -> None:
    admin = await make_admin(app, channel)
    async with client(app) as web:
        first = await web.get("/admin/DEMO/settings", follow_redirects=False)
        assert first.status_code == 303 and first.headers["location"] == "/admin"
        assert (
            await web.post("/admin/DEMO/settings/holdout", data={"percent": "30"})
        ).status_code == 403
        token = await signed_in(app, admin, web)
        no_token = await web.post("/admin/DEMO/settings/holdout", data={"percent": "30"})
        other = token[:-1] + ("y" if token.endswith("x") else "x")  # never the token itself
        wrong = await web.post(
            "/admin/DEMO/settings/holdout", data={"percent": "30", "form_token": other}
        )
        elsewhere = await web.post(
            "/admin/DEMO/settings/holdout",
            data={"percent": "30", "form_token": token},
            headers={"origin": "https://evil.example"},
        )
        as_json = await web.post(
            "/admin/DEMO/settings/holdout", json={"percent": "30", "form_token": token}
        )
        assert [a.status_code for a in (no_token, wrong, elsewhere, as_json)] == [403] * 4
        assert (await agency(app)).holdout_percent != 30
        done = await web.post(
            "/admin/DEMO/settings/holdout",
            data={"percent": "30", "form_token": token},
            headers={"origin": "http://testserver"},
        )
        assert done.status_code == 303
    assert (await agency(app)).holdout_percent == 30
    assert [r.action for r in await audit_rows(app, "admin.holdout")] == ["admin.holdout"]


async def test_a_record_read_is_audited_and_unknown_numbers_are_not_found(app, channel) -> None:
    admin = await make_admin(app, channel)
    ids = await demo_staff(app)
    async with client(app) as web:
        await signed_in(app, admin, web)
        listing = await web.get("/admin/DEMO/people")
        numbers = [int(n) for n in re.findall(r'/admin/DEMO/people/(\d+)"', listing.text)]
        assert numbers, listing.text
        page = await web.get(f"/admin/DEMO/people/{numbers[0]}")
        assert page.status_code == 200
        assert t(app, "dash.record_title", number=numbers[0]) in page.text
        assert (await web.get("/admin/DEMO/people/99999")).status_code == 404
        assert (await web.get("/admin/DEMO/people/abc")).status_code == 404
    viewed = await audit_rows(app, "admin.record_viewed")
    async with app.sessions() as session:
        shown = await numbered(session, (await agency(app)).id, numbers[0])
    assert shown is not None and shown.id in ids + [await person_id(app, admin)]
    assert len(viewed) == 1 and viewed[0].subject_person_id == shown.id
    assert viewed[0].actor_person_id == await person_id(app, admin)


async def test_people_filter_by_step_and_days_inactive(app, channel) -> None:
    admin = await make_admin(app, channel)
    await demo_staff(app)
    async with client(app) as web:
        await signed_in(app, admin, web)
        everyone = await web.get("/admin/DEMO/people")
        done = await web.get("/admin/DEMO/people", params={"step": "done"})
        at_three = await web.get("/admin/DEMO/people", params={"step": "3"})
        idle = await web.get("/admin/DEMO/people", params={"idle": "15"})
        nobody = await web.get("/admin/DEMO/people", params={"idle": "3650"})
        junk = await web.get("/admin/DEMO/people", params={"idle": "<x>", "unit": "'\""})
    rows = lambda page: len(re.findall(r'/admin/DEMO/people/\d+"', page.text))  # noqa: E731
    assert rows(everyone) == len(FIXTURE) + 1  # and the admin, who joined too
    assert rows(done) == 2  # ก and ค completed
    assert rows(at_three) == 1 and rows(idle) == 1  # ข: at step 3, 20 days without progress
    assert t(app, "dash.people_none") in nobody.text
    assert junk.status_code == 200 and "<x>" not in junk.text


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
async def test_downloads_are_the_report_and_audited(app, channel, fmt) -> None:
    admin = await make_admin(app, channel)
    await demo_staff(app)
    async with client(app) as web:
        token = await signed_in(app, admin, web)
        answer = await web.post(
            "/admin/DEMO/exports", data={"form_token": token, "year": "2570", "format": fmt}
        )
        assert answer.status_code == 200
        assert answer.headers["content-disposition"] == (
            f'attachment; filename="dlcoach-report-DEMO-2570.{fmt}"'
        )
        bad = await web.post(
            "/admin/DEMO/exports", data={"form_token": token, "year": "1999", "format": fmt}
        )
        assert bad.status_code == 400
    [row] = await audit_rows(app, "admin.export")
    assert row.detail["via"] == "dashboard" and row.detail["format"] == fmt
    assert row.detail["people"] > 0 and row.detail["names"] is False
    if fmt == "xlsx":
        book = load_workbook(io.BytesIO(answer.content), read_only=True)
        assert t(app, "report.sheet_people")[:31] in book.sheetnames
    else:
        lines = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
        assert len(lines) - 1 == row.detail["people"]


async def test_members_look_but_only_the_head_changes_and_allows_exports(app, channel) -> None:
    head = await make_admin(app, channel)
    member = await make_admin(app, channel, role="member", name="สมาชิกคณะทำงาน")
    async with client(app) as head_web, client(app) as member_web:
        head_token = await signed_in(app, head, head_web)
        member_token = await signed_in(app, member, member_web)
        settings = await member_web.get("/admin/DEMO/settings")
        assert t(app, "dash.head_only") in settings.text and " disabled" in settings.text
        refused = await member_web.post(
            "/admin/DEMO/settings/holdout", data={"form_token": member_token, "percent": "5"}
        )
        assert refused.status_code == 403
        blocked = await member_web.post(
            "/admin/DEMO/exports",
            data={"form_token": member_token, "year": "2570", "format": "csv"},
        )
        assert blocked.status_code == 403
        await head_web.post(
            "/admin/DEMO/settings/sharing",
            data={"form_token": head_token, "members_export": "1"},
        )
        allowed = await member_web.post(
            "/admin/DEMO/exports",
            data={"form_token": member_token, "year": "2570", "format": "csv"},
        )
        assert allowed.status_code == 200
    assert (await agency(app)).members_may_export is True
    assert len(await audit_rows(app, "admin.export_access")) == 1


async def test_a_revoked_admin_is_out_at_the_next_click(app, channel) -> None:
    head = await make_admin(app, channel)
    member = await make_admin(app, channel, role="member", name="สมาชิกคณะทำงาน")
    member_id = await person_id(app, member)
    head_id = await person_id(app, head)
    async with client(app) as head_web, client(app) as member_web:
        head_token = await signed_in(app, head, head_web)
        member_token = await signed_in(app, member, member_web)
        last = await head_web.post(
            "/admin/DEMO/settings/role",
            data={"form_token": head_token, "person": str(head_id), "role": "member"},
        )
        assert last.headers["location"].endswith("note=dash.last_head")
        gone = await head_web.post(
            "/admin/DEMO/settings/revoke", data={"form_token": head_token, "person": str(member_id)}
        )
        assert gone.headers["location"].endswith("note=dash.revoked")
        after = await member_web.get("/admin/DEMO/", follow_redirects=False)
        assert after.status_code == 303 and after.headers["location"] == "/admin"
        post = await member_web.post(
            "/admin/DEMO/exports",
            data={"form_token": member_token, "year": "2570", "format": "csv"},
        )
        assert post.status_code == 403
    async with app.sessions() as session:
        roles = (await session.exec(select(AdminRole))).all()
        assert [r.person_id for r in roles] == [head_id]
        left = (await session.exec(select(WebSession))).all()
        assert [s.person_id for s in left] == [head_id]
    assert len(await audit_rows(app, "admin.revoked")) == 1


async def test_settings_are_saved_and_bad_values_change_nothing(app, channel) -> None:
    head = await make_admin(app, channel)
    async with client(app) as web:
        token = await signed_in(app, head, web)
        await web.post(
            "/admin/DEMO/settings/weekly", data={"form_token": token, "day": "0", "time": "09:30"}
        )
        await web.post(
            "/admin/DEMO/settings/reminders", data={"form_token": token, "weekends": "1"}
        )
        bad = await web.post(
            "/admin/DEMO/settings/weekly", data={"form_token": token, "day": "9", "time": "25:00"}
        )
        assert bad.headers["location"].endswith("note=dash.bad_input")
        page = await web.get("/admin/DEMO/settings?note=dash.saved")
        assert t(app, "dash.saved") in page.text
        assert t(app, "admin.schedule", day="จันทร์", time="09:30") in page.text
        assert "วันขึ้นปีใหม่" in page.text  # the holidays reminders skip, listed
        english = await web.post(
            "/admin/DEMO/lang",
            data={"form_token": token, "lang": "en", "back": "/admin/DEMO/settings"},
        )
        assert english.headers["location"] == "/admin/DEMO/settings"
        assert "Public holidays of" in (await web.get("/admin/DEMO/settings")).text
    found = await agency(app)
    assert (found.weekly_day, found.weekly_time) == (0, time(9, 30))
    assert (found.nudge_on_weekends, found.nudge_on_holidays) == (True, False)
    assert [r.detail["day"] for r in await audit_rows(app, "admin.weekly_post")] == [0]


async def test_what_staff_typed_stays_text(app, channel) -> None:
    head = await make_admin(app, channel)
    demo = await agency(app)
    async with app.sessions() as session:
        session.add(
            Idea(
                person_id=await person_id(app, head),
                agency_id=demo.id,
                text="<script>alert(1)</script>{{nonce}}",
            )
        )
        await session.commit()
    async with client(app) as web:
        await signed_in(app, head, web)
        page = await web.get("/admin/DEMO/ideas")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#123;&#123;nonce&#125;&#125;" in page.text


async def test_signing_out_ends_the_session(app, channel) -> None:
    head = await make_admin(app, channel)
    async with client(app) as web:
        token = await signed_in(app, head, web)
        out = await web.post("/admin/signout", data={"form_token": token})
        assert out.status_code == 303 and out.headers["location"] == "/admin?out=1"
        assert (await web.get("/admin/DEMO/", follow_redirects=False)).status_code == 303
    assert await sessions_stored(app) == 0


async def test_a_data_copy_leaves_out_the_session_secrets(app, channel) -> None:
    admin = await make_admin(app, channel)
    async with client(app) as web:
        token = await signed_in(app, admin, web)
    replies = await admin.say("/mydata")
    export = next(r for r in replies if r.document)
    data = json.loads(export.document)["data"]
    assert data["websession"] and data["websignin"]  # the sign-in is in the copy...
    assert "token_hash" not in data["websession"][0]  # ...but not what would reopen it
    assert "form_token" not in data["websession"][0]
    assert token.encode() not in export.document
