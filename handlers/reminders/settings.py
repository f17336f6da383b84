"""/remind: the person's reminder settings, by buttons (typed times and dates work too).

A detour from wherever the person is: the menu shows the settings and what
can change (time, days, pause or resume, quiet hours, on or off); "done" goes
back to the question they were on. Every change is saved at once; the planner
plans by the new settings, and nudges planned by the old ones are cancelled
when they fall due.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta

from handlers.common import chosen_time, clock_words, time_choices
from handlers.context import Answer, Ctx
from handlers.conversation import BACK, REASK, Next
from handlers.errors import Reprompt
from handlers.messages import Choice
from handlers.reminders.best_hour import DEFAULT_POLICY, allowed_hours
from handlers.reminders.rules import (
    Facts,
    LearnedHour,
    Prefs,
    due_moment,
    format_weekdays,
    local_slot_time,
    parse_weekdays,
)
from handlers.typed import parse_date, parse_range, parse_time
from storage.best_hour import load_days
from storage.models import Agency, ReminderPreference
from storage.nudges import resume_ladder
from storage.timeutil import to_local

PAUSE_DAYS = {"1w": 7, "2w": 14, "1m": 30}  # pause lengths; reminders return on day N
COACH = "t:auto"  # "let the coach choose" the time (handlers.reminders.best_hour)
QUIET_PRESETS = {"2207": ("22:00", "07:00"), "2106": ("21:00", "06:00"), "1213": ("12:00", "13:00")}


# ---- reading and showing the settings ---------------------------------------------


async def preference(ctx: Ctx) -> ReminderPreference:
    """The person's preference row (a new one, unsaved, when they have none)."""
    assert ctx.person is not None
    pref = await ctx.session.get(ReminderPreference, ctx.person.id)
    if pref is None:
        pref = ReminderPreference(person_id=ctx.person.id, enabled=False, updated_at=ctx.now)
    return pref


def save(ctx: Ctx, pref: ReminderPreference) -> None:
    pref.updated_at = ctx.now
    ctx.session.add(pref)


async def _agency(ctx: Ctx) -> Agency | None:
    assert ctx.person is not None
    if ctx.person.agency_id is None:
        return None
    return await ctx.session.get(Agency, ctx.person.agency_id)


def _prefs(pref: ReminderPreference) -> Prefs:
    return Prefs(
        enabled=pref.enabled,
        time_local=pref.time_local,
        weekdays=parse_weekdays(pref.weekdays),
        paused_until=pref.paused_until,
        quiet_start=pref.quiet_start,
        quiet_end=pref.quiet_end,
    )


async def next_reminder(ctx: Ctx, pref: ReminderPreference) -> datetime | None:
    """When the next reminder would come, by the same rules the planner uses."""
    assert ctx.person is not None
    agency = await _agency(ctx)
    journey = await ctx.journey()
    decided: dict = {}
    if not pref.time_fixed:  # the hours the coach already chose for coming days
        days = (await load_days(ctx.session, [ctx.person.id])).get(ctx.person.id, [])
        decided = {d.day: LearnedHour(d.at) for d in days}
    facts = Facts(
        person_id=ctx.person.id or 0,
        tz=ctx.person.timezone,
        onboarded=ctx.person.onboarded_at is not None,
        last_active_at=ctx.now,
        prefs=_prefs(pref),
        weekends_ok=bool(agency and agency.nudge_on_weekends),
        holidays_ok=bool(agency and agency.nudge_on_holidays),
        journey_done=journey.completed_at is not None,
    )
    today = ctx.today()
    for offset in range(370):
        day = today + timedelta(days=offset)
        # a day the coach decided comes at its hour (or not at all); a day not yet
        # decided is expected at the usual hour
        on_day = replace(facts, hours={day: decided[day]}) if day in decided else facts
        due = due_moment(on_day, day)
        if due is not None and due > ctx.now:
            return due
    return None


def _hhmm(at: time | None) -> str:
    return at.strftime("%H:%M") if at else "-"


def day_names(ctx: Ctx) -> list[str]:
    return [name.strip() for name in ctx.t("remind.day_names").split(",")]


def _days_text(ctx: Ctx, days: frozenset[int]) -> str:
    names = day_names(ctx)
    return " ".join(names[d] for d in sorted(days)) or ctx.t("remind.none")


