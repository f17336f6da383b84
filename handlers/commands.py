"""The general commands (/start, /continue, /menu, /progress, /lang, /help) and
the menu they open.

Each returns what comes next (see `handlers.conversation`); most bring the
person back to the question they were on. Typed aliases and Thai names of
commands come from content/ and are read by the engine.
"""

from __future__ import annotations

from handlers.charts import journey_chart
from handlers.common import progress_bar
from handlers.context import Answer, Ctx
from handlers.conversation import REASK, RESUME, Next
from handlers.errors import Reprompt
from handlers.journey import entry_count
from handlers.messages import Card, CardRow, Choice


async def welcome_back(ctx: Ctx) -> Next:
    """A known person followed the bot again (or opened the terminal chat)."""
    ctx.say(ctx.t("welcome_back", name=ctx.person.display_name or "" if ctx.person else ""))
    return REASK


async def cmd_start(ctx: Ctx, argument: str) -> Next:
    """/start: greet a returning person and carry on."""
    assert ctx.person is not None
    ctx.say(ctx.t("welcome_back", name=ctx.person.display_name or ""))
    return RESUME


async def cmd_continue(ctx: Ctx, argument: str) -> Next:
    """/continue: back to where the journey stands."""
    return RESUME


async def cmd_menu(ctx: Ctx, argument: str) -> Next:
    """/menu: the main menu."""
    return "menu"


async def cmd_progress(ctx: Ctx, argument: str) -> Next:
    """/progress: where am I, then the current question again."""
    await show_progress(ctx)
    return REASK


async def cmd_lang(ctx: Ctx, argument: str) -> Next:
    """/lang [th|en]: switch language."""
    change_language(ctx, argument)
    return REASK


async def cmd_help(ctx: Ctx, argument: str) -> Next:
    """/help: how to use the bot, then the current question again."""
    ctx.say(help_text(ctx))
    return REASK


def help_text(ctx: Ctx) -> str:
    return ctx.t("help")


async def ask_menu(ctx: Ctx) -> None:
    """The main menu."""
    choices = [
        Choice("m:continue", ctx.t("menu.continue")),
        Choice("m:progress", ctx.t("menu.progress")),
        Choice("m:remind", ctx.t("menu.remind")),
        Choice("m:lang", ctx.t("menu.lang")),
        Choice("m:help", ctx.t("menu.help")),
    ]
    ctx.ask(ctx.t("menu.title"), choices)


async def answer_menu(ctx: Ctx, answer: Answer) -> Next:
    if answer.choice == "m:progress":
        await show_progress(ctx)
        return REASK
    if answer.choice == "m:lang":
        change_language(ctx, "")
        return REASK
    if answer.choice == "m:help":
        ctx.say(help_text(ctx))
        return REASK
    if answer.choice == "m:remind":
        return "remind.menu"
    if answer.choice == "m:continue":
        return RESUME
    raise Reprompt("common.pick_one")


def change_language(ctx: Ctx, argument: str) -> None:
    """Switch between Thai and English (`/lang en`, `/lang th`, or toggle)."""
    assert ctx.person is not None
    wanted = argument.strip().casefold()
    if wanted not in ("th", "en"):
        wanted = "en" if ctx.lang == "th" else "th"
    ctx.person.lang = wanted
    ctx.lang = wanted
    ctx.session.add(ctx.person)
    ctx.say(ctx.t("lang.changed"))


async def show_progress(ctx: Ctx) -> None:
    """Where am I, what is next, and a progress bar; as text and as a card."""
    if ctx.person is None or ctx.person.onboarded_at is None:
        ctx.say(ctx.t("progress.onboarding"))
        return
    journey = await ctx.journey()
    done_steps = 6 if journey.completed_at else journey.current_step - 1
    counts = {kind: await entry_count(ctx, journey, kind) for kind in ("learning", "evidence")}
    rows = []
    for step in ctx.content.steps.steps:
        mark = (
            "✅"
            if step.number <= done_steps
            else ("▶️" if step.number == journey.current_step else "⬜")
        )
        rows.append(
            CardRow(
                f"{mark} {step.number}. {step.title.get(ctx.lang)}",
                "",
                1.0 if step.number <= done_steps else 0.0,
            )
        )
    bar = progress_bar(done_steps, 6)
    percent = round(100 * done_steps / 6)
    if journey.completed_at:
        next_text = ctx.t("progress.completed")
    else:
        step = ctx.content.step(journey.current_step)
        next_text = step.what_you_do.get(ctx.lang)
    text = ctx.t(
        "progress.text",
        round=journey.round_no,
        step=journey.current_step,
        title=ctx.content.step(journey.current_step).title.get(ctx.lang),
        bar=bar,
        percent=percent,
        steps="\n".join(r.label for r in rows),
        next=next_text,
        learning=counts["learning"],
        evidence=counts["evidence"],
    )
    footer = ctx.t(
        "progress.footer",
        bar=bar,
        percent=percent,
        learning=counts["learning"],
        evidence=counts["evidence"],
    )
    ctx.say(text, card=Card(title=ctx.t("progress.title"), rows=tuple(rows), footer=footer))
    chart = await journey_chart(ctx, journey)
    if chart is not None:
        ctx.say(ctx.t("assess.chart_caption"), image=chart)
