"""The settings page: on which days reminders may go (with the holidays the coach
knows), when the weekly summary is posted, the hold-out share, who may export,
completion notices in the group chat, and the working group's members.

Everyone in the working group may look; only the head may change (each form
posts to its own section, runs the same handler as the chat command, audited,
and comes back to the page with what happened)."""

from __future__ import annotations

import re
from datetime import time

from sqlmodel import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.dashboard.acting import acting
from bot.dashboard.html import Cell, esc, flash, hidden, options, page, post_form, table
from bot.dashboard.visit import Visit, app_of, frame, guarded, not_found, refused
from handlers.admin import commands, setup
from handlers.dates import date_text
from handlers.reminders.rules import thai_holidays_named
from handlers.typed import whole_number
from storage import arms
from storage.models import WorkingGroupChat
from storage.models.admin import ROLES
from storage.timeutil import to_local

NOTES = ("dash.saved", "dash.revoked", "dash.bad_input", "dash.role_unknown")
NOTES += ("dash.member_unknown", "dash.last_head")
CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _checkbox(name: str, label: str, on: bool, disabled: str) -> str:
    return (
        f'<label class="check"><input type="checkbox" name="{name}" value="1"'
        f"{' checked' if on else ''}{disabled}>{esc(label)}</label>"
    )


def _section(visit: Visit, name: str, legend: str, inner: str) -> str:
    """One fieldset posting to /settings/`name`."""
    return post_form(
        f"/admin/{visit.code}/settings/{name}",
        visit.form_token,
        f"<fieldset><legend>{esc(legend)}</legend>{inner}</fieldset>",
    )


