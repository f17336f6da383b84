"""Step 6, review and share: re-rate the nine skills, see growth against step 2,
reflect, share one tip; then the journey is complete and a new round is offered."""

from __future__ import annotations

from sqlmodel import select

from handlers import assessment
from handlers.admin.completion import on_journey_completed
from handlers.charts import person_chart
from handlers.common import free_text, menu_choice, pick, skill_name, skill_short
from handlers.context import Answer, Ctx
from handlers.conversation import REASK, Next
from handlers.errors import Reprompt
from handlers.journey import add_entry, goals, start_new_round
from handlers.messages import Card, CardRow, Choice
from handlers.steps.assess import answer_intro as assess_intro
from handlers.steps.assess import answer_rating, ask_rating, assess_page_choice, skill_ids
from storage.models import Goal, Idea, Journey, StepEntry
from storage.models.admin import TIP

# Tap starters (texts in content/: s6.reflect_<id>, s6.tip_<id>). A reflection
# starter is a whole sentence and may be kept as it is; a tip starter only opens
# a sentence, so tapping it asks the person to write the rest.
REFLECT_STARTERS = ("more", "often", "work", "next")
TIP_STARTERS = ("try", "save", "remember", "start")
TIP_STARTER = "tip_starter"  # scratch key: the tip starter the person tapped
ELLIPSES = ("…", "...")


async def ask_intro(ctx: Ctx) -> None:
    """Explain the post-assessment."""
    choices = [Choice("start", ctx.t("s2.start")), *assess_page_choice(ctx), menu_choice(ctx)]
    ctx.ask(ctx.t("s6.intro"), choices)


async def answer_intro(ctx: Ctx, answer: Answer) -> Next:
    return await assess_intro(ctx, answer, "post", "s6.rate", "s6.result")


async def ask_post_rating(ctx: Ctx) -> None:
    """Rate one skill again (post-assessment), with the step-2 rating shown."""
    await ask_rating(ctx, "post")


async def answer_post_rating(ctx: Ctx, answer: Answer) -> Next:
    return await answer_rating(ctx, answer, "post", "s6.rate", "s6.result")


async def ask_result(ctx: Ctx) -> None:
    """Growth against the step-3 goals first (that is what the person set out to do),
    then the other skills in three short lines, as text, card and chart."""
    journey = await ctx.journey()
    pre = await assessment.ratings(
        ctx.session, await assessment.get_assessment(ctx.session, journey, "pre")
    )
    post = await assessment.ratings(
        ctx.session, await assessment.get_assessment(ctx.session, journey, "post")
    )
    focus = await goals(ctx, journey)
    goal_lines = [_goal_line(ctx, goal, post) for goal in focus]
    reached = sum(1 for goal in focus if _reached(goal, post))
    footer = ctx.t("s6.goals_footer", reached=reached, total=len(focus)) if focus else ""
    others = _other_lines(ctx, pre, post, {goal.skill_id for goal in focus})
    ctx.say(
        ctx.t(
            "s6.result",
            goals="\n".join(goal_lines) or ctx.t("s6.no_goals"),
            others="\n".join(others),
            disclaimer=ctx.content.skills_file.disclaimer.get(ctx.lang),
        ),
        card=Card(
            title=ctx.t("s6.result_title"), rows=tuple(_card_rows(ctx, pre, post)), footer=footer
        ),
    )
    ctx.say(ctx.t("assess.chart_caption"), image=person_chart(ctx, pre, post))
    ctx.ask(ctx.t("s6.next"), [Choice("next", ctx.t("common.next"))])


def _target(goal: Goal) -> int:
    """The level aimed for; a goal saved without one aims one level up (at most 5)."""
    if goal.target_level is not None:
        return goal.target_level
    return min(goal.start_level + 1, 5)


def _reached(goal: Goal, post: dict[str, int]) -> bool:
    """A goal is reached when the new rating is at or above its target level."""
    now = post.get(goal.skill_id)
    return now is not None and now >= _target(goal)


def _goal_line(ctx: Ctx, goal: Goal, post: dict[str, int]) -> str:
    """One goal: what was aimed for, by when, and where the person is now, said
    kindly when it is not reached yet."""
    target = _target(goal)
    now = post.get(goal.skill_id, goal.start_level)
    aim = ctx.t(
        "s6.goal_aim_dated" if goal.target_date else "s6.goal_aim",
        skill=skill_short(ctx, goal.skill_id),
        start=goal.start_level,
        target=target,
        date=ctx.date_text(goal.target_date, short=True) if goal.target_date else "",
    )
    if _reached(goal, post):
        return ctx.t("s6.goal_reached", aim=aim, now=now)
    return ctx.t("s6.goal_not_yet", aim=aim, now=now, gap=target - now)


def _other_lines(ctx: Ctx, pre: dict[str, int], post: dict[str, int], focus: set[str]) -> list[str]:
    """The skills outside the goals, grouped into up to three lines (grew, unchanged,
    lower) so nine skills never make a long message."""
    grew: list[str] = []
    same: list[str] = []
    lower: list[str] = []
    for skill_id in skill_ids(ctx):
        if skill_id in focus or skill_id not in post:
            continue
        name = skill_short(ctx, skill_id)
        before = pre.get(skill_id)
        if before is None or before == post[skill_id]:
            same.append(name)
        else:
            moved = ctx.t("s6.moved", skill=name, before=before, after=post[skill_id])
            (grew if post[skill_id] > before else lower).append(moved)
    sep = ctx.t("s6.list_sep")
    groups = (("s6.others_grew", grew), ("s6.others_same", same), ("s6.others_lower", lower))
    return [ctx.t(key, skills=sep.join(items)) for key, items in groups if items]


