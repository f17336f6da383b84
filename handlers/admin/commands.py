"""The working group's commands, each checked against the sender's role first.

`ADMIN_COMMANDS` lists every admin command with the role it needs: members of
the working group may see, chase, give feedback and export; only the head
may write to every member of staff (/broadcast) or choose where the agency's
summaries go (/bindgroup, /notify). `private_command` and `group_command`
wrap a command with the role check for private and group chats.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from content.loader import Content
from handlers.admin import access
from handlers.admin.access import Seat
from handlers.admin.awards import give_award, latest_completed
from handlers.admin.record import RECORD, record_choices, show_record
from handlers.admin.staff import cancel_choice, latest_ideas
from handlers.common import MAX_TEXT, free_text, is_cancel
from handlers.context import Answer, Ctx
from handlers.conversation import HOLD, REASK, Next
from handlers.errors import Reprompt
from handlers.messages import Choice, Reply
from handlers.reminders.budget import month_of
from handlers.reminders.facts import load_facts
from handlers.reminders.rules import ADMIN, may_nudge_now, withheld
from handlers.reports.figures import exemplary, lagging
from handlers.reports.period import current_fiscal_year, parse_fiscal_year
from handlers.reports.summary import (
    Writing,
    agency_figures,
    agency_summary,
    summary_replies,
    unit_label,
)
from handlers.reports.workbook import report_name, report_sheets, workbook_render
from handlers.typed import whole_number
from storage import agencies, arms, web_access
from storage import nudges as nudge_queries
from storage.accounts import Account, reachable
from storage.batches import id_batches
from storage.db import off_the_loop
from storage.models import Feedback, Nudge, Person, WorkingGroupChat
from storage.models.admin import ROLE_HEAD, ROLE_MEMBER, TIP
from storage.models.nudges import PLANNED
from storage.pushes import agency_push_months
from storage.reports import PersonRow
from storage.timeutil import to_local

MAX_LISTED = 50  # people per listing; the XLSX report has everyone
RECENT_IDEAS = 20
EXEMPLARY_COUNT = 10

# An admin command's handler: None when it is done (the person's question is
# asked again), or the state it leads to.
AdminHandler = Callable[[Ctx, Seat, str], Awaitable["Next | None"]]


@dataclass(frozen=True)
class AdminCommand:
    """An admin command: its handler, the role it needs, and the states it may lead to."""

    handler: AdminHandler
    role: str = ROLE_MEMBER
    leads_to: tuple[str, ...] = ()


def _date_text(ctx: Ctx, seat: Seat, moment: datetime) -> str:
    """A stored moment as the agency's local date, in Thai (Buddhist Era) or English."""
    return ctx.date_text(to_local(moment, seat.agency.timezone).date())


def _person_line(ctx: Ctx, row: PersonRow, **extra: object) -> str:
    return ctx.t("admin.person_line", number=row.number, name=row.name or "-", **extra)


# ---- /admin: redeem an invite, or see the admin commands -----------------------------------


async def cmd_admin(ctx: Ctx, argument: str) -> Next:
    """/admin CODE redeems an invite code; /admin alone shows what an admin can do."""
    assert ctx.person is not None
    if argument.strip():
        await _redeem(ctx, argument)
    else:
        seat = await access.seat_of(ctx.session, ctx.person.id)
        if seat is None:
            ctx.say(ctx.t("admin.how_to_join"))
        else:
            ctx.say(admin_help(ctx, seat))
    return HOLD


def admin_help(ctx: Ctx, seat: Seat) -> str:
    role = ctx.t("admin.role_head" if seat.is_head else "admin.role_member")
    return ctx.t("admin.help", role=role, agency=seat.agency.name)


async def _redeem(ctx: Ctx, code: str) -> None:
    if await access.guessing_paused(ctx):
        ctx.audit("admin.invite_blocked")
        ctx.say(ctx.t("admin.invite_wait"))
        return
    seat = await access.redeem(ctx, code)
    if seat is None:
        await access.wrong_code(ctx)
        ctx.say(ctx.t("admin.invite_invalid"))
        return
    ctx.audit("admin.invite_redeemed", agency=seat.agency.code, role=seat.role.role)
    role = ctx.t("admin.role_head" if seat.is_head else "admin.role_member")
    ctx.say(ctx.t("admin.invite_ok", role=role, agency=seat.agency.name))
    ctx.say(admin_help(ctx, seat))


