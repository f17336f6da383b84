"""Step 1, understand why: what digital literacy is, and one reason it matters to me.

The reading is a few short screens (each fits a phone without scrolling): the
six steps, the four dimensions, the skills with where they come from, and why
it matters for the person's own group. Each waits for "next": typed words are
not taken as "next", because someone who types is more likely asking something
than done reading. A new round goes straight to the reason question, with the
reading one tap away.
"""

from __future__ import annotations

from handlers.common import free_text, menu_choice, word_list
from handlers.context import Answer, Ctx
from handlers.conversation import REASK, Next
from handlers.journey import add_entry, enter_step
from handlers.messages import Choice

SAMPLE_REASONS = ("time", "service", "career")
NEXT = "next"
REREAD = "reread"
HINT = "s1_hint"  # scratch: the last answer on this screen was typed words, not "next"
PAGE = "s1_page"  # scratch: which skills screen (an index into skills.yaml `sources`)
READING = "s1_reading"  # scratch: a later round asked to read the introduction again


def _screen_choices(ctx: Ctx) -> list[Choice]:
    return [Choice(NEXT, ctx.t("common.next")), menu_choice(ctx)]


def _show(ctx: Ctx, text: str) -> None:
    """Ask one reading screen; after typed words, only a one-line pointer to the
    buttons, so the person is not sent the whole screen again."""
    if ctx.data.get(HINT):
        ctx.set_data(**{HINT: False})
        text = ctx.t("s1.tap_next", next=ctx.t("common.next"), menu=ctx.t("nav.menu"))
    ctx.ask(text, _screen_choices(ctx))


def _is_next(ctx: Ctx, answer: Answer) -> bool:
    """A tap on "next", or a next word typed (`s1.next_words`)."""
    if answer.choice == NEXT:
        return True
    return answer.choice is None and answer.text.strip().casefold() in word_list(
        ctx, "s1.next_words"
    )


def _next_or_hint(ctx: Ctx, answer: Answer, following: Next) -> Next:
    """Go on after "next"; anything else stays on the screen with a hint."""
    if _is_next(ctx, answer):
        return following
    ctx.set_data(**{HINT: True})
    return REASK


async def _later_round(ctx: Ctx) -> bool:
    return (await ctx.journey()).round_no > 1


async def ask_intro(ctx: Ctx) -> Next | None:
    """The six steps, once, labelled as this project's reading of the method; a
    later round skips the reading unless the person asked for it."""
    if await _later_round(ctx) and not ctx.data.get(READING):
        return "s1.reason"
    steps = "\n".join(f"{s.number}. {s.title.get(ctx.lang)}" for s in ctx.content.steps.steps)
    _show(ctx, ctx.t("s1.steps", steps=steps, label=ctx.content.steps.label.get(ctx.lang)))
    return None


async def answer_intro(ctx: Ctx, answer: Answer) -> Next:
    return _next_or_hint(ctx, answer, "s1.what")


async def ask_what(ctx: Ctx) -> None:
    """The four dimensions, presented as the default framework."""
    skills_file = ctx.content.skills_file
    dims = "\n".join(
        f"• {d.name.get(ctx.lang)}: {d.description.get(ctx.lang)}" for d in skills_file.dimensions
    )
    _show(ctx, ctx.t("s1.what", framework=skills_file.framework.get(ctx.lang), dimensions=dims))


async def answer_what(ctx: Ctx, answer: Answer) -> Next:
    following = _next_or_hint(ctx, answer, "s1.skills")
    if following != REASK:
        ctx.set_data(**{PAGE: 0})
    return following


async def ask_skills(ctx: Ctx) -> None:
    """One part of the skills with its source (a national standard, or a default
    the agency may change), so nobody takes a default for an official rule."""
    sources = ctx.content.skills_file.sources
    page = min(int(ctx.data.get(PAGE) or 0), len(sources) - 1)
    source = sources[page]
    skills = "\n".join(
        f"{ctx.content.skill(skill_id).number}. {ctx.content.skill(skill_id).name.get(ctx.lang)}"
        for skill_id in source.skills
    )
    text = ctx.t(
        "s1.skills",
        page=page + 1,
        pages=len(sources),
        skills=skills,
        source=source.text.get(ctx.lang),
    )
    _show(ctx, text)


async def answer_skills(ctx: Ctx, answer: Answer) -> Next:
    """The next skills screen, or why it matters once every part was shown."""
    if _next_or_hint(ctx, answer, "s1.why") == REASK:
        return REASK
    page = int(ctx.data.get(PAGE) or 0) + 1
    if page < len(ctx.content.skills_file.sources):
        ctx.set_data(**{PAGE: page})
        return "s1.skills"
    return "s1.why"


async def ask_why(ctx: Ctx) -> None:
    """Why it matters, in the terms of the person's own group of work."""
    group = ctx.content.group(ctx.person.personnel_group or "") if ctx.person else None
    if group is None:
        _show(ctx, ctx.t("s1.why_general"))
        return
    _show(ctx, ctx.t("s1.why", group=group.label.get(ctx.lang), why=group.why.get(ctx.lang)))


async def answer_why(ctx: Ctx, answer: Answer) -> Next:
    return _next_or_hint(ctx, answer, "s1.reason")


async def ask_reason(ctx: Ctx) -> None:
    """Ask for one reason in the person's own words (examples offered as buttons);
    a later round also offers the introduction again."""
    choices = [Choice(f"r:{r}", ctx.t(f"s1.reason_{r}")) for r in SAMPLE_REASONS]
    text = ctx.t("s1.ask_reason")
    if await _later_round(ctx):
        reread = ctx.t("s1.reread")
        if not ctx.data.get(READING):
            text = ctx.t("s1.skipped", reread=reread) + "\n" + text
        choices.append(Choice(REREAD, reread))
    ctx.ask(text, choices)


async def answer_reason(ctx: Ctx, answer: Answer) -> Next:
    if answer.choice == REREAD:
        ctx.set_data(**{READING: True})
        return "s1.intro"
    if answer.choice and answer.choice.startswith("r:") and answer.choice[2:] in SAMPLE_REASONS:
        reason = ctx.t(f"s1.reason_{answer.choice[2:]}")
    else:
        reason = free_text(answer, min_len=2)
    await add_entry(ctx, "reason", reason)
    ctx.say(ctx.t("s1.thanks", reason=reason))
    return await enter_step(ctx, 2)
