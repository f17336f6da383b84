"""Step 3, set goals and plan: one to three focus skills (gaps shown), a target
level, a date and a way to learn for each, then an if-then plan sentence."""

from __future__ import annotations

from datetime import timedelta

from handlers import assessment
from handlers.common import free_text, level_text, menu_choice, pick, skill_name, skill_short
from handlers.context import Answer, Ctx
from handlers.conversation import Next
from handlers.errors import Reprompt
from handlers.journey import add_entry, enter_step, goals
from handlers.messages import Choice
from handlers.typed import parse_date, whole_number
from storage.models import Goal

MAX_FOCUS = 3
DATE_OPTIONS = {"1m": 30, "3m": 91, "6m": 182}


async def _pre_levels(ctx: Ctx) -> dict[str, int]:
    journey = await ctx.journey()
    record = await assessment.get_assessment(ctx.session, journey, "pre")
    return await assessment.ratings(ctx.session, record)


async def ask_pick(ctx: Ctx) -> None:
    """Offer the skills, biggest gap first; 'done' once at least one is chosen."""
    journey = await ctx.journey()
    levels = await _pre_levels(ctx)
    chosen = [g.skill_id for g in await goals(ctx, journey)]
    order = [s.id for s in ctx.content.skills]
    ranked = sorted(order, key=lambda s: (levels.get(s, 1), order.index(s)))
    gaps = "\n".join(
        ctx.t(
            "s3.gap_line",
            skill=skill_name(ctx, s),
            level=level_text(ctx, levels.get(s)),
            gap=5 - levels.get(s, 1),
            mark="✓ " if s in chosen else "",
        )
        for s in ranked
    )
    choices = [Choice(f"k:{s}", skill_short(ctx, s)) for s in ranked if s not in chosen]
    if chosen:
        choices.insert(0, Choice("done", ctx.t("s3.done_picking")))
    key = "s3.ask_pick" if not chosen else "s3.ask_pick_more"
    ctx.ask(ctx.t(key, gaps=gaps, count=len(chosen), max=MAX_FOCUS), choices)


async def answer_pick(ctx: Ctx, answer: Answer) -> Next:
    journey = await ctx.journey()
    existing = await goals(ctx, journey)
    if answer.choice == "done" and existing:
        return _next_detail(existing)
    valid = [f"k:{s.id}" for s in ctx.content.skills if s.id not in {g.skill_id for g in existing}]
    skill_id = pick(answer, valid).removeprefix("k:")
    levels = await _pre_levels(ctx)
    assert ctx.person is not None
    goal = Goal(
        journey_id=journey.id,
        person_id=ctx.person.id,
        skill_id=skill_id,
        start_level=levels.get(skill_id, 1),
        created_at=ctx.now,
    )
    ctx.session.add(goal)
    await ctx.session.flush()
    if len(existing) + 1 >= MAX_FOCUS:
        return _next_detail([*existing, goal])
    return "s3.pick"


def _next_detail(all_goals: list[Goal]) -> str:
    """The next question about the goals: the first missing target, date or approach."""
    for goal in all_goals:
        if goal.target_level is None:
            return "s3.target"
        if goal.target_date is None:
            return "s3.date"
        if goal.approach is None:
            return "s3.approach"
    return "s3.plan"


async def _open_goal(ctx: Ctx) -> Goal:
    """The first goal that still lacks an answer."""
    journey = await ctx.journey()
    for goal in await goals(ctx, journey):
        if goal.target_level is None or goal.target_date is None or goal.approach is None:
            return goal
    raise Reprompt("common.pick_one")


async def ask_target(ctx: Ctx) -> None:
    """Ask the target level for the open goal (above today's level)."""
    goal = await _open_goal(ctx)
    levels = range(min(goal.start_level + 1, 5), 6)
    ctx.ask(
        ctx.t(
            "s3.ask_target",
            skill=skill_name(ctx, goal.skill_id),
            level=level_text(ctx, goal.start_level),
        ),
        [Choice(f"lv:{lv}", level_text(ctx, lv)) for lv in levels],
    )


async def answer_target(ctx: Ctx, answer: Answer) -> Next:
    goal = await _open_goal(ctx)
    valid = [f"lv:{lv}" for lv in range(min(goal.start_level + 1, 5), 6)]
    choice = answer.choice
    typed = whole_number(answer.text.strip()[:1])  # "4" or a Thai 4
    if choice is None and typed is not None:
        choice = f"lv:{typed}"
    goal.target_level = int(pick(Answer(answer.text, choice), valid)[3:])
    ctx.session.add(goal)
    return _next_detail(await goals(ctx, await ctx.journey()))


async def ask_date(ctx: Ctx) -> None:
    """Ask by when the person wants to reach the target."""
    goal = await _open_goal(ctx)
    choices = [Choice(f"d:{k}", ctx.t(f"s3.date_{k}")) for k in DATE_OPTIONS]
    ctx.ask(ctx.t("s3.ask_date", skill=skill_name(ctx, goal.skill_id)), choices)


async def answer_date(ctx: Ctx, answer: Answer) -> Next:
    goal = await _open_goal(ctx)
    today = ctx.today()
    if answer.choice and answer.choice.startswith("d:") and answer.choice[2:] in DATE_OPTIONS:
        target = today + timedelta(days=DATE_OPTIONS[answer.choice[2:]])
    else:
        target = parse_date(answer.text)
        if target is None:
            raise Reprompt("s3.date_invalid")
        if target <= today:
            raise Reprompt("s3.date_past")
    goal.target_date = target
    ctx.session.add(goal)
    return _next_detail(await goals(ctx, await ctx.journey()))


async def ask_approach(ctx: Ctx) -> None:
    """Ask how the person means to learn the skill."""
    goal = await _open_goal(ctx)
    choices = [Choice(f"a:{a.id}", a.button(ctx.lang)) for a in ctx.content.groups.approaches]
    ctx.ask(ctx.t("s3.ask_approach", skill=skill_name(ctx, goal.skill_id)), choices)


async def answer_approach(ctx: Ctx, answer: Answer) -> Next:
    goal = await _open_goal(ctx)
    ids = [f"a:{a.id}" for a in ctx.content.groups.approaches]
    goal.approach = pick(answer, ids).removeprefix("a:")
    ctx.session.add(goal)
    return _next_detail(await goals(ctx, await ctx.journey()))


async def ask_plan(ctx: Ctx) -> None:
    """Ask for the if-then plan: 'when X, I will Y'."""
    journey = await ctx.journey()
    names = ", ".join(skill_name(ctx, g.skill_id) for g in await goals(ctx, journey))
    ctx.ask(ctx.t("s3.ask_plan", skills=names), [menu_choice(ctx)])


async def answer_plan(ctx: Ctx, answer: Answer) -> Next:
    plan = free_text(answer, min_len=8, max_len=500)
    await add_entry(ctx, "plan", plan)
    journey = await ctx.journey()
    lines = []
    for goal in await goals(ctx, journey):
        approach = ctx.content.approach(goal.approach or "")
        lines.append(
            ctx.t(
                "s3.goal_line",
                skill=skill_name(ctx, goal.skill_id),
                start=goal.start_level,
                target=goal.target_level,
                date=ctx.date_text(goal.target_date, short=True) if goal.target_date else "-",
                approach=approach.label.get(ctx.lang) if approach else "-",
            )
        )
    ctx.say(ctx.t("s3.summary", goals="\n".join(lines), plan=plan))
    return await enter_step(ctx, 4)