# ---- seeing progress -------------------------------------------------------------------------


def _year(ctx: Ctx, seat: Seat, argument: str) -> int:
    """The fiscal year an admin asked for (2570, or 2027 for the year it ends in);
    the current one when none is given."""
    if not argument.strip():
        return current_fiscal_year(ctx.now, seat.agency.timezone)
    year = parse_fiscal_year(argument)
    if year is None:
        raise Reprompt("admin.year_invalid")
    return year


async def _rows(ctx: Ctx, seat: Seat, year: int | None = None):  # noqa: ANN202
    """The agency's people and figures in fiscal year `year` (the current one by default)."""
    year = year or current_fiscal_year(ctx.now, seat.agency.timezone)
    return await agency_summary(_reads(ctx), _in_turn(ctx), ctx.content, seat.agency, year)


def _reads(ctx: Ctx) -> async_sessionmaker[AsyncSession]:
    """The turn's read sessions, where the reports count (see `Ctx.reads`)."""
    if ctx.reads is None:
        raise RuntimeError("reports need the turn's read sessions (Ctx.reads)")
    return ctx.reads


def _in_turn(ctx: Ctx) -> Writing:
    """The turn's own transaction, where the people's facts are brought up to date
    (on SQLite the turn holds the one write lock: another transaction would wait
    for it)."""

    @asynccontextmanager
    async def turn() -> AsyncIterator[AsyncSession]:
        yield ctx.session

    return turn


async def summary(ctx: Ctx, seat: Seat, argument: str) -> None:
    """/summary [fiscal year]: enrolment, steps, units, personnel groups, completion and
    growth, with charts."""
    year = _year(ctx, seat, argument)
    figures = await agency_figures(_in_turn(ctx), ctx.content, seat.agency, year)
    pushes = []  # this month's pushes on platforms with a quota, in the current year only
    if year == current_fiscal_year(ctx.now, seat.agency.timezone):
        month = month_of(ctx.now, ctx.policy.timezone).key
        pushes = await agency_push_months(ctx.session, seat.agency.id, month)
    ctx.replies.extend(
        summary_replies(
            ctx.content,
            ctx.lang,
            seat.agency,
            figures,
            ctx.today(seat.agency.timezone),
            pushes=pushes,
        )
    )
    ctx.audit("admin.summary", agency=seat.agency.code, people=figures.total.enrolled)


def _days(ctx: Ctx, argument: str) -> int:
    """The /inactive and /nudge argument: whole days, 1 to 365; the setting when omitted."""
    text = argument.strip()
    if not text:
        return ctx.policy.inactive_days
    days = whole_number(text, 365)
    if days is None or days < 1:
        raise Reprompt("admin.days_invalid")
    return days


async def _lagging(ctx: Ctx, seat: Seat, days: int) -> list[tuple[PersonRow, int]]:
    rows, _ = await _rows(ctx, seat)
    return await lagging(ctx.session, rows, ctx.now, days)


async def inactive(ctx: Ctx, seat: Seat, argument: str) -> None:
    """/inactive [days]: who has not moved on for that long, by unit, with their number."""
    days = _days(ctx, argument)
    found = await _lagging(ctx, seat, days)
    if not found:
        ctx.say(ctx.t("admin.inactive_none", days=days))
    else:
        lines: list[str] = []
        unit: str | None = None
        for row, idle in found[:MAX_LISTED]:
            if row.unit != unit:
                unit = row.unit
                lines.append(
                    ctx.t("admin.unit_heading", unit=unit_label(ctx.content, ctx.lang, unit))
                )
            lines.append(
                _person_line(
                    ctx, row, detail=ctx.t("admin.idle_detail", step=row.current_step, days=idle)
                )
            )
        if len(found) > MAX_LISTED:
            lines.append(ctx.t("admin.more", count=len(found) - MAX_LISTED))
        numbers = [row.number for row, _ in found if row.number is not None]
        ctx.offer(
            ctx.t("admin.inactive", days=days, count=len(found), lines="\n".join(lines)),
            record_choices(ctx, numbers),
        )
    ctx.audit(
        "admin.inactive",
        agency=seat.agency.code,
        days=days,
        people=[r.person_id for r, _ in found],
    )