@guarded
async def settings(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    """GET /admin/{code}/settings."""
    app = app_of(request)
    view = frame(request, visit, "settings")
    agency, lang = visit.seat.agency, visit.lang
    head = visit.seat.is_head
    off = "" if head else " disabled"
    save = f'<button type="submit"{off}>{esc(view.t("dash.save"))}</button>'
    async with app.read_sessions() as session:
        chat = (
            await session.exec(
                select(WorkingGroupChat).where(WorkingGroupChat.agency_id == agency.id)
            )
        ).first()
        people, held = await arms.holdout_tally(session, agency.id)  # type: ignore[arg-type]
        members = await setup.members(session, visit.agency_id)
    parts = [
        f'<p class="note">{esc(view.t("dash.settings_intro" if head else "dash.head_only"))}</p>'
    ]
    note = request.query_params.get("note", "")
    if note in NOTES:
        parts.append(flash(view.t(note), bad=note not in ("dash.saved", "dash.revoked")))

    year = to_local(app.clock.now(), agency.timezone).year
    days = "".join(
        f"<li>{esc(date_text(app.content, lang, day, short=True))} {esc(name)}</li>"
        for day, name in thai_holidays_named(year, lang)
    )
    year_shown = year + 543 if lang == "th" else year
    parts.append(
        _section(
            visit,
            "reminders",
            view.t("dash.reminders"),
            _checkbox("weekends", view.t("dash.weekends"), agency.nudge_on_weekends, off)
            + _checkbox("holidays", view.t("dash.on_holidays"), agency.nudge_on_holidays, off)
            + f"<details><summary>{esc(view.t('dash.holidays_list', year=year_shown))}</summary>"
            f'<ul class="days">{days}</ul></details>' + save,
        )
    )
    names = [d.strip() for d in view.t("admin.weekdays").split(",")]
    day_choices = [("", view.t("dash.weekly_default"))] + [(str(i), d) for i, d in enumerate(names)]
    day, at = app.policy.weekly_slot(agency.weekly_day, agency.weekly_time)
    chosen_day = "" if agency.weekly_day is None else str(agency.weekly_day)
    parts.append(
        _section(
            visit,
            "weekly",
            view.t("dash.weekly"),
            '<div class="inline">'
            f'<label>{esc(view.t("dash.weekly_day"))}<select name="day"{off}>'
            f"{options(day_choices, chosen_day)}</select></label>"
            f'<label>{esc(view.t("dash.weekly_time"))}<input type="time" name="time"'
            f' value="{at.strftime("%H:%M")}"{off}></label>'
            f"</div><p class=note>{esc(commands.schedule_text_for(app.content, lang, day, at))}</p>"
            + save,
        )
    )
    parts.append(
        _section(
            visit,
            "holdout",
            view.t("dash.holdout"),
            f"<label>{esc(view.t('dash.holdout_percent', max=arms.MAX_PERCENT))}"
            f'<input type="number" name="percent" min="0" max="{arms.MAX_PERCENT}"'
            f' value="{agency.holdout_percent}"{off}></label>'
            f'<p class="note">{esc(view.t("holdout.status", agency=agency.name, percent=agency.holdout_percent, holdout=held, people=people, max=arms.MAX_PERCENT))}</p>'
            + save,
        )
    )
    notify = (
        _checkbox("notify", view.t("dash.notify"), chat.notify_completions, off)
        if chat is not None
        else f'<p class="note">{esc(view.t("dash.notify_unbound"))}</p>'
    )
    parts.append(
        _section(
            visit,
            "sharing",
            view.t("dash.sharing"),
            _checkbox(
                "members_export", view.t("dash.members_export"), agency.members_may_export, off
            )
            + notify
            + save,
        )
    )
    parts.append(f"<h3>{esc(view.t('dash.members'))}</h3>")
    parts.append(_members_table(request, visit, members, off))
    return page(view, view.t("dash.nav.settings"), "".join(parts))


def _members_table(request: Request, visit: Visit, members: list[setup.Member], off: str) -> str:
    app = app_of(request)
    t = lambda key: app.content.t(key, visit.lang)  # noqa: E731
    role_choices = [(role, t(f"admin.role_{role}")) for role in ROLES]
    base = f"/admin/{visit.code}/settings"
    rows = []
    for member in members:
        you = f" {t('dash.you')}" if member.person_id == visit.person_id else ""
        change = post_form(
            f"{base}/role",
            visit.form_token,
            hidden("person", str(member.person_id))
            + f'<label>{esc(t("dash.change_role"))}<select name="role"{off}>'
            f"{options(role_choices, member.role)}</select></label>"
            f'<button type="submit" class="plain"{off}>{esc(t("dash.save"))}</button>',
            css="inline",
        )
        revoke = post_form(
            f"{base}/revoke",
            visit.form_token,
            hidden("person", str(member.person_id))
            + f'<button type="submit" class="danger"{off}>{esc(t("dash.revoke"))}</button>',
        )
        rows.append(
            [
                Cell(f"#{member.number}" if member.number is not None else "-"),
                Cell(member.name + you),
                Cell(t(f"admin.role_{member.role}")),
                Cell(raw=change),
                Cell(raw=revoke),
            ]
        )
    heads = [t("dash.col.number"), t("dash.col.name"), t("dash.col.role"), "", ""]
    return table(t("dash.members"), heads, rows)


def _weekly_input(form: dict[str, str]) -> tuple[int | None, time | None] | None:
    """(day, time) from the weekly form; None when either is not valid."""
    day_text, time_text = form.get("day", ""), form.get("time", "")
    day = None if day_text == "" else whole_number(day_text, 6)
    if day_text and day is None:
        return None
    if time_text and not CLOCK.match(time_text):
        return None
    return day, time.fromisoformat(time_text) if time_text else None


@guarded
async def change(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    """POST /admin/{code}/settings/{section}: one change by the head, audited."""
    section = request.path_params["section"]
    if section not in ("reminders", "weekly", "holdout", "sharing", "role", "revoke"):
        return not_found(request, visit)
    if not visit.seat.is_head:
        return refused(request, visit)
    note = "dash.saved"
    weekly = _weekly_input(form) if section == "weekly" else None
    percent = whole_number(form.get("percent", ""), arms.MAX_PERCENT)
    member = whole_number(form.get("person", ""))
    if (
        (section == "weekly" and weekly is None)
        or (section == "holdout" and percent is None)
        or (section in ("role", "revoke") and member is None)
    ):
        return _back(visit, "dash.bad_input")
    async with acting(request, visit) as turn:
        if turn is None:
            return refused(request, visit)
        ctx, seat = turn
        if section == "reminders":
            setup.reminder_days(
                ctx,
                seat,
                weekends=form.get("weekends") == "1",
                holidays=form.get("holidays") == "1",
            )
        elif section == "weekly":
            assert weekly is not None
            setup.weekly_post(ctx, seat, *weekly)
        elif section == "holdout":
            await commands.holdout(ctx, seat, str(percent))
        elif section == "sharing":
            await _sharing(ctx, seat, form)
        elif section == "role":
            note = await setup.set_role(ctx, seat, member, form.get("role", "")) or note  # type: ignore[arg-type]
        else:
            note = await setup.revoke(ctx, seat, member) or "dash.revoked"  # type: ignore[arg-type]
    return _back(visit, note)


async def _sharing(ctx, seat, form: dict[str, str]) -> None:  # noqa: ANN001
    """Export access and completion notices: each changed (and audited) only when it changes."""
    wanted = form.get("members_export") == "1"
    if wanted != seat.agency.members_may_export:
        await commands.export_access(ctx, seat, "on" if wanted else "off")
    chat = (
        await ctx.session.exec(
            select(WorkingGroupChat).where(WorkingGroupChat.agency_id == seat.agency.id)
        )
    ).first()
    notify = form.get("notify") == "1"
    if chat is not None and notify != chat.notify_completions:
        await commands.notify(ctx, seat, "on" if notify else "off")


def _back(visit: Visit, note: str) -> Response:
    return RedirectResponse(f"/admin/{visit.code}/settings?note={note}", status_code=303)
