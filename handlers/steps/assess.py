"""Steps 2 and 6: rating the nine skills (pre and post), and what the ratings say."""

from __future__ import annotations

import re
from dataclasses import dataclass

from content.schema import Skill
from handlers import assessment
from handlers.charts import person_chart
from handlers.common import level_text, menu_choice, skill_name, skill_short, word_list
from handlers.context import Answer, Ctx
from handlers.conversation import Next
from handlers.errors import Reprompt
from handlers.journey import enter_step
from handlers.messages import ALL_AT_ONCE, ASSESS_PAGE, Card, CardRow, Choice
from handlers.typed import whole_number
from storage.models import Journey

LEVELS = range(1, 6)
KEEP = "keep"  # the button that keeps the rating carried over from the last round
SHOW_LEVELS = "levels"  # the button that shows what each level means for this skill
# A typed level: digits, optionally "/5", and then no more digits or decimals
# ("3", "3 good", "3/5", "3" run into a word; not "35" or "3.5").
_TYPED_LEVEL = re.compile(r"(\d+)(?:\s*/\s*5)?(?![\d.,/])")
_FRACTION = re.compile(r"^(\d+)\s*[.,]\s*(\d+)$")


def skill_ids(ctx: Ctx) -> list[str]:
    return [s.id for s in ctx.content.skills]


@dataclass(frozen=True)
class Earlier:
    """The ratings an assessment is set against: step 2's for step 6, the last
    round's step 6 for a new round's step 2 (which may keep them with one tap)."""

    levels: dict[str, int]
    line_key: str
    keep: bool


async def earlier_ratings(ctx: Ctx, kind: str) -> Earlier:
    journey = await ctx.journey()
    if kind == "post":
        record = await assessment.get_assessment(ctx.session, journey, "pre")
        return Earlier(await assessment.ratings(ctx.session, record), "assess.before", keep=False)
    levels = await assessment.last_round_ratings(ctx.session, journey)
    return Earlier(levels, "assess.last_round", keep=True)


def rating_choices(ctx: Ctx, index: int, keep: int | None, *, levels_button: bool) -> list[Choice]:
    """The levels by their names; "keep" first when there is a rating to keep, the
    level descriptions one tap away, and "back" after the first skill."""
    choices = [Choice(f"lv:{lv}", level_text(ctx, lv)) for lv in LEVELS]
    if keep is not None:
        choices.insert(0, Choice(KEEP, ctx.t("assess.keep", level=keep)))
    if levels_button:
        choices.append(Choice(SHOW_LEVELS, ctx.t("assess.levels_button")))
    if index > 0:
        choices.append(Choice("back", ctx.t("common.back")))
    return choices


def levels_text(ctx: Ctx, skill: Skill) -> str:
    """What each level means for `skill`, by number and name."""
    scale = "\n".join(
        f"{lv.level} {ctx.content.scale_label(lv.level, ctx.lang)}: {lv.description.get(ctx.lang)}"
        for lv in skill.scale
    )
    return ctx.t("assess.levels", skill=skill.name.get(ctx.lang), scale=scale)


async def ask_rating(ctx: Ctx, kind: str) -> None:
    """Ask for the rating of the skill at `data['i']` so that it fits one phone screen:
    the skill, why it matters, the earlier rating if any, and the levels as buttons.

    Right after a wrong answer only a one-line hint goes with the buttons; right
    after "what the levels mean", the descriptions are the question."""
    index = int(ctx.data.get("i") or 0)
    skill = ctx.content.skills[index]
    earlier = await earlier_ratings(ctx, kind)
    before = earlier.levels.get(skill.id)
    problem, values = ctx.data.get("problem"), ctx.data.get("problem_values") or {}
    showing = ctx.data.get("show_levels") == index
    ctx.set_data(problem=None, problem_values=None, show_levels=None)  # each is shown once
    choices = rating_choices(
        ctx, index, before if earlier.keep else None, levels_button=not showing
    )
    if problem:
        ctx.ask(ctx.t(problem, **values), choices)
        return
    if showing:
        ctx.ask(levels_text(ctx, skill), choices)
        return
    text = ctx.t(
        "assess.question",
        n=index + 1,
        total=len(ctx.content.skills),
        skill=skill.name.get(ctx.lang),
        why=skill.why.get(ctx.lang),
    )
    if before is not None:
        text += "\n" + ctx.t(earlier.line_key, level=level_text(ctx, before))
    ctx.ask(text, choices)


