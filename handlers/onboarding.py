"""First contact: the privacy notice and consent, then name, agency (by its join
code), staff code (when the agency imported a staff list), unit, personnel
group and preferred reminder time.

Nothing about a person is stored before they accept the notice; a refusal
is kept only as a hash of their account, so the bot can be polite next time.
A join code that came with the first message (a Telegram invite link opens
the chat with "/start CODE") rides on the consent buttons, and is used as
soon as the person has agreed.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from handlers.common import chosen_time, clock_words, free_text, has_letters, pick, time_choices
from handlers.context import Answer, Ctx
from handlers.conversation import END, Next
from handlers.errors import Reprompt
from handlers.journey import ONBOARDING, enter_step
from handlers.messages import Choice, Incoming
from handlers.reminders.settings import COACH, coach_choice, let_coach_choose
from handlers.typed import parse_time
from storage import agencies, arms
from storage.accounts import account_hash
from storage.codes import normalise_code
from storage.models import (
    Agency,
    ChannelAccount,
    ConsentRefusal,
    ConversationState,
    Person,
    ReminderPreference,
    StaffMember,
    Unit,
)

CONSENT_VERSION = "2026-11"
CODE_FAILED = "onboard.code_failed"  # audit action of a wrong join or staff code
MAX_WRONG_CODES = 5  # per hour and chat account, before the bot asks the person to wait
MAX_AGENCY_WRONG_CODES = 50  # per hour from everyone of one agency (staff codes)


# ---- consent (before any person exists) ---------------------------------------


def _carried(code: str | None) -> str:
    return f":{code}" if code else ""


def consent_choices(ctx: Ctx, code: str | None = None) -> list[Choice]:
    other = "en" if ctx.lang == "th" else "th"
    return [
        Choice(f"consent:y:{ctx.lang}{_carried(code)}", ctx.t("consent.accept")),
        Choice(f"consent:n:{ctx.lang}", ctx.t("consent.decline")),
        Choice(f"consent:lang:{other}{_carried(code)}", ctx.content.t("lang.switch_to", other)),
    ]


def notice_version(ctx: Ctx) -> str:
    """The notice's version as the reader dates things (a Thai month and BE year in
    Thai); `CONSENT_VERSION` itself ("2026-11") is what consent rows record."""
    year, month = CONSENT_VERSION.split("-")
    return ctx.month_text(date(int(year), int(month), 1))


def show_privacy_notice(ctx: Ctx, code: str | None = None) -> None:
    ctx.ask(ctx.t("consent.notice", version=notice_version(ctx)), consent_choices(ctx, code))


def _code_from_start(text: str) -> str | None:
    """The payload of "/start CODE" (a Telegram invite link), as a canonical code."""
    head, _, rest = text.strip().partition(" ")
    if head.split("@", 1)[0].casefold() != "/start":
        return None
    code = normalise_code(rest)[:16]
    return code or None


def _consent_choice_from_text(ctx: Ctx, text: str) -> str | None:
    """Typed text matching a consent button label, in either language."""
    wanted = text.strip().casefold()
    for lang in ("th", "en"):
        if wanted == ctx.content.t("consent.accept", lang).casefold():
            return f"consent:y:{lang}"
        if wanted == ctx.content.t("consent.decline", lang).casefold():
            return f"consent:n:{lang}"
    return None


async def stranger(ctx: Ctx) -> Next:
    """Someone with no person record: show the notice, or act on their answer to it."""
    incoming = ctx.incoming
    choice = incoming.choice or _consent_choice_from_text(ctx, incoming.text)
    parts = (choice or "").split(":")  # consent, y|n|lang, th|en[, join code]
    code = parts[3] if len(parts) > 3 else None
    if choice and choice.startswith("consent:lang:"):
        ctx.lang = "en" if parts[2] == "en" else "th"
        show_privacy_notice(ctx, code)
        return END
    if choice and choice.startswith("consent:n"):
        ctx.lang = "en" if parts[2:3] == ["en"] else "th"
        ctx.session.add(
            ConsentRefusal(
                account_hash=account_hash(incoming.channel, incoming.user_id), refused_at=ctx.now
            )
        )
        ctx.say(ctx.t("consent.declined"))
        return END
    if choice and choice.startswith("consent:y"):
        ctx.lang = "en" if parts[2:3] == ["en"] else "th"
        await _create_person(ctx, incoming)
        if code:
            ctx.set_data(join_code=code)
        ctx.say(ctx.t("consent.thanks"))
        return ONBOARDING
    show_privacy_notice(ctx, _code_from_start(incoming.text))
    return END


async def _create_person(ctx: Ctx, incoming: Incoming) -> None:
    person = Person(
        lang=ctx.lang,
        consent_version=CONSENT_VERSION,
        consent_at=ctx.now,
        last_active_at=ctx.now,
        created_at=ctx.now,
    )
    ctx.session.add(person)
    await ctx.session.flush()
    account = ChannelAccount(
        person_id=person.id,
        channel=incoming.channel,
        external_id=incoming.user_id,
        chat_id=incoming.chat_id,
        last_incoming_at=ctx.now,
        created_at=ctx.now,
    )
    # The engine sets the flow version as it enters the first state.
    conv = ConversationState(person_id=person.id, state=ONBOARDING, data={})
    ctx.session.add(account)
    ctx.session.add(conv)
    await ctx.session.flush()
    ctx.person, ctx.account, ctx.conv = person, account, conv


# ---- name ---------------------------------------------------------------------


async def ask_name(ctx: Ctx) -> None:
    """Ask what to call the person, offering the platform's display name when it
    has letters (one made of emoji alone would print as a blank certificate)."""
    choices = []
    if ctx.incoming.display_name and has_letters(ctx.incoming.display_name):
        name = ctx.incoming.display_name[:60]
        choices.append(Choice("name:platform", name))
        ctx.set_data(platform_name=name)
    ctx.ask(ctx.t("onboard.ask_name"), choices)


async def answer_name(ctx: Ctx, answer: Answer) -> str:
    """Store the name; free_text asks again for one without a letter, which the
    certificate and the reports could not show."""
    if answer.choice == "name:platform" and ctx.data.get("platform_name"):
        name = ctx.data["platform_name"]
    else:
        name = free_text(answer, max_len=100)
        if name.startswith("/"):
            raise Reprompt("onboard.name_invalid")
    assert ctx.person is not None
    ctx.person.display_name = name
    ctx.session.add(ctx.person)
    return "onboard.agency"


# ---- agency (by its join code) and staff code ----------------------------------


async def _wrong_code(ctx: Ctx) -> None:
    """Count a wrong code; past the limit, ask the person to wait (slows down guessing)."""
    if await ctx.wrong_guess(CODE_FAILED, MAX_WRONG_CODES, MAX_AGENCY_WRONG_CODES):
        raise Reprompt("onboard.code_wait")


async def _join(ctx: Ctx, agency: Agency) -> Next:
    """Make the person a member of `agency`, with the next number of its people."""
    assert ctx.person is not None
    if ctx.person.agency_id != agency.id:
        ctx.person.agency_id = agency.id
        ctx.person.agency_number = await agencies.take_number(ctx.session, agency.id)  # type: ignore[arg-type]
        # Drawn once, on joining: in the hold-out group or not (storage.arms).
        ctx.person.holdout = arms.in_holdout(
            agency.holdout_seed,
            ctx.person.id,  # type: ignore[arg-type]
            agency.holdout_percent,
        )
    ctx.person.timezone = agency.timezone
    ctx.person.unit_id = None
    ctx.session.add(ctx.person)
    ctx.set_data(join_code=None)
    ctx.say(ctx.t("onboard.joined", agency=agency.name))
    if await agencies.has_staff_codes(ctx.session, agency.id):  # type: ignore[arg-type]
        return "onboard.staff"
    return "onboard.unit"


async def ask_agency(ctx: Ctx) -> Next | None:
    """Ask for the agency's join code (open agencies, like the demo, are also buttons);
    a code that came with an invite link is used at once."""
    carried = ctx.data.get("join_code")
    if carried:
        agency = await agencies.by_join_code(ctx.session, carried)
        if agency is not None:
            return await _join(ctx, agency)
        ctx.set_data(join_code=None)
        ctx.say(ctx.t("onboard.code_unknown"))
    open_ones = await agencies.open_agencies(ctx.session)
    ctx.ask(ctx.t("onboard.ask_agency"), [Choice(f"ag:{a.id}", a.name) for a in open_ones[:30]])
    return None


async def answer_agency(ctx: Ctx, answer: Answer) -> Next:
    open_ones = await agencies.open_agencies(ctx.session)
    chosen = None
    if answer.choice and answer.choice.startswith("ag:"):
        chosen = next((a for a in open_ones if f"ag:{a.id}" == answer.choice), None)
    elif answer.text:
        chosen = await agencies.by_join_code(ctx.session, answer.text)
        typed = answer.text.strip().casefold()
        chosen = chosen or next((a for a in open_ones if typed == a.code.casefold()), None)
    if chosen is None:
        await _wrong_code(ctx)
        raise Reprompt("onboard.code_unknown")
    return await _join(ctx, chosen)


async def ask_staff(ctx: Ctx) -> None:
    """Ask for the person's staff code, so the working group sees who has joined."""
    ctx.ask(ctx.t("onboard.ask_staff"), [Choice("s:skip", ctx.t("onboard.staff_skip"))])


