"""The dashboard's pages that look: the overview, the people, one person's record,
and the ideas. Figures come from the same functions as /summary and the OCSC
report (so the page and the report never disagree); lists are read on read
sessions, so looking never holds up the chat."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from bot.dashboard.acting import acting, said
from bot.dashboard.html import Cell, bar, esc, n, options, page, table
from bot.dashboard.visit import Visit, app_of, frame, guarded, not_found, refused
from content.loader import Content
from handlers.admin.record import show_record
from handlers.admin.staff import latest_ideas
from handlers.dates import date_text
from handlers.reports.arms import arms_text
from handlers.reports.figures import STEPS, AgencySummary, Tally, lagging
from handlers.reports.period import current_fiscal_year, fiscal_year_label
from handlers.reports.summary import (
    agency_figures,
    agency_summary,
    enrolled_text,
    group_label,
    unit_label,
)
from handlers.typed import whole_number
from storage import agencies
from storage.db import writing
from storage.models.admin import TIP
from storage.reports import PersonRow
from storage.timeutil import to_local

MAX_PEOPLE = 200  # rows on one page of people (the filters narrow it down)
IDEAS_PAGE = 50
YEARS_BACK = 3  # fiscal years offered besides the current one


def chosen_year(request: Request, visit: Visit) -> tuple[int, list[int]]:
    """The fiscal year asked for (?year=, the current one otherwise) and those offered."""
    app = app_of(request)
    current = current_fiscal_year(app.clock.now(), visit.seat.agency.timezone)
    offered = list(range(current, current - YEARS_BACK - 1, -1))
    asked = whole_number(request.query_params.get("year", ""), current)
    return (asked if asked in offered else current), offered


def year_form(content: Content, lang: str, action: str, year: int, offered: list[int]) -> str:
    """A GET form choosing the fiscal year (keyboard and screen reader friendly)."""
    choices = [(str(y), fiscal_year_label(content, lang, y)) for y in offered]
    return (
        f'<form method="get" action="{esc(action)}" class="inline"><label>'
        f"{esc(content.t('dash.year', lang))}"
        f'<select name="year">{options(choices, str(year))}</select></label>'
        f'<button type="submit">{esc(content.t("dash.show", lang))}</button></form>'
    )


def _tally_rows(content: Content, lang: str, tallies: dict[str, Tally], label) -> list[list[Cell]]:  # noqa: ANN001 - label: the name of a key
    largest = max((t.enrolled for t in tallies.values()), default=0)
    return [
        [
            Cell(label(key)),
            n(enrolled_text(content, lang, tally)),
            n(tally.completed),
            n(tally.in_progress),
            n(f"{tally.percent_completed}%"),
            bar(tally.enrolled, largest, f"{label(key)}: {tally.enrolled}"),
        ]
        for key, tally in tallies.items()
        if tally.enrolled or tally.headcount
    ]


def _overview_body(content: Content, lang: str, figures: AgencySummary) -> str:
    t = lambda key, **v: content.t(key, lang, **v)  # noqa: E731
    total = figures.total
    head = (
        '<div class="figures">'
        f'<p class="figure">{esc(t("dash.enrolled"))}'
        f"<strong>{esc(enrolled_text(content, lang, total))}</strong></p>"
        f'<p class="figure">{esc(t("dash.col.completed"))}<strong>'
        f"{esc(t('dash.completed', completed=total.completed, percent=total.percent_completed))}"
        "</strong></p></div>"
    )
    steps = [(content.step(s).title.get(lang), total.by_step.get(s, 0)) for s in STEPS]
    steps.append((t("dash.step_done"), total.completed))
    largest = max((count for _, count in steps), default=0)
    funnel = table(
        t("dash.funnel_caption"),
        [t("dash.col.step"), t("dash.col.people"), ""],
        [
            [
                Cell(f"{i}. {name}" if i <= len(STEPS) else name),
                n(count),
                bar(count, largest, f"{name}: {count}"),
            ]
            for i, (name, count) in enumerate(steps, 1)
        ],
        numeric=[1],
    )
    tally_heads = [
        t("dash.col.name"),
        t("dash.col.enrolled"),
        t("dash.col.completed"),
        t("dash.col.in_progress"),
        t("dash.col.percent"),
        "",
    ]
    units = table(
        t("dash.tally_caption"),
        tally_heads,
        _tally_rows(content, lang, figures.by_unit, lambda u: unit_label(content, lang, u)),
        numeric=[1, 2, 3, 4],
    )
    groups = table(
        t("dash.tally_caption"),
        tally_heads,
        _tally_rows(content, lang, figures.by_group, lambda g: group_label(content, lang, g)),
        numeric=[1, 2, 3, 4],
    )
    growth_rows = [
        [
            Cell(content.skill(s.skill_id).name.get(lang)),
            n(s.paired),
            n(f"{s.paired_pre:.1f}" if s.paired_pre is not None else "-"),
            n(f"{s.paired_post:.1f}" if s.paired_post is not None else "-"),
            n(f"{s.growth:+.1f}" if s.growth is not None else "-"),
        ]
        for s in figures.skills
    ]
    growth = table(
        t("dash.growth_caption"),
        [
            t("dash.col.skill"),
            t("dash.col.paired"),
            t("dash.col.pre"),
            t("dash.col.post"),
            t("dash.col.change"),
        ],
        growth_rows,
        numeric=[1, 2, 3, 4],
    )
    parts = [
        head,
        f"<h3>{esc(t('dash.funnel'))}</h3>{funnel}",
        f"<h3>{esc(t('dash.by_unit'))}</h3>{units}",
        f"<h3>{esc(t('dash.by_group'))}</h3>{groups}",
        f"<h3>{esc(t('dash.growth'))}</h3>{growth}"
        f'<p class="note">{esc(content.skills_file.disclaimer.get(lang))}</p>',
    ]
    if figures.arms is not None and not figures.arms.off:
        parts.append(
            f"<h3>{esc(t('dash.arms'))}</h3>"
            f'<p class="text">{esc(arms_text(content, lang, figures.arms))}</p>'
        )
    return "".join(parts)


@guarded
async def overview(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    """GET /admin/{code}/: the agency's figures of a fiscal year."""
    app = app_of(request)
    year, offered = chosen_year(request, visit)
    figures = await agency_figures(writing(app.sessions), app.content, visit.seat.agency, year)
    view = frame(request, visit, "overview")
    body = year_form(app.content, visit.lang, f"/admin/{visit.code}/", year, offered)
    body += _overview_body(app.content, visit.lang, figures)
    return page(view, view.t("dash.nav.overview"), body)


