"""Signing in and out of the dashboard with the one-time link of /web.

Opening the link only shows a button: chat apps fetch links to draw previews,
and a preview must not use the link up. The button's POST uses the link (once:
see `storage.web_access.use_sign_in`) and opens an eight-hour session, whose
secret goes to the browser as an HttpOnly, SameSite=Strict cookie (Secure when
the dashboard is served over https). A link that is forged, expired or used
gets a refusal, and no session is stored.
"""

from __future__ import annotations

import hmac
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.dashboard.html import esc, flash, hidden, page
from bot.dashboard.visit import (
    COOKIE,
    Visit,
    app_of,
    form_of,
    frame,
    refused,
    same_site,
    unavailable,
    visit_of,
)
from handlers.admin.access import seat_of
from handlers.admin.commands import SIGN_IN_MINUTES
from storage import audit, web_access
from storage.db import transaction
from storage.models import Person

SESSION_HOURS = 8


async def home(request: Request) -> Response:
    """GET /admin: into the agency's overview when signed in, else how to sign in."""
    try:
        visit = await visit_of(request)
    except Exception:  # noqa: BLE001 - the database is down
        return unavailable(request)
    if visit is not None:
        return RedirectResponse(f"/admin/{visit.code}/", status_code=303)
    view = frame(request, None)
    body = f"<p>{esc(view.t('dash.signin_howto', minutes=SIGN_IN_MINUTES))}</p>"
    if request.query_params.get("out") == "1":
        body = flash(view.t("dash.signed_out")) + body
    return page(view, view.t("dash.signin_title"), body)


async def confirm(request: Request) -> Response:
    """GET /admin/signin?t=...: a button that uses the link (nothing is used yet)."""
    view = frame(request, None)
    secret = request.query_params.get("t", "")[: web_access.MAX_SECRET + 1]
    body = (
        f"<p>{esc(view.t('dash.signin_confirm'))}</p>"
        f'<form method="post" action="/admin/signin">{hidden("t", secret)}'
        f'<button type="submit">{esc(view.t("dash.signin_button"))}</button></form>'
    )
    return page(view, view.t("dash.signin_title"), body)


def _refused_link(request: Request) -> Response:
    view = frame(request, None)
    return page(
        view,
        view.t("dash.signin_title"),
        flash(view.t("dash.signin_refused"), bad=True),
        status_code=403,
    )


async def sign_in(request: Request) -> Response:
    """POST /admin/signin: use the link, open the session, go to the overview."""
    form = await form_of(request)
    if form is None or not same_site(request):
        return _refused_link(request)
    app = app_of(request)
    now = app.clock.now()
    try:
        async with transaction(app.sessions) as session:
            await web_access.forget_expired(session, now)
            used = await web_access.use_sign_in(session, form.get("t"), now)
            seat = await seat_of(session, used[0]) if used else None
            if used is None or seat is None or seat.agency.id != used[1]:
                opened = None
            else:
                person = await session.get(Person, used[0])
                lang = person.lang if person and person.lang in ("th", "en") else app.policy.lang
                opened = await web_access.open_session(
                    session, used[0], used[1], lang, now, timedelta(hours=SESSION_HOURS)
                )
                audit.record(
                    session, now, "admin.web_signin", actor=used[0], agency=seat.agency.code
                )
    except Exception:  # noqa: BLE001 - the database is down: the link is not used up
        return unavailable(request)
    if opened is None or seat is None:
        return _refused_link(request)
    answer = RedirectResponse(f"/admin/{seat.agency.code}/", status_code=303)
    answer.set_cookie(
        COOKIE,
        opened,
        max_age=SESSION_HOURS * 3600,
        path="/admin",
        httponly=True,
        samesite="strict",
        secure=_https(request),
    )
    return answer


def _https(request: Request) -> bool:
    """Served over https, directly or (as the dashboard's address says) behind a proxy."""
    return request.url.scheme == "https" or app_of(request).policy.dashboard_url.startswith(
        "https://"
    )


async def sign_out(request: Request) -> Response:
    """POST /admin/signout: end this browser's session (with the form token)."""
    visit: Visit | None
    try:
        visit = await visit_of(request)
    except Exception:  # noqa: BLE001 - the database is down
        return unavailable(request)
    form = await form_of(request)
    if visit is not None:
        token = (form or {}).get("form_token", "")
        if not hmac.compare_digest(token.encode(), visit.form_token.encode()):
            return refused(request, visit)
        app = app_of(request)
        async with transaction(app.sessions) as session:
            await web_access.close_session(session, visit.secret)
    answer = RedirectResponse("/admin?out=1", status_code=303)
    answer.delete_cookie(COOKIE, path="/admin")
    return answer
