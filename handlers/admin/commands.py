"""The working group's commands, each checked against the sender's role first.

`ADMIN_COMMANDS` lists every admin command with the role it needs: members of
the working group may see, chase, give feedback and export; only the head
may write to every member of staff (/broadcast) or choose where the agency's
summaries go (/bindgroup, /notify). `private_command` and `group_command`
wrap a command with the role check for private and group chats.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import select

from handlers.admin import access
from handlers.admin.access import Seat, audit
from handlers.admin.figures import exemplary, lagging
from handlers.admin.outbound import push_to_people, reachable_accounts
from handlers.admin.staff import BROADCAST_STATE, back, enter_detour
from handlers.admin.summary import (
    agency_summary,
    summary_replies,
    thai_date,
    unit_label,
)
from handlers.common import MAX_TEXT
from handlers.context import Answer, Ctx
from handlers.errors import Reprompt
from handlers.messages import Choice, Reply
from handlers.reminders.facts import Story, load_facts, load_stories
from handlers.reminders.render import Texts, next_action, nudge_choices
from handlers.reminders.rules import Facts, in_quiet
from storage.models import (
    Feedback,
    Idea,
    Nudge,
    OutboxMessage,
    Person,
    WorkingGroupChat,
)
from storage.models.admin import ROLE_HEAD, ROLE_MEMBER
from storage.models.nudges import SENT
from storage.reports import PersonRow
from storage.timeutil import to_local

DEFAULT_INACTIVE_DAYS = 14
DEFAULT_WEEKLY_DAY = 4  # Friday (Monday is 0)
DEFAULT_WEEKLY_TIME = "15:00"
MAX_LISTED = 50  # people per listing; the XLSX report has everyone
RECENT_IDEAS = 20
EXEMPLARY_COUNT = 10
ADMIN_NUDGE = "admin"  # Nudge.kind of a nudge sent by the working group with /nudge

AdminHandler = Callable[[Ctx, Seat, str], Awaitable[bool]]


@dataclass(frozen=True)
class AdminCommand:
    """An admin command: the handler (True when it asked a new question) and the role it needs."""

    handler: AdminHandler
    role: str = ROLE_MEMBER


def setting(ctx: Ctx, name: str, default: object) -> object:
    """A deployment setting (bot.config.Settings) when the app passed them in, else `default`."""
    return getattr(ctx.settings, name, default) if ctx.settings is not None else default


def local_today(ctx: Ctx, seat: Seat) -> date:
    return to_local(ctx.now, seat.agency.timezone).date()


def _date_text(ctx: Ctx, seat: Seat, moment: datetime) -> str:
    """A stored moment as the agency's local date, in Thai (Buddhist Era) or English."""
    return thai_date(ctx.content, ctx.lang, to_local(moment, seat.agency.timezone).date())


def _person_line(ctx: Ctx, row: PersonRow, **extra: object) -> str:
    return ctx.t("admin.person_line", number=row.person_id, name=row.name or "-", **extra)


# ---- /admin: redeem an invite, or see the admin commands -----------------------------------


async def cmd_admin(ctx: Ctx, argument: str) -> None:
    """/admin CODE redeems an invite code; /admin alone shows what an admin can do."""
    from handlers.flow import reask

    assert ctx.person is not None
    if argument.strip():
        await _redeem(ctx, argument)
    else:
        seat = await access.seat_of(ctx.session, ctx.person.id)
        if seat is None:
            ctx.say(ctx.t("admin.how_to_join"))
        else:
            ctx.say(admin_help(ctx, seat))
    await reask(ctx)


def admin_help(ctx: Ctx, seat: Seat) -> str:
    role = ctx.t("admin.role_head" if seat.is_head else "admin.role_member")
    return ctx.t("admin.help", role=role, agency=seat.agency.name)


