"""The dashboard's addresses. Everything under /admin/{code}/ is for the signed-in
admins of that agency only (see `bot.dashboard.visit.guarded`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.dashboard import exports, settings, signin, views
from bot.dashboard.visit import Visit, app_of, guarded
from storage import web_access
from storage.db import transaction


@guarded
async def language(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    """POST /admin/{code}/lang: read the dashboard in Thai or English from now on."""
    lang = form.get("lang", "")
    if lang in ("th", "en"):
        async with transaction(app_of(request).sessions) as session:
            await web_access.set_lang(session, visit.secret, lang)
    back = form.get("back", "")
    home = f"/admin/{visit.code}/"
    safe = back.startswith(home) and "//" not in back and "\\" not in back
    return RedirectResponse(back if safe else home, status_code=303)


def routes() -> list[Route]:
    """Every route of the dashboard, for the server's table."""
    return [
        Route("/admin", signin.home, methods=["GET"]),
        Route("/admin/signin", signin.confirm, methods=["GET"]),
        Route("/admin/signin", signin.sign_in, methods=["POST"]),
        Route("/admin/signout", signin.sign_out, methods=["POST"]),
        Route("/admin/{code}/", views.overview, methods=["GET"]),
        Route("/admin/{code}/people", views.people, methods=["GET"]),
        Route("/admin/{code}/people/{number}", views.record, methods=["GET"]),
        Route("/admin/{code}/ideas", views.ideas, methods=["GET"]),
        Route("/admin/{code}/exports", exports.exports, methods=["GET", "POST"]),
        Route("/admin/{code}/settings", settings.settings, methods=["GET"]),
        Route("/admin/{code}/settings/{section}", settings.change, methods=["POST"]),
        Route("/admin/{code}/lang", language, methods=["POST"]),
    ]