# ---- people ------------------------------------------------------------------------------


def _step_of(row: PersonRow) -> str:
    """ "1" to "6" for a round under way, "done" for a completed one."""
    return str(row.current.step) if row.is_open else "done"


def _filters(request: Request) -> dict[str, str]:
    query = request.query_params
    return {key: query.get(key, "")[:200] for key in ("unit", "group", "step", "idle")}


def _filter_form(
    content: Content, lang: str, action: str, rows: list[PersonRow], chosen: dict[str, str]
) -> str:
    t = lambda key: content.t(key, lang)  # noqa: E731
    anything = [("", t("dash.any"))]
    units = sorted({r.unit for r in rows})
    unit_choices = anything + [(u, unit_label(content, lang, u)) for u in units]
    group_choices = anything + [(g.id, g.label.get(lang)) for g in content.groups.personnel_groups]
    step_choices = anything + [(str(s), f"{s}. {content.step(s).title.get(lang)}") for s in STEPS]
    step_choices.append(("done", t("dash.step_done")))
    idle = esc(chosen["idle"])
    return (
        f'<form method="get" action="{esc(action)}" class="inline" aria-label="{esc(t("dash.filter"))}">'
        f'<label>{esc(t("dash.filter.unit"))}<select name="unit">{options(unit_choices, chosen["unit"])}</select></label>'
        f'<label>{esc(t("dash.filter.group"))}<select name="group">{options(group_choices, chosen["group"])}</select></label>'
        f'<label>{esc(t("dash.filter.step"))}<select name="step">{options(step_choices, chosen["step"])}</select></label>'
        f'<label>{esc(t("dash.filter.idle"))}<input type="number" name="idle" min="0" max="3650" value="{idle}"></label>'
        f'<button type="submit">{esc(t("dash.apply"))}</button></form>'
    )


