"""The conversation: the whole state table in one place, and the engine that
routes each incoming message to a command, a global button, or the current
state's answer handler.

Reading order: `STATES` shows the flow at a glance; `handle` is the entry.
"""

from __future__ import annotations

from handlers import commands, onboarding, privacy
from handlers.admin import commands as admin
from handlers.admin import staff
from handlers.common import State
from handlers.context import Answer, Ctx
from handlers.errors import Reprompt
from handlers.journey import resume_state
from handlers.messages import Choice
from handlers.reminders.settings import STATES as reminder_states
from handlers.steps import assess, plan, review, understand
from handlers.steps.logbook import APPLY, LEARN
from handlers.steps.logbook import states as logbook_states

FLOW_VERSION = onboarding.FLOW_VERSION

STATES: dict[str, State] = {
    # onboarding (after consent)
    "onboard.name": State(onboarding.ask_name, onboarding.answer_name),
    "onboard.agency": State(onboarding.ask_agency, onboarding.answer_agency),
    "onboard.unit": State(onboarding.ask_unit, onboarding.answer_unit),
    "onboard.group": State(onboarding.ask_group, onboarding.answer_group),
    "onboard.remind": State(onboarding.ask_remind, onboarding.answer_remind),
    # step 1: understand why
    "s1.intro": State(understand.ask_intro, understand.answer_intro),
    "s1.why": State(understand.ask_why, understand.answer_why),
    "s1.reason": State(understand.ask_reason, understand.answer_reason),
    # step 2: self-assess (pre)
    "s2.intro": State(assess.ask_pre_intro, assess.answer_pre_intro),
    "s2.rate": State(assess.ask_pre_rating, assess.answer_pre_rating),
    "s2.result": State(assess.ask_pre_result, assess.answer_pre_result),
    # step 3: goals and plan
    "s3.pick": State(plan.ask_pick, plan.answer_pick),
    "s3.target": State(plan.ask_target, plan.answer_target),
    "s3.date": State(plan.ask_date, plan.answer_date),
    "s3.approach": State(plan.ask_approach, plan.answer_approach),
    "s3.plan": State(plan.ask_plan, plan.answer_plan),
    # step 4: learn (s4.menu, s4.skill, s4.what, s4.minutes, s4.learned)
    **logbook_states(LEARN),
    # step 5: apply at work (s5.menu, s5.skill, s5.task, s5.tool, s5.result)
    **logbook_states(APPLY),
    # step 6: review and share (post)
    "s6.intro": State(review.ask_intro, review.answer_intro),
    "s6.rate": State(review.ask_post_rating, review.answer_post_rating),
    "s6.result": State(review.ask_result, review.answer_result),
    "s6.reflect": State(review.ask_reflect, review.answer_reflect),
    "s6.tip": State(review.ask_tip, review.answer_tip),
    "done": State(review.ask_done, review.answer_done),
    # the menu, reachable from anywhere
    "menu": State(commands.ask_menu, commands.answer_menu),
    # reminder settings (/remind): remind.menu, .time, .days, .pause, .quiet
    **reminder_states,
    # PDPA: erasing one's data, after a confirmation
    "privacy.confirm": State(privacy.ask_confirm, privacy.answer_confirm),
    # the working group: one-question detours, then back to where the person was
    "admin.broadcast": State(admin.ask_broadcast, admin.answer_broadcast),
    "idea.text": State(staff.ask_idea, staff.answer_idea),
    "feedback.reply": State(staff.ask_reply, staff.answer_reply),
}

# Buttons sent outside the conversation (pushed messages) carry ids with these
# prefixes; they are routed here instead of being taken as stale buttons.
PUSHED_CHOICES = {"fb:": staff.reply_button}


async def goto(ctx: Ctx, name: str) -> None:
    """Enter state `name` and ask its question (nothing, once the person erased their data)."""
    if ctx.conv is None:
        return
    if name not in STATES:
        name = await entry_state(ctx)
    ctx.conv.state = name
    ctx.conv.flow_version = FLOW_VERSION
    await STATES[name].ask(ctx)