async def _redeem(ctx: Ctx, code: str) -> None:
    if await access.recent_failures(ctx) >= access.MAX_FAILED_REDEMPTIONS:
        audit(ctx, "admin.invite_blocked")
        ctx.say(ctx.t("admin.invite_wait"))
        return
    seat = await access.redeem(ctx, code)
    if seat is None:
        audit(ctx, "admin.invite_failed")
        ctx.say(ctx.t("admin.invite_invalid"))
        return
    audit(ctx, "admin.invite_redeemed", agency=seat.agency.code, role=seat.role.role)
    role = ctx.t("admin.role_head" if seat.is_head else "admin.role_member")
    ctx.say(ctx.t("admin.invite_ok", role=role, agency=seat.agency.name))
    ctx.say(admin_help(ctx, seat))


# ---- seeing progress -------------------------------------------------------------------------


async def summary(ctx: Ctx, seat: Seat, argument: str) -> bool:
    """/summary: enrolment, steps, units, personnel groups, completion and growth, with charts."""
    rows, figures = await agency_summary(ctx.session, ctx.content, seat.agency)
    ctx.replies.extend(
        summary_replies(ctx.content, ctx.lang, seat.agency, figures, local_today(ctx, seat))
    )
    audit(ctx, "admin.summary", agency=seat.agency.code, people=len(rows))
    return False


def _days(ctx: Ctx, argument: str) -> int:
    """The /inactive and /nudge argument: whole days, 1 to 365; the setting when omitted."""
    text = argument.strip()
    if not text:
        return int(setting(ctx, "dlcoach_inactive_days", DEFAULT_INACTIVE_DAYS))  # type: ignore[arg-type]
    if not text.isdigit() or not 1 <= int(text) <= 365:
        raise Reprompt("admin.days_invalid")
    return int(text)


async def _lagging(ctx: Ctx, seat: Seat, days: int) -> list[tuple[PersonRow, int]]:
    rows, _ = await agency_summary(ctx.session, ctx.content, seat.agency)
    return await lagging(ctx.session, rows, ctx.now, days)


async def inactive(ctx: Ctx, seat: Seat, argument: str) -> bool:
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
        ctx.say(ctx.t("admin.inactive", days=days, count=len(found), lines="\n".join(lines)))
    audit(
        ctx,
        "admin.inactive",
        agency=seat.agency.code,
        days=days,
        people=[r.person_id for r, _ in found],
    )
    return False


async def exemplary_people(ctx: Ctx, seat: Seat, argument: str) -> bool:
    """/exemplary: who completed with the largest growth, for the agency's recognition."""
    rows, _ = await agency_summary(ctx.session, ctx.content, seat.agency)
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
                    total=f"{growth.total:+d}",
                    grown=growth.grown,
                    date=_date_text(ctx, seat, row.completed_at or ctx.now),
                ),
            )
            for row, growth in best
        ]
        ctx.say(
            ctx.t(
                "admin.exemplary",
                lines="\n".join(f"{i}. {line}" for i, line in enumerate(lines, 1)),
            )
        )
    audit(ctx, "admin.exemplary", agency=seat.agency.code, people=[r.person_id for r, _ in best])
    return False


async def ideas(ctx: Ctx, seat: Seat, argument: str) -> bool:
    """/ideas: the latest opinions and suggestions staff sent with /idea."""
    result = await ctx.session.exec(
        select(Idea, Person)
        .join(Person, Person.id == Idea.person_id)
        .where(Idea.agency_id == seat.agency.id)
        .order_by(Idea.created_at.desc(), Idea.id.desc())  # type: ignore[attr-defined]
        .limit(RECENT_IDEAS)
    )
    found = list(result.all())
    if not found:
        ctx.say(ctx.t("admin.ideas_none"))
    else:
        lines = [
            ctx.t(
                "admin.idea_line",
                date=_date_text(ctx, seat, idea.created_at),
                number=person.id,
                name=person.display_name or "-",
                text=idea.text,
            )
            for idea, person in found
        ]
        ctx.say(ctx.t("admin.ideas", count=len(found), lines="\n".join(lines)))
    audit(ctx, "admin.ideas", agency=seat.agency.code, ideas=[i.id for i, _ in found])
    return False


async def export(ctx: Ctx, seat: Seat, argument: str) -> bool:
    """/export: the OCSC report (XLSX) as a document."""
    from handlers.admin.xlsx_report import report_name, xlsx_report

    rows, figures = await agency_summary(ctx.session, ctx.content, seat.agency)
    data = xlsx_report(ctx.content, ctx.lang, seat.agency, rows, figures, local_today(ctx, seat))
    ctx.send_document(ctx.t("admin.export_ready", count=len(rows)), data, report_name(seat.agency))
    audit(ctx, "admin.export", agency=seat.agency.code, format="xlsx", people=len(rows))
    return False