async def answer_staff(ctx: Ctx, answer: Answer) -> Next:
    assert ctx.person is not None
    if answer.choice == "s:skip":
        return "onboard.unit"
    code = normalise_code(answer.text)
    found = await ctx.session.exec(
        select(StaffMember).where(
            StaffMember.agency_id == ctx.person.agency_id,
            StaffMember.staff_code == code,
            StaffMember.person_id.is_(None),  # type: ignore[union-attr]
        )
    )
    member = found.first() if code else None
    if member is None:
        await _wrong_code(ctx)
        raise Reprompt("onboard.staff_unknown")
    member.person_id = ctx.person.id
    ctx.session.add(member)
    ctx.person.unit_id = member.unit_id
    ctx.person.personnel_group = member.personnel_group or ctx.person.personnel_group
    ctx.session.add(ctx.person)
    if member.personnel_group:
        return "onboard.remind"  # the staff list says where the person works
    return "onboard.group"


# ---- unit ---------------------------------------------------------------------


async def _units(ctx: Ctx) -> list[Unit]:
    assert ctx.person is not None
    result = await ctx.session.exec(
        select(Unit).where(Unit.agency_id == ctx.person.agency_id).order_by(Unit.name)
    )
    return list(result.all())


async def ask_unit(ctx: Ctx) -> Next | None:
    """Ask for the person's unit; agencies without units skip the question."""
    units = await _units(ctx)
    if not units:
        return "onboard.group"
    choices = [Choice(f"u:{u.id}", u.name) for u in units]
    choices.append(Choice("u:none", ctx.t("onboard.unit_none")))
    ctx.ask(ctx.t("onboard.ask_unit"), choices)