async def entry_state(ctx: Ctx) -> str:
    """Where the person's journey stands (onboarding first)."""
    onboarded = ctx.person is not None and ctx.person.onboarded_at is not None
    return resume_state(await ctx.journey(), onboarded)


async def reask(ctx: Ctx) -> None:
    """Ask the current question again (after a command, a stale button, a re-prompt)."""
    assert ctx.conv is not None
    await goto(ctx, ctx.conv.state)


async def resume(ctx: Ctx) -> None:
    """Continue where the person's journey is (used by /continue and the menu)."""
    assert ctx.conv is not None
    journey = await ctx.journey()
    if ctx.person is not None and ctx.person.onboarded_at is None:
        await reask(ctx)
        return
    target = resume_state(journey)
    if ctx.conv.state.split(".")[0] != target.split(".")[0]:
        ctx.conv.data = {}
        await goto(ctx, target)
    else:
        await reask(ctx)


def _match_label(ctx: Ctx, text: str) -> str | None:
    """Typed text that equals a button label of the last question picks that button."""
    wanted = text.strip().casefold()
    if not wanted:
        return None
    for choice in ctx.last_choices():
        if choice.label.strip().casefold() == wanted:
            return choice.id
    return None


async def handle(ctx: Ctx) -> None:
    """Decide what to say to one incoming message of a known person."""
    assert ctx.conv is not None
    incoming = ctx.incoming
    if ctx.conv.flow_version != FLOW_VERSION or ctx.conv.state not in STATES:
        # Written by an older flow: restart the person's current step cleanly,
        # and ask its question rather than guess what this message answered.
        ctx.conv.data = {}
        await goto(ctx, await entry_state(ctx))
        return
    if incoming.kind == "follow":
        ctx.say(ctx.t("welcome_back", name=ctx.person.display_name or "" if ctx.person else ""))
        await reask(ctx)
        return
    text = incoming.text.strip()
    if incoming.choice is None and commands.is_command(ctx, text):
        await commands.run(ctx, text)
        return
    choice = incoming.choice
    pushed = PUSHED_CHOICES.get((choice or "").partition(":")[0] + ":")
    if pushed is not None and choice not in {c.id for c in ctx.last_choices()}:
        await pushed(ctx, choice)
        return
    if choice is not None and choice.startswith("go:") and incoming.question_seq is None:
        # A button that belongs to no question (a nudge, a rich menu): a command from anywhere.
        await commands.run_global(ctx, choice)
        return
    if choice is not None:
        if incoming.question_seq is not None and incoming.question_seq != ctx.conv.question_seq:
            ctx.say(ctx.t("common.stale_button"))
            await reask(ctx)
            return
        if choice not in {c.id for c in ctx.last_choices()}:
            ctx.say(ctx.t("common.stale_button"))
            await reask(ctx)
            return
    else:
        choice = _match_label(ctx, text)
    if choice is not None and choice.startswith("go:"):
        await commands.run_global(ctx, choice)
        return
    state = STATES[ctx.conv.state]
    try:
        next_state = await state.answer(ctx, Answer(text=text, choice=choice))
    except Reprompt as problem:
        ctx.say(ctx.t(problem.message_key, **problem.values))
        await reask(ctx)
        return
    await goto(ctx, next_state)


def choices_text(choices: list[Choice]) -> str:
    return ", ".join(c.label for c in choices)


async def handle_group(ctx: Ctx) -> None:
    """Group chats: ordinary talk is ignored; a command gets a pointer to the private chat.

    Features that work in groups (e.g. binding the working group's chat) add
    their commands to `GROUP_COMMANDS`.
    """
    text = ctx.incoming.text.strip()
    if ctx.incoming.kind != "text" or not text.startswith("/"):
        return
    name = text[1:].partition(" ")[0].split("@", 1)[0].casefold()
    command = GROUP_COMMANDS.get(name) or GROUP_COMMANDS.get(commands.local_name(ctx, name) or "")
    if command is not None:
        await command(ctx, text[1:].partition(" ")[2].strip())
        return
    ctx.say(ctx.t("group.private_only"))


# name -> handler(ctx, argument) for commands typed in a group chat.
GROUP_COMMANDS: dict = {
    "bindgroup": admin.group_command("bindgroup"),
    "notify": admin.group_command("notify"),
}