def _time_text(ctx: Ctx, pref: ReminderPreference) -> str:
    if pref.time_local is None:
        return ctx.t("remind.none")
    if not pref.time_fixed:
        return ctx.t("remind.time_coach_value", time=_hhmm(pref.time_local))
    return ctx.t("remind.time_value", time=_hhmm(pref.time_local))


def _quiet_text(ctx: Ctx, pref: ReminderPreference) -> str:
    if pref.quiet_start is None or pref.quiet_end is None:
        return ctx.t("remind.none")
    return ctx.t("remind.quiet_value", start=_hhmm(pref.quiet_start), end=_hhmm(pref.quiet_end))


def _paused(ctx: Ctx, pref: ReminderPreference) -> bool:
    return pref.paused_until is not None and pref.paused_until >= ctx.today()


async def summary(ctx: Ctx, pref: ReminderPreference) -> str:
    """The settings in a few lines, with the agency's rules and the next reminder."""
    assert ctx.person is not None
    agency = await _agency(ctx)
    pause = ctx.t("remind.none")
    if _paused(ctx, pref):
        assert pref.paused_until is not None
        pause = ctx.t(
            "remind.pause_value",
            date=ctx.date_text(pref.paused_until, short=True),
            resume=ctx.date_text(pref.paused_until + timedelta(days=1), short=True),
        )
    upcoming = await next_reminder(ctx, pref)
    next_text = ctx.t("remind.none")
    if upcoming is not None:
        local = to_local(upcoming, ctx.person.timezone)
        next_text = ctx.t(
            "remind.next_value",
            date=ctx.date_text(local.date(), short=True),
            time=local.strftime("%H:%M"),
        )
    yes, no = ctx.t("remind.policy_yes"), ctx.t("remind.policy_no")
    return ctx.t(
        "remind.summary",
        status=ctx.t("remind.status_on" if pref.enabled else "remind.status_off"),
        time=_time_text(ctx, pref),
        days=_days_text(ctx, parse_weekdays(pref.weekdays)),
        pause=pause,
        quiet=_quiet_text(ctx, pref),
        policy=ctx.t(
            "remind.policy",
            weekends=yes if agency and agency.nudge_on_weekends else no,
            holidays=yes if agency and agency.nudge_on_holidays else no,
        ),
        next=next_text,
    )


# ---- the command ------------------------------------------------------------------


async def cmd_remind(ctx: Ctx, argument: str) -> Next:
    """/remind [HH:MM | off | on | resume]: change at once, or open the settings."""
    word = argument.strip().casefold()
    pref = await preference(ctx)
    at = parse_time(word, clock_words(ctx)) if word else None
    if at is not None:
        _set_time(ctx, pref, at)
    elif word == "off":
        pref.enabled = False
        save(ctx, pref)
        ctx.say(ctx.t("remind.turned_off"))
    elif word == "resume" and pref.paused_until is not None:
        pref.paused_until = None
        save(ctx, pref)
        ctx.say(ctx.t("remind.resumed"))
    elif word == "on" and pref.time_local is not None:
        pref.enabled = True
        save(ctx, pref)
        ctx.say(ctx.t("remind.turned_on"))
    else:
        return "remind.menu"
    return REASK


async def resume_button(ctx: Ctx, choice: str) -> Next:
    """The one tap under "reminders paused themselves": they are back on (writing
    anything already reset the ladder; this says so and when the next one comes)."""
    assert ctx.person is not None
    await resume_ladder(ctx.session, ctx.person.id)
    pref = await preference(ctx)
    upcoming = await next_reminder(ctx, pref) if pref.enabled else None
    if upcoming is None:
        ctx.say(ctx.t("remind.ladder_resumed"))
    else:
        local = to_local(upcoming, ctx.person.timezone)
        ctx.say(
            ctx.t(
                "remind.ladder_resumed_next",
                date=ctx.date_text(local.date(), short=True),
                time=local.strftime("%H:%M"),
            )
        )
    return REASK


# ---- the settings menu ----------------------------------------------------------