# ---- chasing ------------------------------------------------------------------------------------


def _may_nudge_now(facts: Facts, now: datetime) -> bool:
    """The person's own reminder settings still rule: not switched off, not paused,
    not inside their quiet hours."""
    prefs = facts.prefs
    if prefs is None:
        return True
    local = to_local(now, facts.tz)
    if not prefs.enabled or (prefs.paused_until and local.date() <= prefs.paused_until):
        return False
    return not in_quiet(local.time(), prefs.quiet_start, prefs.quiet_end)


def _nudge_reply(ctx: Ctx, seat: Seat, facts: Facts, story: Story, idle: int) -> Reply:
    """The working group's nudge, in the reminders' own words: the person's plan and
    next action, with the reminders' buttons (continue, reminder settings)."""
    t = Texts(ctx.content, story.lang)
    step = ctx.content.step(facts.step)
    parts = [
        t(
            "admin.nudge",
            name=story.name,
            agency=seat.agency.name,
            step=facts.step,
            title=step.title.get(story.lang),
            days=idle,
        )
    ]
    if story.plan:
        parts.append(t("reminders.plan", plan=story.plan))
    parts.append(t("reminders.next", next=next_action(t, facts, story)))
    return Reply(
        text="\n\n".join(parts),
        choices=nudge_choices(t),
        essential=False,
        extra={"kinds": [ADMIN_NUDGE]},
    )


async def nudge(ctx: Ctx, seat: Seat, argument: str) -> bool:
    """/nudge [days]: a nudge now to everyone lagging, through the reminder machinery.

    Each is recorded as a sent `Nudge` of kind "admin" whose slot is the day, so
    a person gets at most one working-group nudge a day however often the
    command is used, and the person's own settings (off, paused, quiet hours)
    are respected.
    """
    days = _days(ctx, argument)
    found = await _lagging(ctx, seat, days)
    ids = [row.person_id for row, _ in found]
    facts = await load_facts(ctx.session, ids, seat.agency.timezone)
    stories = await load_stories(ctx.session, ids)
    accounts = await reachable_accounts(ctx.session, ids)
    slot = f"{ADMIN_NUDGE}:{local_today(ctx, seat).isoformat()}"
    already = set(
        (
            await ctx.session.exec(
                select(Nudge.person_id).where(
                    Nudge.person_id.in_(ids),  # type: ignore[attr-defined]
                    Nudge.kind == ADMIN_NUDGE,
                    Nudge.slot == slot,
                )
            )
        ).all()
    )
    sent: list[int] = []
    for row, idle in found:
        pid = row.person_id
        account = accounts.get(pid)
        if account is None or pid in already or not _may_nudge_now(facts[pid], ctx.now):
            continue
        message = OutboxMessage(
            channel=account.channel,
            chat_id=account.chat_id,
            account_id=account.id,
            kind="nudge",
            payload=[_nudge_reply(ctx, seat, facts[pid], stories[pid], idle).to_json()],
            dedupe_key=f"nudge:{pid}:{slot}",
            next_attempt_at=ctx.now,
            created_at=ctx.now,
        )
        ctx.session.add(message)
        await ctx.session.flush()
        ctx.session.add(
            Nudge(
                person_id=pid,
                kind=ADMIN_NUDGE,
                slot=slot,
                due_at=ctx.now,
                status=SENT,
                reason=None,
                claimed_by=f"admin:{ctx.person.id if ctx.person else ''}",
                outbox_id=message.id,
                detail={"agency": seat.agency.code, "idle_days": idle},
                created_at=ctx.now,
                sent_at=ctx.now,
            )
        )
        sent.append(pid)
    ctx.say(
        ctx.t(
            "admin.nudged",
            sent=len(sent),
            lagging=len(found),
            days=days,
            skipped=len(found) - len(sent),
        )
    )
    audit(ctx, "admin.nudge", agency=seat.agency.code, days=days, people=sent)
    return False