async def begin_rating(ctx: Ctx, journey: Journey, kind: str, state: str) -> str:
    """Open the `kind` assessment and point at the first skill not yet rated
    (someone may have stopped half way); returns the rating state."""
    record = await assessment.get_or_start(ctx.session, journey, kind, ctx.now)
    done = await assessment.ratings(ctx.session, record)
    ctx.set_data(i=next((i for i, s in enumerate(skill_ids(ctx)) if s not in done), 0))
    return state


def typed_level(ctx: Ctx, text: str, keep: int | None) -> int:
    """The level in what the person typed: a number 1-5 (Thai digits too), a level's
    name in either language (as content/ names the scale), optionally after the word
    for level, or a "keep" word when there is a rating to keep.

    A fraction is refused with its two neighbours offered rather than rounded, so
    "3.5" is never stored as 3 or 4 behind the person's back."""
    wanted = " ".join(text.split()).casefold()
    for prefix in sorted(word_list(ctx, "assess.level_prefix"), key=len, reverse=True):
        if wanted.startswith(prefix):
            wanted = wanted.removeprefix(prefix).strip()
            break
    for level in LEVELS:
        names = {ctx.content.scale_label(level, lang).casefold() for lang in ("th", "en")}
        if wanted in names:
            return level
    if keep is not None and wanted in word_list(ctx, "assess.keep_words"):
        return keep
    fraction = _FRACTION.match(wanted)
    if fraction is not None:
        whole, part = whole_number(fraction.group(1)), whole_number(fraction.group(2))
        if whole in LEVELS and part == 0:
            return whole
        if whole is not None and 1 <= whole < 5:
            raise Reprompt("assess.whole_level", typed=wanted, low=whole, high=whole + 1)
        raise Reprompt("assess.pick_level")
    match = _TYPED_LEVEL.match(wanted)
    level = whole_number(match.group(1)) if match else None
    if level in LEVELS:
        return level  # type: ignore[return-value]
    raise Reprompt("assess.pick_level")


def assess_page_choice(ctx: Ctx) -> list[Choice]:
    """The button that opens the one-screen assessment (every level on one page, its
    answer `ALL_AT_ONCE`); a channel that cannot open the page leaves it out."""
    return [Choice(ASSESS_PAGE, ctx.t("assess.open_page"))]


def levels_at_once(ctx: Ctx, choice: str | None) -> dict[str, int] | None:
    """skill id -> level of an all-at-once answer; None when `choice` is not one.
    One that does not rate every skill 1-5 is refused whole (`Reprompt`): a page
    that sent it is out of date, and half of it must not be stored."""
    if not choice or not choice.startswith(ALL_AT_ONCE):
        return None
    digits = choice.removeprefix(ALL_AT_ONCE)
    skills = skill_ids(ctx)
    if len(digits) != len(skills) or any(d not in "12345" for d in digits):
        raise Reprompt("assess.pick_level")
    return {skill: int(digit) for skill, digit in zip(skills, digits, strict=True)}


async def rate_all(ctx: Ctx, kind: str, levels: dict[str, int], result_state: str) -> str:
    """Store every rating of the `kind` assessment at once and close it, as rating
    the skills one by one would have (a rating given earlier is replaced)."""
    journey = await ctx.journey()
    record = await assessment.get_or_start(ctx.session, journey, kind, ctx.now)
    for skill, level in levels.items():
        await assessment.save_rating(ctx.session, record, skill, level, ctx.now)
    record.completed_at = ctx.now
    ctx.session.add(record)
    return result_state


async def answer_intro(ctx: Ctx, answer: Answer, kind: str, state: str, result_state: str) -> str:
    """The intro of an assessment: "start" begins the questions; the one-screen page's
    answer (all levels at once) is stored whole and goes straight to the result."""
    try:
        levels = levels_at_once(ctx, answer.choice)
    except Reprompt as problem:
        ctx.set_data(problem=problem.message_key, problem_values=problem.values)
        return await begin_rating(ctx, await ctx.journey(), kind, state)
    if levels is not None:
        return await rate_all(ctx, kind, levels, result_state)
    return await begin_rating(ctx, await ctx.journey(), kind, state)