AWARD = "ex:"  # choice-id prefix of the "give the certificate" buttons: ex:<number>


async def exemplary_people(ctx: Ctx, seat: Seat, argument: str) -> None:
    """/exemplary: candidates for the exemplary-learner certificate, by what they applied
    at work; the head gives each certificate with a tap and a confirmation."""
    rows, _ = await _rows(ctx, seat)
    best = exemplary(rows, EXEMPLARY_COUNT)
    if not best:
        ctx.say(ctx.t("admin.exemplary_none"))
    else:
        lines = [
            _person_line(
                ctx,
                row,
                detail=ctx.t(
                    "admin.exemplary_detail",
                    unit=unit_label(ctx.content, ctx.lang, row.unit),
                    uses=shown.uses,
                    outcomes=shown.outcomes,
                    reached=shown.goals_reached,
                    total=f"{shown.growth.total:+d}",
                    date=_date_text(ctx, seat, row.completed_at or ctx.now),
                ),
            )
            for row, shown in best
        ]
        text = ctx.t(
            "admin.exemplary",
            lines="\n".join(f"{i}. {line}" for i, line in enumerate(lines, 1)),
        )
        buttons = [
            Choice(f"{AWARD}{row.number}", ctx.t("admin.award_button", number=row.number))
            for row, _ in best
            if row.number is not None
        ]
        ctx.offer(text, buttons)
    ctx.audit("admin.exemplary", agency=seat.agency.code, people=[r.person_id for r, _ in best])


async def award_button(ctx: Ctx, choice: str) -> Next:
    """The head taps "give the certificate" under /exemplary: ask to confirm."""
    seat = await access.require(ctx, "exemplary", ROLE_HEAD)
    if seat is None:
        return REASK
    number = whole_number(choice.removeprefix(AWARD))
    candidate = await person_numbered(ctx, seat, number) if number is not None else None
    if candidate is None:
        ctx.say(ctx.t("common.stale_button"))
        return HOLD
    ctx.set_data(award_to=candidate.agency_number)
    return "admin.award"


async def ask_award(ctx: Ctx) -> None:
    """Confirm the exemplary certificate for one person."""
    seat = await access.seat_of(ctx.session, ctx.person.id if ctx.person else None)
    number = ctx.data.get("award_to")
    candidate = await person_numbered(ctx, seat, int(number)) if seat and number else None
    name = candidate.display_name if candidate else "-"
    ctx.ask(
        ctx.t("admin.award_confirm", number=number, name=name or "-"),
        [Choice("aw:give", ctx.t("admin.award_give")), cancel_choice(ctx)],
    )


async def answer_award(ctx: Ctx, answer: Answer) -> Next:
    if is_cancel(ctx, answer):
        ctx.say(ctx.t("admin.cancelled"))
        return HOLD
    if answer.choice != "aw:give":
        raise Reprompt("common.pick_one")
    seat = await access.require(ctx, "exemplary", ROLE_HEAD)
    if seat is None:
        return HOLD
    number = int(ctx.data.get("award_to") or 0)
    ctx.set_data(award_to=None)
    candidate = await person_numbered(ctx, seat, number)
    journey = await latest_completed(ctx, candidate) if candidate else None
    if candidate is None or journey is None:
        ctx.say(ctx.t("admin.person_unknown", number=number))
        return HOLD
    await give_award(ctx, seat, candidate, journey)
    return HOLD


async def ideas(ctx: Ctx, seat: Seat, argument: str) -> None:
    """/ideas: the latest opinions and suggestions staff sent with /idea, and the tips
    of those who completed a round (marked as tips)."""
    found = await latest_ideas(ctx.session, seat.agency.id, RECENT_IDEAS)  # type: ignore[arg-type]
    if not found:
        ctx.say(ctx.t("admin.ideas_none"))
    else:
        lines = [
            ctx.t(
                "admin.tip_line" if idea.kind == TIP else "admin.idea_line",
                date=_date_text(ctx, seat, idea.created_at),
                number=person.agency_number,
                name=person.display_name or "-",
                text=idea.text,
            )
            for idea, person in found
        ]
        ctx.say(ctx.t("admin.ideas", count=len(found), lines="\n".join(lines)))
    ctx.audit("admin.ideas", agency=seat.agency.code, ideas=[i.id for i, _ in found])


