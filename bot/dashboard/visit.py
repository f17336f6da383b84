"""Who is looking at the dashboard, checked on every request.

A visit is the browser's session cookie resolved against the database, and the
admin seat read fresh with it: a revoked admin is out at their next click, and a
seat of another agency than the session's is no seat. Every page is guarded by
`guarded`: not signed in, a GET goes to the sign-in page and a POST is refused;
another agency's code in the URL is "not found" (nobody learns which codes
exist); a POST must carry the session's form token, and, when the browser says
where the form came from (Origin), come from this site.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.app import App
from bot.dashboard.html import Frame, flash, page
from handlers.admin.access import Seat, seat_of
from storage import web_access
from storage.models import Person

log = logging.getLogger(__name__)

COOKIE = "dlcoach_admin"
MAX_FORM = 16_384  # bytes: the dashboard's forms are a few fields


@dataclass(frozen=True)
class Visit:
    """A signed-in admin on one request."""

    secret: str  # the cookie's value
    person_id: int
    name: str
    seat: Seat
    lang: str
    form_token: str

    @property
    def code(self) -> str:
        return self.seat.agency.code

    @property
    def agency_id(self) -> int:
        return self.seat.agency.id  # type: ignore[return-value]


def app_of(request: Request) -> App:
    return request.app.state.app


def frame(request: Request, visit: Visit | None, current: str | None = None) -> Frame:
    """The layout's frame for this request: the menu when signed in."""
    app = app_of(request)
    if visit is None:
        lang = request.query_params.get("lang", app.policy.lang)
        return Frame(app.content, lang if lang in ("th", "en") else app.policy.lang)
    role = app.content.t(f"admin.role_{visit.seat.role.role}", visit.lang)
    who = app.content.t(
        "dash.signed_in_as", visit.lang, name=visit.name, role=role, agency=visit.seat.agency.name
    )
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Frame(app.content, visit.lang, visit.code, current, who, visit.form_token, here)


async def visit_of(request: Request) -> Visit | None:
    """The signed-in admin of this request, or None."""
    secret = request.cookies.get(COOKIE)
    if not secret:
        return None
    app = app_of(request)
    async with app.read_sessions() as session:
        web = await web_access.live_session(session, secret, app.clock.now())
        if web is None:
            return None
        seat = await seat_of(session, web.person_id)
        if seat is None or seat.agency.id != web.agency_id:
            return None
        person = await session.get(Person, web.person_id)
        name = (person.display_name if person else None) or "-"
        return Visit(secret, web.person_id, name, seat, web.lang, web.form_token)


async def form_of(request: Request) -> dict[str, str] | None:
    """The posted form (application/x-www-form-urlencoded, the first value of each
    field), or None when it is too large or not a form."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            return None
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[0] for key, values in fields.items()}


def same_site(request: Request) -> bool:
    """No Origin (an older browser), or an Origin naming this host."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


def refused(request: Request, visit: Visit | None, status_code: int = 403) -> Response:
    """The polite refusal page (nothing was done)."""
    view = frame(request, visit)
    return page(
        view,
        view.t("dash.title"),
        flash(view.t("dash.forbidden"), bad=True),
        status_code=status_code,
    )


def not_found(request: Request, visit: Visit | None) -> Response:
    view = frame(request, visit)
    return page(view, view.t("dash.not_found"), "", status_code=404)


def unavailable(request: Request) -> Response:
    view = frame(request, None)
    return page(
        view, view.t("dash.title"), flash(view.t("dash.unavailable"), bad=True), status_code=503
    )


Handler = Callable[[Request, Visit, dict[str, str]], Awaitable[Response]]


def guarded(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """`handler` for signed-in admins of the agency in the URL only (see the module
    docstring); it gets the visit and, for a POST, the checked form."""

    async def endpoint(request: Request) -> Response:
        try:
            visit = await visit_of(request)
        except Exception:  # noqa: BLE001 - the database is down: say so, no traceback
            log.exception("dashboard: could not read the session")
            return unavailable(request)
        if visit is None:
            if request.method == "GET":
                return RedirectResponse("/admin", status_code=303)
            return refused(request, None)
        if request.path_params.get("code", visit.code) != visit.code:
            return not_found(request, visit)
        form: dict[str, str] = {}
        if request.method == "POST":
            posted = await form_of(request)
            token = (posted or {}).get("form_token", "")
            if posted is None or not same_site(request):
                return refused(request, visit)
            if not hmac.compare_digest(token.encode(), visit.form_token.encode()):
                return refused(request, visit)
            form = posted
        try:
            return await handler(request, visit, form)
        except Exception:  # noqa: BLE001 - never a traceback to the browser
            log.exception("dashboard: %s %s failed", request.method, request.url.path)
            return unavailable(request)

    return endpoint
