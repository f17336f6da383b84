"""Step 1, understand why: what digital literacy is, and one reason it matters to me."""

from __future__ import annotations

from handlers.common import free_text, menu_choice
from handlers.context import Answer, Ctx
from handlers.conversation import Next
from handlers.journey import add_entry, enter_step
from handlers.messages import Choice

SAMPLE_REASONS = ("time", "service", "career")


async def ask_intro(ctx: Ctx) -> None:
    """Explain the four dimensions and the nine skills."""
    dims = "\n".join(
        f"• {d.name.get(ctx.lang)}: {d.description.get(ctx.lang)}"
        for d in ctx.content.skills_file.dimensions
    )
    skills = "\n".join(f"{s.number}. {s.name.get(ctx.lang)}" for s in ctx.content.skills)
    ctx.say(ctx.t("s1.what", dimensions=dims))
    ctx.ask(
        ctx.t("s1.skills", skills=skills), [Choice("next", ctx.t("common.next")), menu_choice(ctx)]
    )


async def answer_intro(ctx: Ctx, answer: Answer) -> Next:
    if answer.choice == "next" or answer.text:
        return "s1.why"
    return "s1.intro"


async def ask_why(ctx: Ctx) -> None:
    """Why it matters for the person's own group of work."""
    group = ctx.content.group(ctx.person.personnel_group) if ctx.person else None
    group_name = group.label.get(ctx.lang) if group else ""
    ctx.ask(
        ctx.t("s1.why", group=group_name), [Choice("next", ctx.t("common.next")), menu_choice(ctx)]
    )


async def answer_why(ctx: Ctx, answer: Answer) -> Next:
    return "s1.reason"


async def ask_reason(ctx: Ctx) -> None:
    """Ask for one reason in the person's own words (examples offered as buttons)."""
    choices = [Choice(f"r:{r}", ctx.t(f"s1.reason_{r}")) for r in SAMPLE_REASONS]
    ctx.ask(ctx.t("s1.ask_reason"), choices)


async def answer_reason(ctx: Ctx, answer: Answer) -> Next:
    if answer.choice and answer.choice.startswith("r:") and answer.choice[2:] in SAMPLE_REASONS:
        reason = ctx.t(f"s1.reason_{answer.choice[2:]}")
    else:
        reason = free_text(answer, min_len=2)
    await add_entry(ctx, "reason", reason)
    ctx.say(ctx.t("s1.thanks", reason=reason))
    return await enter_step(ctx, 2)