def _names_word(ctx: Ctx, words: list[str]) -> tuple[bool, list[str]]:
    """Whether `words` ask for names (`admin.export_names_word`), and the other words."""
    wanted = {
        w.strip().casefold()
        for lang in ("th", "en")
        for w in ctx.content.t("admin.export_names_word", lang).split(",")
    }
    rest = [w for w in words if w.casefold() not in wanted]
    return len(rest) != len(words), rest


async def export(ctx: Ctx, seat: Seat, argument: str) -> None:
    """/export [fiscal year] [names]: the data for the agency's report to the OCSC
    (XLSX), numbers only unless names are asked for (internal use, audited); for the
    head, or for members when the head allows it."""
    if not seat.is_head and not seat.agency.members_may_export:
        ctx.audit("admin.refused", command="export", reason="export_for_head")
        ctx.say(ctx.t("admin.export_head_only"))
        return
    names, rest = _names_word(ctx, argument.split())
    rows, figures = await _rows(ctx, seat, _year(ctx, seat, " ".join(rest)))
    day = ctx.today(seat.agency.timezone)
    sheets = report_sheets(ctx.content, ctx.lang, seat.agency, rows, figures, day, names=names)
    workbook = workbook_render(sheets, failed_text=ctx.t("admin.export_failed"))
    ready = "admin.export_ready_names" if names else "admin.export_ready"
    ctx.send_document(ctx.t(ready, count=len(rows)), workbook, report_name(seat.agency))
    ctx.audit(
        "admin.export",
        agency=seat.agency.code,
        format="xlsx",
        people=len(rows),
        names=names,
        fiscal_year=figures.year,
    )


async def export_access(ctx: Ctx, seat: Seat, argument: str) -> None:
    """/exportaccess on|off: whether members of the working group may export too."""
    wanted = argument.strip().casefold()
    if wanted in ("on", "off"):
        seat.agency.members_may_export = wanted == "on"
        ctx.session.add(seat.agency)
        ctx.audit("admin.export_access", agency=seat.agency.code, members=wanted == "on")
    elif wanted:
        raise Reprompt("admin.export_access_usage")
    key = "admin.export_access_on" if seat.agency.members_may_export else "admin.export_access_off"
    ctx.say(ctx.t(key))


async def holdout(ctx: Ctx, seat: Seat, argument: str) -> None:
    """/holdout [percent]: the share of people joining from now on kept in the hold-out
    group (only the check-ins they chose); 0 to 50, shown with the group's size."""
    text = argument.strip().removesuffix("%").strip()
    if text:
        percent = whole_number(text, arms.MAX_PERCENT)
        if percent is None:
            raise Reprompt("holdout.usage", max=arms.MAX_PERCENT)
        seat.agency.holdout_percent = percent
        ctx.session.add(seat.agency)
        ctx.audit("admin.holdout", agency=seat.agency.code, percent=percent)
        ctx.say(ctx.t("holdout.set", percent=percent))
    people, held = await arms.holdout_tally(ctx.session, seat.agency.id)  # type: ignore[arg-type]
    ctx.say(
        ctx.t(
            "holdout.status",
            agency=seat.agency.name,
            percent=seat.agency.holdout_percent,
            holdout=held,
            people=people,
            max=arms.MAX_PERCENT,
        )
    )


async def person(ctx: Ctx, seat: Seat, argument: str) -> None:
    """/person NUMBER: one person's record (plan, logs, ratings) before giving feedback."""
    text = argument.strip().lstrip("#")
    if not text.isdecimal():
        raise Reprompt("admin.person_usage")
    number = whole_number(text)
    if number is None:  # more than any agency's count of people
        ctx.say(ctx.t("admin.person_unknown", number=text[:20]))
        return
    await show_record(ctx, seat, number)


async def record_button(ctx: Ctx, choice: str) -> Next:
    """An "open the record" button under an /inactive list."""
    seat = await access.require(ctx, "person")
    if seat is None:
        return REASK
    number = whole_number(choice.removeprefix(RECORD))
    if number is None:
        ctx.say(ctx.t("common.stale_button"))
        return HOLD
    await show_record(ctx, seat, number)
    return HOLD


# ---- chasing ------------------------------------------------------------------------------------


NUDGE_PREVIEW = 20  # names shown in the /nudge preview, each list