async def ask_menu(ctx: Ctx) -> None:
    """The current settings and what can be changed."""
    pref = await preference(ctx)
    choices = [
        Choice("r:time", ctx.t("remind.btn_time")),
        Choice("r:days", ctx.t("remind.btn_days")),
    ]
    if _paused(ctx, pref):
        choices.append(Choice("r:resume", ctx.t("remind.btn_resume")))
    else:
        choices.append(Choice("r:pause", ctx.t("remind.btn_pause")))
    choices.append(Choice("r:quiet", ctx.t("remind.btn_quiet")))
    if pref.enabled:
        choices.append(Choice("r:off", ctx.t("remind.btn_off")))
    else:
        choices.append(Choice("r:on", ctx.t("remind.btn_on")))
    choices.append(Choice("r:done", ctx.t("remind.btn_done")))
    ctx.ask(await summary(ctx, pref), choices)


async def answer_menu(ctx: Ctx, answer: Answer) -> Next:
    choice = answer.choice
    pref = await preference(ctx)
    if choice in ("r:time", "r:days", "r:pause", "r:quiet"):
        return "remind." + choice.removeprefix("r:")
    if choice == "r:resume":
        pref.paused_until = None
        save(ctx, pref)
        ctx.say(ctx.t("remind.resumed"))
        return "remind.menu"
    if choice == "r:off":
        pref.enabled = False
        save(ctx, pref)
        ctx.say(ctx.t("remind.turned_off"))
        return "remind.menu"
    if choice == "r:on":
        if pref.time_local is None:
            return "remind.time"
        pref.enabled = True
        save(ctx, pref)
        ctx.say(ctx.t("remind.turned_on"))
        return "remind.menu"
    if choice == "r:done":
        return BACK  # to where the person was before opening the settings
    at = parse_time(answer.text, clock_words(ctx))
    if at is not None:  # a time typed straight into the menu
        _set_time(ctx, pref, at)
        return "remind.menu"
    raise Reprompt("common.pick_one")


# ---- time -------------------------------------------------------------------------


def coach_choice(ctx: Ctx) -> Choice:
    return Choice(COACH, ctx.t("remind.btn_coach"))


def let_coach_choose(ctx: Ctx, pref: ReminderPreference) -> None:
    """The coach chooses the time from now on (which also switches reminders on),
    starting from its usual first hour, or the first candidate the quiet hours allow."""
    allowed = allowed_hours(_prefs(pref))
    start = DEFAULT_POLICY.start
    pref.time_local = start if start in allowed or not allowed else allowed[0]
    pref.time_fixed = False
    pref.enabled = True
    save(ctx, pref)
    ctx.say(ctx.t("remind.coach_set"))


def _set_time(ctx: Ctx, pref: ReminderPreference, at: time) -> None:
    """Save a new reminder time (which also switches reminders on) and say when they come."""
    pref.time_local = at
    pref.time_fixed = True
    pref.enabled = True
    save(ctx, pref)
    ctx.say(ctx.t("remind.time_set", time=_hhmm(at)))
    moved = local_slot_time(_prefs(pref))
    if moved is None:
        ctx.say(ctx.t("remind.time_blocked"))
    elif moved != at:
        ctx.say(ctx.t("remind.time_moved", time=_hhmm(moved)))


async def ask_time(ctx: Ctx) -> None:
    """Ask for the reminder time: presets, let the coach choose, or type one."""
    ctx.ask(ctx.t("remind.ask_time"), [*time_choices(ctx), coach_choice(ctx)])


async def answer_time(ctx: Ctx, answer: Answer) -> Next:
    if answer.choice == COACH:
        let_coach_choose(ctx, await preference(ctx))
        return "remind.menu"
    at = chosen_time(answer)
    if at is None:
        at = parse_time(answer.text, clock_words(ctx))
        if at is None:
            raise Reprompt("onboard.time_invalid")
    _set_time(ctx, await preference(ctx), at)
    return "remind.menu"


# ---- days ---------------------------------------------------------------------------


async def _offered_days(ctx: Ctx) -> list[int]:
    """Monday to Friday, and the weekend when the agency sends reminders then."""
    agency = await _agency(ctx)
    return list(range(7)) if agency and agency.nudge_on_weekends else list(range(5))


