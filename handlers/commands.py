"""Commands (/start, /help, /progress, /lang, /menu, /continue) and the menu.

Commands work from any state and then bring the person back to the question
they were on. Typed aliases (the Thai word for menu, say) come from content/.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from handlers import privacy
from handlers.admin import commands as admin
from handlers.admin import staff
from handlers.charts import journey_chart
from handlers.common import progress_bar
from handlers.context import Answer, Ctx
from handlers.errors import Reprompt
from handlers.journey import entry_count, resume_state
from handlers.messages import Card, CardRow, Choice
from handlers.reminders import settings as reminders


def _alias(ctx: Ctx, text: str) -> str | None:
    """A command word typed without the slash, in either language (from content/)."""
    wanted = text.strip().casefold()
    for name in COMMAND_TABLE:
        for lang in ("th", "en"):
            key = f"command.alias.{name}"
            if key in ctx.content.messages:
                aliases = [a.strip().casefold() for a in ctx.content.t(key, lang).split(",")]
                if wanted in aliases:
                    return name
    return None


def is_command(ctx: Ctx, text: str) -> bool:
    return text.startswith("/") or _alias(ctx, text) is not None


def _parse(ctx: Ctx, text: str) -> tuple[str, str]:
    """('/lang@MyBot en') -> ('lang', 'en'); aliases map to their command."""
    if not text.startswith("/"):
        return _alias(ctx, text) or "", ""
    head, _, rest = text[1:].partition(" ")
    return head.split("@", 1)[0].casefold(), rest.strip()


async def cmd_start(ctx: Ctx, argument: str) -> None:
    """/start: greet a returning person and carry on."""
    from handlers.flow import resume

    assert ctx.person is not None
    ctx.say(ctx.t("welcome_back", name=ctx.person.display_name or ""))
    await resume(ctx)


async def cmd_continue(ctx: Ctx, argument: str) -> None:
    """/continue: back to where the journey stands."""
    from handlers.flow import resume

    await resume(ctx)


async def cmd_menu(ctx: Ctx, argument: str) -> None:
    """/menu: the main menu."""
    await _open_menu(ctx)


async def cmd_progress(ctx: Ctx, argument: str) -> None:
    """/progress: where am I, then the current question again."""
    from handlers.flow import reask

    await show_progress(ctx)
    await reask(ctx)


async def cmd_lang(ctx: Ctx, argument: str) -> None:
    """/lang [th|en]: switch language."""
    await change_language(ctx, argument)


async def cmd_help(ctx: Ctx, argument: str) -> None:
    """/help: how to use the bot, then the current question again."""
    from handlers.flow import reask

    ctx.say(help_text(ctx))
    await reask(ctx)


# name -> handler(ctx, argument). Features add their commands here.
COMMAND_TABLE: dict[str, Callable[[Ctx, str], Awaitable[None]]] = {
    "start": cmd_start,
    "continue": cmd_continue,
    "menu": cmd_menu,
    "progress": cmd_progress,
    "lang": cmd_lang,
    "help": cmd_help,
    "mydata": privacy.cmd_mydata,
    "deleteme": privacy.cmd_deleteme,
    "remind": reminders.cmd_remind,
    # everyone: talk to the working group
    "idea": staff.cmd_idea,
    "reply": staff.cmd_reply,
    # the working group (each checks the sender's role first)
    "admin": admin.cmd_admin,
    **{name: admin.private_command(name) for name in admin.ADMIN_COMMANDS},
}


def local_name(ctx: Ctx, typed: str) -> str | None:
    """The command whose name in content/ (`command.name.*`, e.g. a Thai name) was typed."""
    wanted = typed.strip().casefold()
    for name in COMMAND_TABLE:
        key = f"command.name.{name}"
        if key in ctx.content.messages and wanted in (
            ctx.content.t(key, lang).casefold() for lang in ("th", "en")
        ):
            return name
    return None


async def run(ctx: Ctx, text: str) -> None:
    """Run a typed command; an unknown one gets the help text."""
    from handlers.flow import reask

    name, argument = _parse(ctx, text)
    command = COMMAND_TABLE.get(name) or COMMAND_TABLE.get(local_name(ctx, name) or "")
    if command is not None:
        await command(ctx, argument)
        return
    ctx.say(ctx.t("command.unknown", command=text[:40]))
    ctx.say(help_text(ctx))
    await reask(ctx)


async def run_global(ctx: Ctx, choice: str) -> None:
    """Buttons that work from any question: go:menu, go:continue, go:progress, go:help, go:lang."""
    await run(ctx, "/" + choice.removeprefix("go:"))


def help_text(ctx: Ctx) -> str:
    return ctx.t("help")


async def _open_menu(ctx: Ctx) -> None:
    from handlers.flow import goto

    assert ctx.conv is not None
    if ctx.conv.state != "menu":
        ctx.set_data(_back=ctx.conv.state)
    await goto(ctx, "menu")


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


async def answer_menu(ctx: Ctx, answer: Answer) -> str:
    assert ctx.conv is not None
    back = ctx.data.get("_back")
    if answer.choice == "m:progress":
        await show_progress(ctx)
        return "menu"
    if answer.choice == "m:lang":
        await change_language(ctx, "", reask_after=False)
        return "menu"
    if answer.choice == "m:help":
        ctx.say(help_text(ctx))
        return "menu"
    if answer.choice == "m:remind":
        ctx.set_data(**{reminders.BACK_KEY: "menu"})
        return "remind.menu"
    if answer.choice == "m:continue":
        if ctx.person is not None and ctx.person.onboarded_at is not None:
            journey = await ctx.journey()
            target = resume_state(journey)
            if back and back.split(".")[0] == target.split(".")[0]:
                return back
            ctx.conv.data = {}
            return target
        return back or "onboard.name"
    raise Reprompt("common.pick_one")


async def change_language(ctx: Ctx, argument: str, *, reask_after: bool = True) -> None:
    """Switch between Thai and English (`/lang en`, `/lang th`, or toggle)."""
    from handlers.flow import reask

    assert ctx.person is not None
    wanted = argument.strip().casefold()
    if wanted not in ("th", "en"):
        wanted = "en" if ctx.lang == "th" else "th"
    ctx.person.lang = wanted
    ctx.lang = wanted
    ctx.session.add(ctx.person)
    ctx.say(ctx.t("lang.changed"))
    if reask_after:
        await reask(ctx)


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
        ctx.say(ctx.t("assess.chart_caption"), image_png=chart)