@dataclass(frozen=True)
class NudgePlan:
    """Who a /nudge would reach now, and who it would skip and why."""

    days: int
    lagging: int
    going: list[tuple[PersonRow, int]]  # (person, idle days)
    skipped: list[tuple[PersonRow, str]]  # (person, message key of the reason)


async def _nudge_plan(ctx: Ctx, seat: Seat, days: int) -> NudgePlan:
    """The people lagging `days` or more, split by the person's own settings (off,
    paused, quiet hours now), whether they can be reached, and today's nudges."""
    found = await _lagging(ctx, seat, days)
    ids = [row.person_id for row, _ in found]
    facts = await load_facts(ctx.session, ids, seat.agency.timezone)
    accounts = await reachable(ctx.session, ids)
    already: set[int] = set()
    for batch in id_batches(ids):
        already.update(
            (
                await ctx.session.exec(
                    select(Nudge.person_id).where(
                        Nudge.person_id.in_(batch),  # type: ignore[attr-defined]
                        Nudge.kind == ADMIN,
                        Nudge.slot == _nudge_slot(ctx, seat),
                    )
                )
            ).all()
        )
    going, skipped = [], []
    for row, idle in found:
        if row.person_id not in accounts:
            skipped.append((row, "admin.skip_unreachable"))
        elif row.person_id in already:
            skipped.append((row, "admin.skip_today"))
        elif withheld(facts[row.person_id], ADMIN):
            skipped.append((row, "admin.skip_holdout"))
        elif not may_nudge_now(facts[row.person_id], ctx.now):
            skipped.append((row, "admin.skip_settings"))
        else:
            going.append((row, idle))
    return NudgePlan(days, len(found), going, skipped)


def _nudge_slot(ctx: Ctx, seat: Seat) -> str:
    return f"{ADMIN}:{ctx.today(seat.agency.timezone).isoformat()}"


def _names(ctx: Ctx, rows: list[tuple[PersonRow, str]]) -> str:
    """Up to NUDGE_PREVIEW people, one a line, with the reason (a message key) if any."""
    lines = [
        _person_line(ctx, row, detail=ctx.t(reason)) if reason else f"#{row.number} {row.name}"
        for row, reason in rows[:NUDGE_PREVIEW]
    ]
    if len(rows) > NUDGE_PREVIEW:
        lines.append(ctx.t("admin.more", count=len(rows) - NUDGE_PREVIEW))
    return "\n".join(lines) or ctx.t("admin.nobody")


async def nudge(ctx: Ctx, seat: Seat, argument: str) -> Next | None:
    """/nudge [days]: show who a nudge would reach and who it would skip, then ask to confirm."""
    plan = await _nudge_plan(ctx, seat, _days(ctx, argument))
    if not plan.lagging:
        ctx.say(ctx.t("admin.inactive_none", days=plan.days))
        return None
    ctx.set_data(nudge_days=plan.days)
    return "admin.nudge"


async def ask_nudge(ctx: Ctx) -> None:
    """The /nudge preview: the names on each side, and send or cancel."""
    seat = await access.seat_of(ctx.session, ctx.person.id if ctx.person else None)
    if seat is None:
        return
    plan = await _nudge_plan(ctx, seat, int(ctx.data.get("nudge_days") or ctx.policy.inactive_days))
    ctx.ask(
        ctx.t(
            "admin.nudge_preview",
            days=plan.days,
            going=len(plan.going),
            going_names=_names(ctx, [(r, "") for r, _ in plan.going]),
            skipped=len(plan.skipped),
            skipped_names=_names(ctx, plan.skipped),
        ),
        [Choice("ng:send", ctx.t("admin.nudge_send")), cancel_choice(ctx)],
    )


