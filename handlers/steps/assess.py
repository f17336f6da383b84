"""Steps 2 and 6: rating the nine skills (pre and post), and what the ratings say."""

from __future__ import annotations

from handlers import assessment
from handlers.charts import person_chart
from handlers.common import level_text, menu_choice, skill_name
from handlers.context import Answer, Ctx
from handlers.conversation import Next
from handlers.errors import Reprompt
from handlers.journey import enter_step
from handlers.messages import Card, CardRow, Choice
from handlers.typed import whole_number
from storage.models import Journey


def skill_ids(ctx: Ctx) -> list[str]:
    return [s.id for s in ctx.content.skills]


async def ask_rating(ctx: Ctx, kind: str) -> None:
    """Ask for the rating of the skill at `data['i']`, showing the scale in plain words."""
    index = int(ctx.data.get("i") or 0)
    skill = ctx.content.skills[index]
    scale = "\n".join(f"{lv.level} = {lv.description.get(ctx.lang)}" for lv in skill.scale)
    extra = ""
    if kind == "post":
        journey = await ctx.journey()
        pre = await assessment.ratings(
            ctx.session, await assessment.get_assessment(ctx.session, journey, "pre")
        )
        if skill.id in pre:
            extra = "\n" + ctx.t("assess.before", level=level_text(ctx, pre[skill.id]))
    text = (
        ctx.t(
            "assess.question",
            n=index + 1,
            total=len(ctx.content.skills),
            skill=skill.name.get(ctx.lang),
            why=skill.why.get(ctx.lang),
            scale=scale,
        )
        + extra
    )
    choices = [Choice(f"lv:{lv}", level_text(ctx, lv)) for lv in range(1, 6)]
    if index > 0:
        choices.append(Choice("back", ctx.t("common.back")))
    ctx.ask(text, choices)


async def begin_rating(ctx: Ctx, journey: Journey, kind: str, state: str) -> str:
    """Open the `kind` assessment and point at the first skill not yet rated
    (someone may have stopped half way); returns the rating state."""
    record = await assessment.get_or_start(ctx.session, journey, kind, ctx.now)
    done = await assessment.ratings(ctx.session, record)
    ctx.set_data(i=next((i for i, s in enumerate(skill_ids(ctx)) if s not in done), 0))
    return state


def _level_from(answer: Answer) -> int:
    if answer.choice and answer.choice.startswith("lv:"):
        return int(answer.choice[3:])
    text = answer.text.strip()
    level = whole_number(text[:1])  # "3", a Thai 3 or "3 good", not "35"
    if level is not None and 1 <= level <= 5 and (len(text) == 1 or not text[1].isdecimal()):
        return level
    raise Reprompt("assess.pick_level")


async def answer_rating(ctx: Ctx, answer: Answer, kind: str, state: str, result_state: str) -> str:
    """Store the rating at once, then move to the next skill (or back one)."""
    index = int(ctx.data.get("i") or 0)
    if answer.choice == "back":
        ctx.set_data(i=max(0, index - 1))
        return state
    level = _level_from(answer)
    journey = await ctx.journey()
    record = await assessment.get_or_start(ctx.session, journey, kind, ctx.now)
    await assessment.save_rating(ctx.session, record, skill_ids(ctx)[index], level, ctx.now)
    if index + 1 < len(ctx.content.skills):
        ctx.set_data(i=index + 1)
        return state
    record.completed_at = ctx.now
    ctx.session.add(record)
    return result_state


def results_card(ctx: Ctx, levels: dict[str, int], title: str) -> tuple[str, Card]:
    """Per-skill levels with the overall average, strongest and weakest, as text and card."""
    order = skill_ids(ctx)
    summary = assessment.summarise(levels, order)
    rows = [
        CardRow(skill_name(ctx, s), level_text(ctx, levels.get(s)), (levels.get(s) or 0) / 5)
        for s in order
    ]
    lines = "\n".join(f"• {r.label}: {r.value}" for r in rows)
    strongest = ", ".join(skill_name(ctx, s) for s in summary.strongest)
    weakest = ", ".join(skill_name(ctx, s) for s in summary.weakest)
    text = ctx.t(
        "assess.result",
        title=title,
        lines=lines,
        average=f"{summary.average:.1f}",
        strongest=strongest,
        weakest=weakest,
        disclaimer=ctx.content.skills_file.disclaimer.get(ctx.lang),
    )
    footer = ctx.t(
        "assess.result_footer",
        average=f"{summary.average:.1f}",
        strongest=strongest,
        weakest=weakest,
    )
    return text, Card(title=title, rows=tuple(rows), footer=footer)


# ---- step 2 --------------------------------------------------------------------


async def ask_pre_intro(ctx: Ctx) -> None:
    """Explain the self-assessment before it starts."""
    ctx.ask(
        ctx.t("s2.intro", disclaimer=ctx.content.skills_file.disclaimer.get(ctx.lang)),
        [Choice("start", ctx.t("s2.start")), menu_choice(ctx)],
    )


async def answer_pre_intro(ctx: Ctx, answer: Answer) -> Next:
    journey = await ctx.journey()
    return await begin_rating(ctx, journey, "pre", "s2.rate")


async def ask_pre_rating(ctx: Ctx) -> None:
    """Rate one skill (pre-assessment)."""
    await ask_rating(ctx, "pre")


async def answer_pre_rating(ctx: Ctx, answer: Answer) -> Next:
    return await answer_rating(ctx, answer, "pre", "s2.rate", "s2.result")


async def ask_pre_result(ctx: Ctx) -> None:
    """Show the pre-assessment result and lead on to planning."""
    journey = await ctx.journey()
    levels = await assessment.ratings(
        ctx.session, await assessment.get_assessment(ctx.session, journey, "pre")
    )
    text, card = results_card(ctx, levels, ctx.t("s2.result_title"))
    ctx.say(text, card=card)
    ctx.say(ctx.t("assess.chart_caption"), image=person_chart(ctx, levels, None))
    ctx.ask(ctx.t("s2.next"), [Choice("next", ctx.t("common.next")), menu_choice(ctx)])


async def answer_pre_result(ctx: Ctx, answer: Answer) -> Next:
    return await enter_step(ctx, 3)