# ---- writing to staff -------------------------------------------------------------------------------


async def _staff(ctx: Ctx, seat: Seat) -> list[Person]:
    """Onboarded staff of the agency."""
    result = await ctx.session.exec(
        select(Person)
        .where(Person.agency_id == seat.agency.id, Person.onboarded_at.is_not(None))  # type: ignore[union-attr]
        .order_by(Person.id)
    )
    return list(result.all())


async def _recipients(ctx: Ctx, seat: Seat) -> list[Person]:
    """Staff who can be reached now (an active account)."""
    staff = await _staff(ctx, seat)
    accounts = await reachable_accounts(ctx.session, [p.id for p in staff])  # type: ignore[misc]
    return [p for p in staff if p.id in accounts]


async def broadcast(ctx: Ctx, seat: Seat, argument: str) -> bool:
    """/broadcast TEXT: ask for confirmation, showing how many will receive it."""
    from handlers.flow import goto

    text = argument.strip()
    if not text:
        ctx.say(ctx.t("admin.broadcast_usage"))
        return False
    if len(text) > MAX_TEXT:
        ctx.say(ctx.t("common.too_long", max=MAX_TEXT))
        return False
    enter_detour(ctx, broadcast_text=text)
    await goto(ctx, BROADCAST_STATE)
    return True


async def ask_broadcast(ctx: Ctx) -> None:
    """Confirm a broadcast: the text and the number of people who will get it."""
    seat = await access.seat_of(ctx.session, ctx.person.id if ctx.person else None)
    count = len(await _recipients(ctx, seat)) if seat else 0
    ctx.ask(
        ctx.t("admin.broadcast_confirm", count=count, text=ctx.data.get("broadcast_text", "")),
        [
            Choice("bc:send", ctx.t("admin.broadcast_send")),
            Choice("bc:cancel", ctx.t("admin.cancel")),
        ],
    )


async def answer_broadcast(ctx: Ctx, answer: Answer) -> str:
    if answer.choice == "bc:cancel":
        ctx.say(ctx.t("admin.cancelled"))
        return back(ctx)
    if answer.choice != "bc:send":
        raise Reprompt("common.pick_one")
    seat = await access.require(ctx, "broadcast", ROLE_HEAD)
    if seat is None:
        return back(ctx)
    text = str(ctx.data.get("broadcast_text") or "")
    recipients = await _recipients(ctx, seat)
    sender = ctx.person.display_name if ctx.person else ""
    sent = await push_to_people(
        ctx.session,
        recipients,
        lambda person: [
            Reply(
                text=ctx.content.t(
                    "admin.broadcast_message",
                    person.lang,
                    agency=seat.agency.name,
                    sender=sender,
                    text=text,
                )
            )
        ],
        kind="broadcast",
        now=ctx.now,
    )
    ctx.set_data(broadcast_text=None)
    ctx.say(ctx.t("admin.broadcast_sent", count=len(sent)))
    audit(ctx, "admin.broadcast", agency=seat.agency.code, recipients=len(sent), chars=len(text))
    return back(ctx)


_PERSON_AND_TEXT = re.compile(r"^#?(\d{1,9})\s+(.+)$", re.S)


async def feedback(ctx: Ctx, seat: Seat, argument: str) -> bool:
    """/feedback NUMBER TEXT: a message to one person of the agency, who can answer back."""
    match = _PERSON_AND_TEXT.match(argument.strip())
    if match is None:
        ctx.say(ctx.t("admin.feedback_usage"))
        return False
    number, text = int(match.group(1)), match.group(2).strip()
    if len(text) > MAX_TEXT:
        ctx.say(ctx.t("common.too_long", max=MAX_TEXT))
        return False
    target = await ctx.session.get(Person, number)
    if target is None or target.agency_id != seat.agency.id:
        audit(ctx, "admin.feedback_unknown", agency=seat.agency.code, number=number)
        ctx.say(ctx.t("admin.person_unknown", number=number))
        return False
    if not await reachable_accounts(ctx.session, [number]):
        ctx.say(ctx.t("admin.unreachable", number=number))
        return False
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
    await push_to_people(
        ctx.session, [target], lambda person: [message], kind="feedback", now=ctx.now
    )
    ctx.say(ctx.t("admin.feedback_sent", number=number, name=target.display_name or "-"))
    audit(ctx, "admin.feedback", subject=target.id, agency=seat.agency.code, feedback=note.id)
    return False