async def answer_nudge(ctx: Ctx, answer: Answer) -> Next:
    """Send the nudges of the preview (the rules are asked again: time has passed)."""
    if is_cancel(ctx, answer):
        ctx.say(ctx.t("admin.cancelled"))
        return HOLD
    if answer.choice != "ng:send":
        raise Reprompt("common.pick_one")
    seat = await access.require(ctx, "nudge")
    if seat is None:
        return HOLD
    await off_the_loop(ctx.session)  # the agency's lagging people, and a nudge for each
    plan = await _nudge_plan(ctx, seat, int(ctx.data.get("nudge_days") or ctx.policy.inactive_days))
    await nudge_queries.ensure_counters(ctx.session, [row.person_id for row, _ in plan.going])
    planned = await nudge_queries.insert_planned(
        ctx.session,
        [
            {
                "person_id": row.person_id,
                "kind": ADMIN,
                "slot": _nudge_slot(ctx, seat),
                "due_at": ctx.now,
                "status": PLANNED,
                "detail": {
                    "agency": seat.agency.code,
                    "agency_name": seat.agency.name,
                    "idle_days": idle,
                    "by": ctx.person.id if ctx.person else None,
                },
                "created_at": ctx.now,
            }
            for row, idle in plan.going
        ],
    )
    sent = [pid for pid, _ in planned]
    ctx.due_nudges.extend(sent)
    ctx.set_data(nudge_days=None)
    ctx.say(
        ctx.t(
            "admin.nudged",
            sent=len(sent),
            lagging=plan.lagging,
            days=plan.days,
            skipped=plan.lagging - len(sent),
        )
    )
    ctx.audit("admin.nudge", agency=seat.agency.code, days=plan.days, people=sent)
    return HOLD


# ---- writing to staff -------------------------------------------------------------------------------


async def _staff(ctx: Ctx, seat: Seat) -> list[Person]:
    """Onboarded staff of the agency."""
    result = await ctx.session.exec(
        select(Person)
        .where(Person.agency_id == seat.agency.id, Person.onboarded_at.is_not(None))  # type: ignore[union-attr]
        .order_by(Person.id)
    )
    return list(result.all())


async def _recipients(ctx: Ctx, seat: Seat) -> list[tuple[Person, Account]]:
    """Staff who can be reached now, each with the account to write to."""
    staff = await _staff(ctx, seat)
    accounts = await reachable(ctx.session, [p.id for p in staff])  # type: ignore[misc]
    return [(p, accounts[p.id]) for p in staff if p.id in accounts]


async def broadcast(ctx: Ctx, seat: Seat, argument: str) -> Next | None:
    """/broadcast [TEXT]: ask for the text when there is none, then show it with the
    number of people who will receive it, and ask to confirm."""
    text = argument.strip()
    if not text:
        return "admin.broadcast_text"
    if len(text) > MAX_TEXT:
        ctx.say(ctx.t("common.too_long", max=MAX_TEXT))
        return None
    ctx.set_data(broadcast_text=text)
    return "admin.broadcast"


async def ask_broadcast_text(ctx: Ctx) -> None:
    """Ask for the text of the announcement."""
    ctx.ask(ctx.t("admin.broadcast_ask"), [cancel_choice(ctx)])


async def answer_broadcast_text(ctx: Ctx, answer: Answer) -> Next:
    if is_cancel(ctx, answer):
        ctx.say(ctx.t("admin.cancelled"))
        return HOLD
    ctx.set_data(broadcast_text=free_text(answer, min_len=2))
    return "admin.broadcast"


async def ask_broadcast(ctx: Ctx) -> None:
    """Confirm a broadcast: the text and the number of people who will get it."""
    seat = await access.seat_of(ctx.session, ctx.person.id if ctx.person else None)
    count = len(await _recipients(ctx, seat)) if seat else 0
    ctx.ask(
        ctx.t("admin.broadcast_confirm", count=count, text=ctx.data.get("broadcast_text", "")),
        [Choice("bc:send", ctx.t("admin.broadcast_send")), cancel_choice(ctx)],
    )


async def answer_broadcast(ctx: Ctx, answer: Answer) -> Next:
    if is_cancel(ctx, answer):
        ctx.set_data(broadcast_text=None)
        ctx.say(ctx.t("admin.cancelled"))
        return HOLD
    if answer.choice != "bc:send":
        raise Reprompt("common.pick_one")
    seat = await access.require(ctx, "broadcast", ROLE_HEAD)
    if seat is None:
        return HOLD
    await off_the_loop(ctx.session)  # a row for everyone in the agency
    text = str(ctx.data.get("broadcast_text") or "")
    recipients = await _recipients(ctx, seat)
    sender = ctx.person.display_name if ctx.person else ""
    for person, account in recipients:
        message = ctx.content.t(
            "admin.broadcast_message",
            person.lang,
            agency=seat.agency.name,
            sender=sender,
            text=text,
        )
        ctx.send_to(account, [Reply(text=message)], kind="broadcast")
    ctx.set_data(broadcast_text=None)
    ctx.say(ctx.t("admin.broadcast_sent", count=len(recipients)))
    ctx.audit(
        "admin.broadcast", agency=seat.agency.code, recipients=len(recipients), chars=len(text)
    )
    return HOLD


