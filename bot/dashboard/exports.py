"""Downloading the agency's report from the dashboard: the same XLSX (for the
OCSC) and CSV as `dlcoach report` and /export, for the head of the working group
or, when the head allows it, its members. Every download is audited before the
file leaves (via "dashboard"), and the file is made on read sessions in a worker
thread, so a large agency's export never holds up the chat."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response

from bot.dashboard.html import esc, flash, page, post_form
from bot.dashboard.views import chosen_year
from bot.dashboard.visit import Visit, app_of, frame, guarded
from handlers.reports.period import fiscal_year_label
from handlers.reports.workbook import report_name
from handlers.typed import whole_number
from jobs.exports import report_file
from storage import audit
from storage.db import transaction

TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


def may_export(visit: Visit) -> bool:
    return visit.seat.is_head or visit.seat.agency.members_may_export


def _form(request: Request, visit: Visit, offered: list[int], year: int) -> str:
    app = app_of(request)
    t = lambda key: app.content.t(key, visit.lang)  # noqa: E731
    years = "".join(
        f'<label class="check"><input type="radio" name="year" value="{y}"'
        f"{' checked' if y == year else ''}>{esc(fiscal_year_label(app.content, visit.lang, y))}</label>"
        for y in offered
    )
    formats = "".join(
        f'<label class="check"><input type="radio" name="format" value="{fmt}"'
        f"{' checked' if fmt == 'xlsx' else ''}>{esc(t(f'dash.format_{fmt}'))}</label>"
        for fmt in TYPES
    )
    inner = (
        f"<fieldset><legend>{esc(t('dash.year'))}</legend>{years}</fieldset>"
        f"<fieldset><legend>{esc(t('dash.format'))}</legend>{formats}"
        f'<label class="check"><input type="checkbox" name="names" value="1">'
        f"{esc(t('dash.with_names'))}</label></fieldset>"
        f'<button type="submit">{esc(t("dash.download"))}</button>'
    )
    return post_form(f"/admin/{visit.code}/exports", visit.form_token, inner)


@guarded
async def exports(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    """GET: the form; POST: the file, audited."""
    app = app_of(request)
    view = frame(request, visit, "exports")
    year, offered = chosen_year(request, visit)
    if not may_export(visit):
        body = flash(view.t("dash.export_refused"), bad=True)
        status = 403 if request.method == "POST" else 200
        return page(view, view.t("dash.nav.exports"), body, status_code=status)
    if request.method == "GET":
        body = f'<p class="note">{esc(view.t("dash.exports_intro"))}</p>'
        return page(view, view.t("dash.nav.exports"), body + _form(request, visit, offered, year))
    fmt = form.get("format", "")
    asked = whole_number(form.get("year", ""), 9999)
    if fmt not in TYPES or asked not in offered:
        body = flash(view.t("dash.bad_input"), bad=True) + _form(request, visit, offered, year)
        return page(view, view.t("dash.nav.exports"), body, status_code=400)
    names = form.get("names") == "1"
    agency, now = visit.seat.agency, app.clock.now()
    data, people = await report_file(
        app.sessions,
        app.content,
        now,
        fmt,
        agency,
        visit.lang,
        year=asked,
        names=names,
        timezone=agency.timezone,
    )
    async with transaction(app.sessions) as session:  # audited before the file leaves
        audit.record(
            session,
            now,
            "admin.export",
            actor=visit.person_id,
            agency=agency.code,
            format=fmt,
            fiscal_year=asked,
            people=people,
            names=names,
            via="dashboard",
        )
    stem = re.sub(r"[^A-Za-z0-9_-]", "", report_name(agency).removesuffix(".xlsx"))
    name = f"{stem}-{asked}.{fmt}"
    return Response(
        data,
        media_type=TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