async def ask_days(ctx: Ctx) -> None:
    """Toggle each day on or off, then done."""
    pref = await preference(ctx)
    chosen = parse_weekdays(pref.weekdays)
    names = day_names(ctx)
    offered = await _offered_days(ctx)
    choices = [
        Choice(f"d:{d}", ctx.t("remind.day_on" if d in chosen else "remind.day_off", day=names[d]))
        for d in offered
    ]
    choices.append(Choice("d:wk", ctx.t("remind.btn_weekdays")))
    choices.append(Choice("d:ok", ctx.t("remind.btn_done")))
    text = ctx.t("remind.ask_days", days=_days_text(ctx, chosen))
    if len(offered) < 7:
        text += "\n" + ctx.t("remind.days_weekend_note")
    ctx.ask(text, choices)


async def answer_days(ctx: Ctx, answer: Answer) -> Next:
    pref = await preference(ctx)
    chosen = set(parse_weekdays(pref.weekdays))
    choice = answer.choice or ""
    if choice == "d:ok":
        ctx.say(ctx.t("remind.days_set", days=_days_text(ctx, frozenset(chosen))))
        return "remind.menu"
    if choice == "d:wk":
        chosen = set(range(5))
    elif choice.startswith("d:") and choice[2:].isascii() and choice[2:].isdigit():
        day = int(choice[2:])
        if day not in await _offered_days(ctx):
            raise Reprompt("common.pick_one")
        chosen ^= {day}
        if not chosen:
            raise Reprompt("remind.need_one_day")
    else:
        raise Reprompt("common.pick_one")
    pref.weekdays = format_weekdays(chosen)
    save(ctx, pref)
    return "remind.days"


# ---- pause ---------------------------------------------------------------------------


async def ask_pause(ctx: Ctx) -> None:
    """How long to pause: one week, two weeks, a month, or type the last day."""
    choices = [Choice(f"p:{key}", ctx.t(f"remind.btn_pause_{key}")) for key in PAUSE_DAYS]
    choices.append(Choice("p:back", ctx.t("remind.btn_done")))
    ctx.ask(ctx.t("remind.ask_pause"), choices)


async def answer_pause(ctx: Ctx, answer: Answer) -> Next:
    today = ctx.today()
    choice = answer.choice or ""
    if choice == "p:back":
        return "remind.menu"
    if choice.startswith("p:") and choice[2:] in PAUSE_DAYS:
        last_day = today + timedelta(days=PAUSE_DAYS[choice[2:]] - 1)
    else:
        last_day = parse_date(answer.text)
        if last_day is None:
            raise Reprompt("remind.date_invalid")
        if last_day <= today:
            raise Reprompt("remind.date_past")
    pref = await preference(ctx)
    pref.paused_until = last_day
    save(ctx, pref)
    ctx.say(
        ctx.t(
            "remind.paused",
            date=ctx.date_text(last_day, short=True),
            resume=ctx.date_text(last_day + timedelta(days=1), short=True),
        )
    )
    return "remind.menu"


# ---- quiet hours ---------------------------------------------------------------------------


async def ask_quiet(ctx: Ctx) -> None:
    """Quiet hours: presets, none, or type a range."""
    choices = [
        Choice(f"q:{key}", ctx.t("remind.quiet_value", start=start, end=end))
        for key, (start, end) in QUIET_PRESETS.items()
    ]
    choices.append(Choice("q:none", ctx.t("remind.btn_quiet_none")))
    ctx.ask(ctx.t("remind.ask_quiet"), choices)


async def answer_quiet(ctx: Ctx, answer: Answer) -> Next:
    pref = await preference(ctx)
    choice = answer.choice or ""
    if choice == "q:none":
        pref.quiet_start = pref.quiet_end = None
        save(ctx, pref)
        ctx.say(ctx.t("remind.quiet_cleared"))
        return "remind.menu"
    if choice.startswith("q:") and choice[2:] in QUIET_PRESETS:
        start_text, end_text = QUIET_PRESETS[choice[2:]]
        span = parse_time(start_text), parse_time(end_text)
    else:
        span = parse_range(answer.text)
        if span is None:
            raise Reprompt("remind.quiet_invalid")
    pref.quiet_start, pref.quiet_end = span
    save(ctx, pref)
    ctx.say(ctx.t("remind.quiet_set", quiet=_quiet_text(ctx, pref)))
    if pref.enabled and pref.time_local is not None:
        moved = local_slot_time(_prefs(pref))
        if moved is None:
            ctx.say(ctx.t("remind.time_blocked"))
        elif moved != pref.time_local:
            ctx.say(ctx.t("remind.time_moved", time=_hhmm(moved)))
    return "remind.menu"