_PERSON_AND_TEXT = re.compile(r"^#?(\d{1,9})\s+(.+)$", re.S)


async def person_numbered(ctx: Ctx, seat: Seat, number: int) -> Person | None:
    """The person with `number` in the admin's agency (numbers are per agency)."""
    return await agencies.numbered(ctx.session, seat.agency.id, number)  # type: ignore[arg-type]


async def feedback(ctx: Ctx, seat: Seat, argument: str) -> None:
    """/feedback NUMBER TEXT: a message to one person of the agency, who can answer back."""
    match = _PERSON_AND_TEXT.match(argument.strip())
    if match is None:
        ctx.say(ctx.t("admin.feedback_usage"))
        return
    number, text = int(match.group(1)), match.group(2).strip()
    if len(text) > MAX_TEXT:
        ctx.say(ctx.t("common.too_long", max=MAX_TEXT))
        return
    target = await person_numbered(ctx, seat, number)
    if target is None:
        ctx.audit("admin.feedback_unknown", agency=seat.agency.code, number=number)
        ctx.say(ctx.t("admin.person_unknown", number=number))
        return
    account = (await reachable(ctx.session, [target.id])).get(target.id)  # type: ignore[list-item]
    if account is None:
        ctx.say(ctx.t("admin.unreachable", number=number))
        return
    assert ctx.person is not None
    note = Feedback(
        agency_id=seat.agency.id,
        from_person_id=ctx.person.id,
        to_person_id=target.id,
        text=text,
        created_at=ctx.now,
    )
    ctx.session.add(note)
    await ctx.session.flush()
    lang, sender = target.lang, ctx.person.display_name or ""
    message = Reply(
        text=ctx.content.t(
            "admin.feedback_message", lang, sender=sender, agency=seat.agency.name, text=text
        ),
        choices=(Choice(f"fb:{note.id}", ctx.content.t("admin.reply_button", lang)),),
    )
    ctx.send_to(account, [message], kind="feedback")
    ctx.say(ctx.t("admin.feedback_sent", number=number, name=target.display_name or "-"))
    ctx.audit("admin.feedback", subject=target.id, agency=seat.agency.code, feedback=note.id)


# ---- the dashboard ------------------------------------------------------------------------------

SIGN_IN_MINUTES = 10  # how long a /web link works (once)


async def web(ctx: Ctx, seat: Seat, argument: str) -> None:
    """/web: a one-time link that signs this admin in to the dashboard, in a private
    chat only (a link in a group would let anyone there in)."""
    if ctx.incoming.chat_type != "private":
        ctx.say(ctx.t("group.private_only"))
        return
    assert ctx.person is not None and ctx.person.id is not None
    secret = await web_access.new_sign_in(
        ctx.session, ctx.person.id, seat.agency.id, ctx.now, timedelta(minutes=SIGN_IN_MINUTES)
    )  # type: ignore[arg-type]
    link = f"{ctx.policy.dashboard_url}/admin/signin?t={secret}"
    ctx.say(ctx.t("admin.web_link", link=link, minutes=SIGN_IN_MINUTES))
    ctx.audit("admin.web_link", agency=seat.agency.code)


# ---- the working-group chat --------------------------------------------------------------------


def schedule_text_for(content: Content, lang: str, day: int, at: time) -> str:
    """ "Every Friday at 15:00": when a weekly summary is posted, as an admin reads it."""
    names = [n.strip() for n in content.t("admin.weekdays", lang).split(",")]
    return content.t("admin.schedule", lang, day=names[day % 7], time=at.strftime("%H:%M"))


def schedule_text(ctx: Ctx, seat: Seat) -> str:
    """When the agency's weekly summary is posted (its own slot, else the deployment's)."""
    day, at = ctx.policy.weekly_slot(seat.agency.weekly_day, seat.agency.weekly_time)
    return schedule_text_for(ctx.content, ctx.lang, day, at)