# ---- the working-group chat --------------------------------------------------------------------


def _schedule_text(ctx: Ctx) -> str:
    day = int(setting(ctx, "dlcoach_weekly_day", DEFAULT_WEEKLY_DAY))  # type: ignore[arg-type]
    names = [n.strip() for n in ctx.t("admin.weekdays").split(",")]
    return ctx.t(
        "admin.schedule",
        day=names[day % 7],
        time=str(setting(ctx, "dlcoach_weekly_time", DEFAULT_WEEKLY_TIME)),
    )


async def bindgroup(ctx: Ctx, seat: Seat, argument: str) -> bool:
    """/bindgroup, typed in a group: make it the agency's working-group chat."""
    if ctx.incoming.chat_type != "group":
        ctx.say(ctx.t("admin.bind_in_group"))
        return False
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
    ctx.say(ctx.t("admin.bound", agency=seat.agency.name, schedule=_schedule_text(ctx)))
    audit(ctx, "admin.bindgroup", agency=seat.agency.code, channel=ctx.incoming.channel)
    return False


async def notify(ctx: Ctx, seat: Seat, argument: str) -> bool:
    """/notify on|off: completion notices in the working-group chat."""
    chat = (
        await ctx.session.exec(
            select(WorkingGroupChat).where(WorkingGroupChat.agency_id == seat.agency.id)
        )
    ).first()
    if chat is None:
        ctx.say(ctx.t("admin.not_bound"))
        return False
    wanted = argument.strip().casefold()
    if wanted in ("on", "off"):
        chat.notify_completions = wanted == "on"
        ctx.session.add(chat)
        audit(ctx, "admin.notify", agency=seat.agency.code, on=chat.notify_completions)
    elif wanted:
        ctx.say(ctx.t("admin.notify_usage"))
        return False
    ctx.say(ctx.t("admin.notify_on" if chat.notify_completions else "admin.notify_off"))
    return False


# ---- the table, and the wrappers that check roles ------------------------------------------------

ADMIN_COMMANDS: dict[str, AdminCommand] = {
    "summary": AdminCommand(summary),
    "inactive": AdminCommand(inactive),
    "nudge": AdminCommand(nudge),
    "feedback": AdminCommand(feedback),
    "ideas": AdminCommand(ideas),
    "export": AdminCommand(export),
    "exemplary": AdminCommand(exemplary_people),
    "broadcast": AdminCommand(broadcast, ROLE_HEAD),
    "bindgroup": AdminCommand(bindgroup, ROLE_HEAD),
    "notify": AdminCommand(notify, ROLE_HEAD),
}


async def _checked(ctx: Ctx, name: str, argument: str) -> bool:
    command = ADMIN_COMMANDS[name]
    seat = await access.require(ctx, name, command.role)
    if seat is None:
        return False
    try:
        return await command.handler(ctx, seat, argument)
    except Reprompt as problem:
        ctx.say(ctx.t(problem.message_key, **problem.values))
        return False


def private_command(name: str) -> Callable[[Ctx, str], Awaitable[None]]:
    """The private-chat form of admin command `name` (for handlers.commands.COMMAND_TABLE)."""

    async def run(ctx: Ctx, argument: str) -> None:
        from handlers.flow import reask

        if not await _checked(ctx, name, argument):
            await reask(ctx)

    run.__name__ = f"admin_{name}"
    run.__doc__ = ADMIN_COMMANDS[name].handler.__doc__
    return run


def group_command(name: str) -> Callable[[Ctx, str], Awaitable[None]]:
    """The group-chat form of admin command `name` (for handlers.flow.GROUP_COMMANDS)."""

    async def run(ctx: Ctx, argument: str) -> None:
        await _checked(ctx, name, argument)

    run.__name__ = f"group_{name}"
    run.__doc__ = ADMIN_COMMANDS[name].handler.__doc__
    return run
