"""Step 3, set goals and plan: one to three focus skills (gaps shown), a target
level, a date and a way to learn for each, then an if-then plan sentence.

The plan is built by tapping: a cue from the working day, then an action suggested
by the focus skills and the chosen ways to learn, joined by a content template.
Either part may be typed, and a whole typed sentence is the plan at once."""

from __future__ import annotations

from datetime import timedelta

from content.schema import Option
from handlers import assessment
from handlers.common import (
    free_text,
    level_text,
    menu_choice,
    pick,
    skill_name,
    skill_short,
    word_list,
)
from handlers.context import Answer, Ctx
from handlers.conversation import Next
from handlers.errors import Reprompt
from handlers.journey import add_entry, enter_step, goals
from handlers.messages import Choice
from handlers.steps.assess import typed_level
from handlers.typed import parse_date
from storage.models import Goal

MAX_FOCUS = 3
DATE_OPTIONS = {"1m": 30, "3m": 91, "6m": 182}
CUE = "cue:"  # button id prefix of a plan cue (content/groups.yaml plan_cues)
ACTION = "do:"  # button id prefix of a suggested plan action
MAX_ACTIONS = 8  # suggested actions shown at once
MIN_PART, MAX_PART = 2, 200  # a typed cue or action
MIN_PLAN, MAX_PLAN = 8, 500  # the whole plan sentence


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
    if choice is None:
        # The whole text, read as step 2 reads a level: "45" is no level and "3.5" is
        # refused, where reading the first character made them 4 and 3.
        choice = f"lv:{typed_level(ctx, answer.text, keep=None)}"
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
    """Ask when: a cue from the working day as buttons, or typed (a whole typed
    "when X, I will Y" sentence is the plan at once)."""
    journey = await ctx.journey()
    names = ", ".join(skill_name(ctx, g.skill_id) for g in await goals(ctx, journey))
    choices = [Choice(f"{CUE}{c.id}", c.button(ctx.lang)) for c in ctx.content.groups.plan_cues]
    ctx.ask(ctx.t("s3.ask_plan", skills=names), [*choices, menu_choice(ctx)])


async def answer_plan(ctx: Ctx, answer: Answer) -> Next:
    cue = next((c for c in ctx.content.groups.plan_cues if answer.choice == f"{CUE}{c.id}"), None)
    if cue is not None:
        ctx.set_data(cue_id=cue.id, cue=None)
        return "s3.action"
    text = " ".join(answer.text.split()).casefold()
    if any(word in text for word in word_list(ctx, "s3.then_words")):
        return await _save_plan(ctx, free_text(answer, min_len=MIN_PLAN, max_len=MAX_PLAN))
    typed = free_text(answer, min_len=MIN_PART, max_len=MAX_PART)
    ctx.set_data(cue_id=None, cue=_without_prefix(ctx, typed, "s3.when_words"))
    return "s3.action"


def _cue(ctx: Ctx) -> str | None:
    """The plan's cue as the person will read it: a tapped cue in their language
    now (it may have changed since the tap), a typed one as typed."""
    tapped = next((c for c in ctx.content.groups.plan_cues if c.id == ctx.data.get("cue_id")), None)
    return tapped.label.get(ctx.lang) if tapped is not None else ctx.data.get("cue")


def _actions(ctx: Ctx, focus: list[Goal]) -> list[tuple[str, Option]]:
    """Suggested actions: each focus skill's, then each chosen approach's, by button id."""
    found: dict[str, Option] = {}
    for goal in focus:
        for action in ctx.content.skill(goal.skill_id).plan_actions:
            found.setdefault(f"{ACTION}{goal.skill_id}.{action.id}", action)
    approaches = {a.id: a for a in ctx.content.groups.approaches}
    for goal in focus:
        approach = approaches.get(goal.approach or "")
        for action in approach.plan_actions if approach else []:
            found.setdefault(f"{ACTION}@{approach.id}.{action.id}", action)
    return list(found.items())[:MAX_ACTIONS]


async def ask_action(ctx: Ctx) -> Next | None:
    """Ask what the person will do at the cue, with actions that fit their skills
    and the way they chose to learn; without a cue (data lost) ask the cue again."""
    cue = _cue(ctx)
    if not cue:
        return "s3.plan"
    focus = await goals(ctx, await ctx.journey())
    choices = [Choice(cid, action.button(ctx.lang)) for cid, action in _actions(ctx, focus)]
    ctx.ask(ctx.t("s3.ask_action", cue=cue), [*choices, menu_choice(ctx)])
    return None


async def answer_action(ctx: Ctx, answer: Answer) -> Next:
    cue = _cue(ctx)
    if not cue:
        return "s3.plan"
    focus = await goals(ctx, await ctx.journey())
    tapped = dict(_actions(ctx, focus)).get(answer.choice or "")
    if tapped is not None:
        action = tapped.label.get(ctx.lang)
    else:
        typed = free_text(answer, min_len=MIN_PART, max_len=MAX_PART)
        action = _without_prefix(ctx, typed, "s3.then_words")
    sentence = ctx.t("s3.plan_sentence", cue=cue, action=action)
    return await _save_plan(ctx, sentence, ctx.data.get("cue_id"))


def _without_prefix(ctx: Ctx, text: str, key: str) -> str:
    """`text` without a leading word of the list `key`, which the plan sentence's
    template supplies itself ("when" before the cue, "I will" before the action)."""
    for word in sorted(word_list(ctx, key), key=len, reverse=True):
        rest = text[len(word) :]
        if not text.casefold().startswith(word):
            continue
        if word.isascii() and rest[:1].isalnum():
            continue  # "if" of "iftar": English words end at a space, Thai ones need not
        return rest.strip(" ,") or text
    return text


async def _save_plan(ctx: Ctx, plan: str, cue_id: str | None = None) -> Next:
    """Store the plan sentence (with its tapped cue and that cue's weekday, for the
    missed-plan-day nudge), show the whole plan, and move on to step 4."""
    cue = next((c for c in ctx.content.groups.plan_cues if c.id == cue_id), None)
    data = {"cue": cue.id, "weekday": cue.weekday} if cue is not None else {}
    await add_entry(ctx, "plan", plan, **data)
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