async def bindgroup(ctx: Ctx, seat: Seat, argument: str) -> None:
    """/bindgroup, typed in a group: make it the agency's working-group chat."""
    if ctx.incoming.chat_type != "group":
        ctx.say(ctx.t("admin.bind_in_group"))
        return
    chat = (
        await ctx.session.exec(
            select(WorkingGroupChat).where(WorkingGroupChat.agency_id == seat.agency.id)
        )
    ).first()
    if chat is None:
        chat = WorkingGroupChat(agency_id=seat.agency.id, channel="", chat_id="")
    chat.channel, chat.chat_id = ctx.incoming.channel, ctx.incoming.chat_id
    chat.lang, chat.bound_at = ctx.lang, ctx.now
    chat.bound_by = ctx.person.id if ctx.person else None
    ctx.session.add(chat)
    ctx.say(ctx.t("admin.bound", agency=seat.agency.name, schedule=schedule_text(ctx, seat)))
    ctx.audit("admin.bindgroup", agency=seat.agency.code, channel=ctx.incoming.channel)


async def notify(ctx: Ctx, seat: Seat, argument: str) -> None:
    """/notify on|off: completion notices in the working-group chat."""
    chat = (
        await ctx.session.exec(
            select(WorkingGroupChat).where(WorkingGroupChat.agency_id == seat.agency.id)
        )
    ).first()
    if chat is None:
        ctx.say(ctx.t("admin.not_bound"))
        return
    wanted = argument.strip().casefold()
    if wanted in ("on", "off"):
        chat.notify_completions = wanted == "on"
        ctx.session.add(chat)
        ctx.audit("admin.notify", agency=seat.agency.code, on=chat.notify_completions)
    elif wanted:
        ctx.say(ctx.t("admin.notify_usage"))
        return
    ctx.say(ctx.t("admin.notify_on" if chat.notify_completions else "admin.notify_off"))


# ---- the table, and the wrappers that check roles ------------------------------------------------

ADMIN_COMMANDS: dict[str, AdminCommand] = {
    "summary": AdminCommand(summary),
    "inactive": AdminCommand(inactive),
    "nudge": AdminCommand(nudge, leads_to=("admin.nudge",)),
    "feedback": AdminCommand(feedback),
    "person": AdminCommand(person),
    "ideas": AdminCommand(ideas),
    "export": AdminCommand(export),
    "exemplary": AdminCommand(exemplary_people),
    "exportaccess": AdminCommand(export_access, ROLE_HEAD),
    "broadcast": AdminCommand(
        broadcast, ROLE_HEAD, leads_to=("admin.broadcast", "admin.broadcast_text")
    ),
    "bindgroup": AdminCommand(bindgroup, ROLE_HEAD),
    "notify": AdminCommand(notify, ROLE_HEAD),
    "holdout": AdminCommand(holdout, ROLE_HEAD),
    "web": AdminCommand(web),
}
GROUP_COMMANDS = ("bindgroup", "notify", "holdout")  # the admin commands typed in a group chat


async def _checked(ctx: Ctx, name: str, argument: str) -> Next | None:
    """Run admin command `name` if the sender's role allows it; a refusal (polite,
    audited) brings the person back to their question."""
    command = ADMIN_COMMANDS[name]
    seat = await access.require(ctx, name, command.role)
    if seat is None:
        return REASK
    await off_the_loop(ctx.session)  # reports and chases may read a whole agency
    try:
        return await command.handler(ctx, seat, argument)
    except Reprompt as problem:
        ctx.say(ctx.t(problem.message_key, **problem.values))
        return None


def private_command(name: str) -> Callable[[Ctx, str], Awaitable[Next]]:
    """The private-chat form of admin command `name` (for the table in `handlers.flow`):
    its answer comes alone; the admin's own journey waits until they ask for it."""

    async def run(ctx: Ctx, argument: str) -> Next:
        return await _checked(ctx, name, argument) or HOLD

    run.__name__ = f"admin_{name}"
    run.__doc__ = ADMIN_COMMANDS[name].handler.__doc__
    return run


def group_command(name: str) -> Callable[[Ctx, str], Awaitable[None]]:
    """The group-chat form of admin command `name` (for the table in `handlers.flow`)."""

    async def run(ctx: Ctx, argument: str) -> None:
        await _checked(ctx, name, argument)

    run.__name__ = f"group_{name}"
    run.__doc__ = ADMIN_COMMANDS[name].handler.__doc__
    return run