async def answer_unit(ctx: Ctx, answer: Answer) -> str:
    assert ctx.person is not None
    if answer.choice == "u:none":
        ctx.person.unit_id = None
        return "onboard.group"
    units = await _units(ctx)
    chosen = None
    if answer.choice and answer.choice.startswith("u:"):
        chosen = next((u for u in units if f"u:{u.id}" == answer.choice), None)
    elif answer.text:
        typed = answer.text.strip().casefold()
        chosen = next((u for u in units if u.name.casefold() == typed), None)
    if chosen is None:
        raise Reprompt("onboard.unit_unknown")
    ctx.person.unit_id = chosen.id
    ctx.session.add(ctx.person)
    return "onboard.group"


# ---- personnel group --------------------------------------------------------------


async def ask_group(ctx: Ctx) -> None:
    """Ask which of the six personnel groups the person belongs to."""
    groups = ctx.content.groups.personnel_groups
    lines = "\n".join(
        ctx.t(
            "onboard.group_line",
            label=g.label.get(ctx.lang),
            description=g.description.get(ctx.lang),
        )
        if g.description
        else g.label.get(ctx.lang)
        for g in groups
    )
    ctx.ask(
        ctx.t("onboard.ask_group", groups=lines),
        [Choice(f"g:{g.id}", g.button(ctx.lang)) for g in groups],
    )


async def answer_group(ctx: Ctx, answer: Answer) -> str:
    """The tapped group, or one typed by its full name as the question lists it."""
    groups = ctx.content.groups.personnel_groups
    typed = answer.text.strip().casefold()
    named = next((g for g in groups if typed and typed == g.label.get(ctx.lang).casefold()), None)
    chosen = f"g:{named.id}" if named else pick(answer, [f"g:{g.id}" for g in groups])
    assert ctx.person is not None
    ctx.person.personnel_group = chosen.removeprefix("g:")
    ctx.session.add(ctx.person)
    return "onboard.remind"


# ---- reminder time ------------------------------------------------------------------


async def ask_remind(ctx: Ctx) -> None:
    """Ask when the person would like to be reminded (or not at all)."""
    choices = time_choices(ctx)
    choices.append(coach_choice(ctx))
    choices.append(Choice("t:off", ctx.t("onboard.no_reminders")))
    ctx.ask(ctx.t("onboard.ask_remind"), choices)


async def answer_remind(ctx: Ctx, answer: Answer) -> str:
    assert ctx.person is not None
    enabled, chosen = True, None
    if answer.choice == COACH:
        return await _coach_chooses(ctx)
    if answer.choice == "t:off":
        enabled = False
    elif (preset := chosen_time(answer)) is not None:
        chosen = preset
    else:
        chosen = parse_time(answer.text, clock_words(ctx))
        if chosen is None:
            raise Reprompt("onboard.time_invalid")
    pref = await ctx.session.get(ReminderPreference, ctx.person.id)
    if pref is None:
        pref = ReminderPreference(person_id=ctx.person.id)
    pref.enabled = enabled
    pref.time_local = chosen
    pref.time_fixed = True
    pref.updated_at = ctx.now
    ctx.session.add(pref)
    if enabled and chosen is not None:
        ctx.say(ctx.t("onboard.remind_set", time=chosen.strftime("%H:%M")))
    else:
        ctx.say(ctx.t("onboard.remind_off"))
    return await _onboarded(ctx)


async def _coach_chooses(ctx: Ctx) -> str:
    """The person lets the coach learn their best hour."""
    assert ctx.person is not None
    pref = await ctx.session.get(ReminderPreference, ctx.person.id)
    if pref is None:
        pref = ReminderPreference(person_id=ctx.person.id)
    let_coach_choose(ctx, pref)
    return await _onboarded(ctx)


async def _onboarded(ctx: Ctx) -> str:
    assert ctx.person is not None
    ctx.person.onboarded_at = ctx.now
    ctx.session.add(ctx.person)
    ctx.say(ctx.t("onboard.done", name=ctx.person.display_name or ""))
    return await enter_step(ctx, 1)