def _card_rows(ctx: Ctx, pre: dict[str, int], post: dict[str, int]) -> list[CardRow]:
    """Every re-rated skill for the card, with "unchanged" in words rather than +0."""
    rows = []
    for skill_id in skill_ids(ctx):
        if skill_id not in post:
            continue
        before = pre.get(skill_id)
        value = f"{'-' if before is None else before} → {post[skill_id]}"
        if before is not None:
            delta = post[skill_id] - before
            change = ctx.t("s6.delta", delta=f"{delta:+d}") if delta else ctx.t("s6.unchanged")
            value += " " + change
        rows.append(CardRow(skill_name(ctx, skill_id), value, post[skill_id] / 5))
    return rows


async def answer_result(ctx: Ctx, answer: Answer) -> Next:
    return "s6.reflect"


async def step1_reason(ctx: Ctx, journey: Journey) -> str | None:
    """The reason the person gave in step 1 of this round (their newest, if several)."""
    found = await ctx.session.exec(
        select(StepEntry.text)
        .where(StepEntry.journey_id == journey.id, StepEntry.kind == "reason")
        .order_by(StepEntry.id.desc())
    )
    text = found.first()
    return text.strip() if text and text.strip() else None


async def ask_reflect(ctx: Ctx) -> None:
    """Ask what the person learned, beside their own step-1 reason (why they began),
    with a few sentences to tap for those who would rather not type."""
    question = ctx.t("s6.ask_reflect")
    reason = await step1_reason(ctx, await ctx.journey())
    if reason:
        question = ctx.t("s6.your_reason", reason=reason) + "\n\n" + question
    starters = [Choice(f"rf:{s}", ctx.t(f"s6.reflect_{s}")) for s in REFLECT_STARTERS]
    ctx.ask(question, [*starters, menu_choice(ctx)])


async def answer_reflect(ctx: Ctx, answer: Answer) -> Next:
    starter = (answer.choice or "").removeprefix("rf:")
    if answer.choice and answer.choice.startswith("rf:") and starter in REFLECT_STARTERS:
        text = ctx.t(f"s6.reflect_{starter}")  # a whole sentence: kept as the reflection
    else:
        text = free_text(answer, min_len=2)
    await add_entry(ctx, "reflection", text)
    return "s6.tip"


async def ask_tip(ctx: Ctx) -> None:
    """Ask for one tip to share with colleagues, with sentence openers to tap; after
    a tap, ask for the whole sentence (an opener alone is no tip for the group)."""
    tapped = ctx.data.get(TIP_STARTER)
    if tapped in TIP_STARTERS:
        ctx.ask(ctx.t("s6.tip_finish", starter=ctx.t(f"s6.tip_{tapped}")), [menu_choice(ctx)])
        return
    starters = [Choice(f"tp:{s}", ctx.t(f"s6.tip_{s}")) for s in TIP_STARTERS]
    ctx.ask(ctx.t("s6.ask_tip"), [*starters, menu_choice(ctx)])


def _bare_starter(ctx: Ctx, text: str) -> bool:
    """The text is only a tip opener (with or without its dots), nothing after it."""

    def plain(value: str) -> str:
        for dots in ELLIPSES:
            value = value.replace(dots, "")
        return value.strip().casefold()

    wanted = plain(text)
    return any(
        wanted == plain(ctx.content.t(f"s6.tip_{s}", lang))
        for s in TIP_STARTERS
        for lang in ("th", "en")
    )


async def answer_tip(ctx: Ctx, answer: Answer) -> Next:
    starter = (answer.choice or "").removeprefix("tp:")
    if answer.choice and answer.choice.startswith("tp:") and starter in TIP_STARTERS:
        ctx.set_data(**{TIP_STARTER: starter})
        return REASK  # ask for the whole sentence, starting with the opener
    tip = free_text(answer, min_len=2)
    if _bare_starter(ctx, tip):
        raise Reprompt("s6.tip_unfinished")
    await add_entry(ctx, "tip", tip)
    ctx.set_data(**{TIP_STARTER: None})
    assert ctx.person is not None
    if ctx.person.agency_id is not None:  # shared with the working group, as the step says
        ctx.session.add(
            Idea(
                person_id=ctx.person.id,
                agency_id=ctx.person.agency_id,
                kind=TIP,
                text=tip,
                created_at=ctx.now,
            )
        )
    journey = await ctx.journey()
    journey.completed_at = ctx.now
    ctx.session.add(journey)
    ctx.say(ctx.t("s6.complete", name=ctx.person.display_name or "", round=journey.round_no))
    await on_journey_completed(ctx, journey)
    return "done"


async def ask_done(ctx: Ctx) -> None:
    """The journey is complete: offer a new round."""
    ctx.ask(ctx.t("done.ask"), [Choice("new", ctx.t("done.new_round")), menu_choice(ctx)])


async def answer_done(ctx: Ctx, answer: Answer) -> Next:
    pick(answer, ["new"])
    return await start_new_round(ctx)