async def answer_rating(ctx: Ctx, answer: Answer, kind: str, state: str, result_state: str) -> str:
    """Store the rating at once, then move to the next skill (or back one); a wrong
    answer is asked again in one line (see `ask_rating`). The one-screen page's answer
    (every level at once) may come at any skill: it is stored whole."""
    index = int(ctx.data.get("i") or 0)
    try:
        levels = levels_at_once(ctx, answer.choice)
    except Reprompt as problem:
        ctx.set_data(problem=problem.message_key, problem_values=problem.values)
        return state
    if levels is not None:
        return await rate_all(ctx, kind, levels, result_state)
    if answer.choice == "back":
        ctx.set_data(i=max(0, index - 1))
        return state
    if answer.choice == SHOW_LEVELS:
        ctx.set_data(show_levels=index)
        return state
    earlier = await earlier_ratings(ctx, kind)
    keep = earlier.levels.get(skill_ids(ctx)[index]) if earlier.keep else None
    try:
        level = _chosen_level(ctx, answer, keep)
    except Reprompt as problem:
        ctx.set_data(problem=problem.message_key, problem_values=problem.values)
        return state
    journey = await ctx.journey()
    record = await assessment.get_or_start(ctx.session, journey, kind, ctx.now)
    await assessment.save_rating(ctx.session, record, skill_ids(ctx)[index], level, ctx.now)
    if index + 1 < len(ctx.content.skills):
        ctx.set_data(i=index + 1)
        return state
    record.completed_at = ctx.now
    ctx.session.add(record)
    return result_state


def _chosen_level(ctx: Ctx, answer: Answer, keep: int | None) -> int:
    """The level of a tapped button (or its label typed), else of the typed text."""
    if answer.choice == KEEP and keep is not None:
        return keep
    if answer.choice and answer.choice.startswith("lv:"):
        level = whole_number(answer.choice[3:])
        if level in LEVELS:
            return level  # type: ignore[return-value]
    return typed_level(ctx, answer.text, keep)


def results_card(ctx: Ctx, levels: dict[str, int], title: str) -> tuple[str, Card]:
    """The ratings as a short text (strengths and what to develop first, then the
    other skills grouped by level, then the average) and as a card of every skill."""
    order = skill_ids(ctx)
    summary = assessment.summarise(levels, order)
    rows = [
        CardRow(skill_name(ctx, s), level_text(ctx, levels.get(s)), (levels.get(s) or 0) / 5)
        for s in order
    ]
    strongest = ", ".join(skill_short(ctx, s) for s in summary.strongest)
    weakest = ", ".join(skill_short(ctx, s) for s in summary.weakest)
    text = ctx.t(
        "assess.result",
        title=title,
        lines="\n".join(_result_lines(ctx, levels, order)),
        disclaimer=ctx.content.skills_file.disclaimer.get(ctx.lang),
    )
    footer = ctx.t(
        "assess.result_footer",
        average=f"{summary.average:.1f}",
        strongest=strongest,
        weakest=weakest,
    )
    return text, Card(title=title, rows=tuple(rows), footer=footer)


def _result_lines(ctx: Ctx, levels: dict[str, int], order: list[str]) -> list[str]:
    """At most six lines, whatever the ratings: the top level's skills, the bottom
    level's, each level between with its skills, and the average last."""
    rated = [s for s in order if s in levels]
    if not rated:
        return []
    by_level = {lv: [skill_short(ctx, s) for s in rated if levels[s] == lv] for lv in LEVELS}
    present = [lv for lv in reversed(LEVELS) if by_level[lv]]
    top, bottom = present[0], present[-1]
    summary = assessment.summarise(levels, order)
    if top == bottom:
        lines = [ctx.t("assess.result_even", level=level_text(ctx, top))]
    else:
        lines = [
            ctx.t(
                "assess.result_strongest",
                skills=", ".join(by_level[top]),
                level=level_text(ctx, top),
            ),
            ctx.t(
                "assess.result_weakest",
                skills=", ".join(by_level[bottom]),
                level=level_text(ctx, bottom),
            ),
        ]
        lines += [f"• {level_text(ctx, lv)}: {', '.join(by_level[lv])}" for lv in present[1:-1]]
    lines.append(ctx.t("assess.result_average", average=f"{summary.average:.1f}"))
    return lines


# ---- step 2 --------------------------------------------------------------------


async def ask_pre_intro(ctx: Ctx) -> None:
    """Explain the self-assessment before it starts (in a new round: that the last
    round's ratings are shown and can be kept with one tap)."""
    text = ctx.t("s2.intro", disclaimer=ctx.content.skills_file.disclaimer.get(ctx.lang))
    if (await earlier_ratings(ctx, "pre")).levels:
        text += "\n" + ctx.t("s2.carry_over")
    ctx.ask(text, [Choice("start", ctx.t("s2.start")), *assess_page_choice(ctx), menu_choice(ctx)])


async def answer_pre_intro(ctx: Ctx, answer: Answer) -> Next:
    return await answer_intro(ctx, answer, "pre", "s2.rate", "s2.result")


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