@guarded
async def people(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    """GET /admin/{code}/people: the agency's people this fiscal year, filtered by
    unit, personnel group, step and days without progress."""
    app = app_of(request)
    content, lang = app.content, visit.lang
    year, _ = chosen_year(request, visit)
    rows, _ = await agency_summary(
        app.read_sessions, writing(app.sessions), content, visit.seat.agency, year
    )
    chosen = _filters(request)
    idle_days = whole_number(chosen["idle"], 3650) or 0
    async with app.read_sessions() as session:
        idle = {
            row.person_id: days for row, days in await lagging(session, rows, app.clock.now(), 0)
        }
    found = [
        row
        for row in rows
        if (not chosen["unit"] or row.unit == chosen["unit"])
        and (not chosen["group"] or row.personnel_group == chosen["group"])
        and (not chosen["step"] or _step_of(row) == chosen["step"])
        and (not idle_days or idle.get(row.person_id, -1) >= idle_days)
    ]
    found.sort(key=lambda r: (r.number is None, r.number or 0, r.person_id))
    base = f"/admin/{visit.code}"
    view = frame(request, visit, "people")
    body = _filter_form(content, lang, f"{base}/people", rows, chosen)
    if not found:
        body += f"<p>{esc(view.t('dash.people_none'))}</p>"
        return page(view, view.t("dash.nav.people"), body)
    shown = found[:MAX_PEOPLE]

    def link(row: PersonRow) -> Cell:
        if row.number is None:
            return Cell("-")
        label = view.t("dash.open_record")
        return Cell(raw=f'<a href="{base}/people/{row.number}">{esc(label)} #{row.number}</a>')

    table_rows = [
        [
            n(row.number if row.number is not None else "-"),
            Cell(row.name),
            Cell(unit_label(content, lang, row.unit)),
            Cell(group_label(content, lang, row.personnel_group)),
            Cell(row.current.step if row.is_open else view.t("dash.step_done")),
            n(idle.get(row.person_id, "-")),
            link(row),
        ]
        for row in shown
    ]
    body += table(
        view.t("dash.people_count", count=len(found), shown=len(shown)),
        [
            view.t("dash.col.number"),
            view.t("dash.col.name"),
            view.t("dash.col.unit"),
            view.t("dash.col.group"),
            view.t("dash.col.step"),
            view.t("dash.col.idle"),
            "",
        ],
        table_rows,
        numeric=[0, 5],
    )
    return page(view, view.t("dash.nav.people"), body)


@guarded
async def record(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    """GET /admin/{code}/people/{number}: one person's record, audited as /person is."""
    number = whole_number(request.path_params["number"])
    if number is None:
        return not_found(request, visit)
    async with acting(request, visit) as turn:
        if turn is None:
            return refused(request, visit)
        ctx, seat = turn
        if await agencies.numbered(ctx.session, visit.agency_id, number) is None:
            return not_found(request, visit)

        await show_record(ctx, seat, number)
        text = said(ctx)
    view = frame(request, visit, "people")
    body = (
        f'<p><a href="/admin/{visit.code}/people">{esc(view.t("dash.back_people"))}</a></p>'
        f'<div class="record">{esc(text)}</div>'
        f'<p class="note">{esc(view.t("dash.record_audited"))}</p>'
    )
    return page(view, view.t("dash.record_title", number=number), body)


# ---- ideas -------------------------------------------------------------------------------


@guarded
async def ideas(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    """GET /admin/{code}/ideas: what staff sent the working group, newest first."""
    app = app_of(request)
    offset = whole_number(request.query_params.get("from", "0"), 1_000_000) or 0
    async with app.read_sessions() as session:
        found = await latest_ideas(session, visit.agency_id, IDEAS_PAGE + 1, offset)
    view = frame(request, visit, "ideas")
    tz = visit.seat.agency.timezone
    rows = [
        [
            Cell(
                date_text(app.content, visit.lang, to_local(idea.created_at, tz).date(), short=True)
            ),
            Cell(view.t("dash.kind_tip" if idea.kind == TIP else "dash.kind_idea")),
            Cell(f"#{person.agency_number} {person.display_name or ''}".strip()),
            Cell(raw=f'<span class="text">{esc(idea.text)}</span>'),
        ]
        for idea, person in found[:IDEAS_PAGE]
    ]
    body = f'<p class="note">{esc(view.t("dash.ideas_intro"))}</p>'
    if not rows:
        body += f"<p>{esc(view.t('admin.ideas_none'))}</p>"
    else:
        body += table(
            view.t("dash.nav.ideas"),
            [
                view.t("dash.col.when"),
                view.t("dash.idea_kind"),
                view.t("dash.col.who"),
                view.t("dash.col.text"),
            ],
            rows,
        )
    pages = []
    base = f"/admin/{visit.code}/ideas"
    if offset:
        pages.append(
            f'<a href="{base}?from={max(0, offset - IDEAS_PAGE)}">{esc(view.t("dash.newer"))}</a>'
        )
    if len(found) > IDEAS_PAGE:
        pages.append(f'<a href="{base}?from={offset + IDEAS_PAGE}">{esc(view.t("dash.older"))}</a>')
    if pages:
        body += f"<p>{' · '.join(pages)}</p>"
    return page(view, view.t("dash.nav.ideas"), body)
