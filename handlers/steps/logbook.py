"""Steps 4 and 5 keep a logbook: learning activities, and evidence of applying a
skill at work. Both are the same shape (a menu, which skill, then a few
fields), so one small form engine serves both; each answer is stored as given.

Evidence also records which outcome of the OCSC guideline the use served
(faster work, saved resources, higher-value work, better public service): a
tapped result is one of them, and after a result in the person's own words
the bot asks which one it was closest to.

Every question of an entry can be cancelled (a button, or a typed cancel word):
the half-made entry is deleted, so the logbook never holds a fragment. The
saved message praises only an entry with substance; a thin one is simply
acknowledged, so that praise keeps its meaning.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.common import (
    CANCEL,
    MAX_TEXT,
    free_text,
    is_cancel,
    letter_count,
    menu_choice,
    pick,
    skill_name,
    skill_short,
    word_list,
)
from handlers.context import Answer, Ctx
from handlers.conversation import REASK, Next, State
from handlers.errors import Reprompt
from handlers.journey import add_entry, enter_step, entry_count, goals
from handlers.messages import Choice
from handlers.typed import parse_minutes
from storage.models import StepEntry

OUTCOME = "outcome"  # StepEntry.data key: the id of the outcome an evidence entry served
OTHER = "other"  # an outcome outside the guideline's four
THIN_LETTERS = 10  # a weighed field with fewer letters makes a thin entry (plain thanks)
TELLING_LETTERS = 25  # a telling field this long, or with a number in it, shows an effect
TOOL = "tl:"  # prefix of a tapped tool's id; the index into the skill's tool list


@dataclass(frozen=True)
class FormField:
    """One question of a logbook entry. `options` are example answers as buttons
    (message keys); `minutes` fields take a number; `outcomes` fields offer the
    guideline's outcomes (content/groups.yaml) as examples; the `ask_outcome`
    field is asked only when the entry has no outcome yet; `tools` fields offer
    the tools usual for the entry's skill (`<prefix>.tools_<skill>` in content,
    else `<prefix>.tools_any`), and any typed tool is taken as well."""

    name: str
    options: tuple[str, ...] = ()
    minutes: bool = False
    outcomes: bool = False
    ask_outcome: bool = False
    tools: bool = False


@dataclass(frozen=True)
class Logbook:
    step: int
    kind: str  # StepEntry.kind
    prefix: str  # state name prefix, e.g. "s4"
    fields: tuple[FormField, ...]
    weighed: tuple[str, ...]  # fields that must not be thin for the entry to be praised
    telling: str  # the field whose words show an effect (a number, or a decent length)
    with_resources: bool = False

    def state(self, name: str) -> str:
        return f"{self.prefix}.{name}"


LEARN = Logbook(
    step=4,
    kind="learning",
    prefix="s4",
    fields=(
        FormField("what"),
        FormField("minutes", options=("15", "30", "60", "120"), minutes=True),
        FormField("learned"),
    ),
    weighed=("what", "learned"),
    telling="learned",
    with_resources=True,
)

APPLY = Logbook(
    step=5,
    kind="evidence",
    prefix="s5",
    fields=(
        FormField("task"),
        FormField("tool", tools=True),
        FormField("result", outcomes=True),
        FormField(OUTCOME, ask_outcome=True),
    ),
    weighed=("task", "result"),
    telling="result",
)


async def _entry(ctx: Ctx) -> StepEntry | None:
    entry_id = ctx.data.get("entry")
    return await ctx.session.get(StepEntry, entry_id) if entry_id else None


def states(book: Logbook, *, following: str) -> dict[str, State]:
    """The states of one logbook for the flow's table; `following` is the first
    state of the step after it."""
    first_field = book.state(book.fields[0].name)

    async def ask_menu(ctx: Ctx) -> None:
        """Show how many entries there are and what can be done next."""
        journey = await ctx.journey()
        count = await entry_count(ctx, journey, book.kind)
        choices = [Choice("log", ctx.t(f"{book.prefix}.log"))]
        if book.with_resources:
            choices.append(Choice("res", ctx.t(f"{book.prefix}.resources")))
        if count:
            choices.append(Choice("next", ctx.t(f"{book.prefix}.finish")))
        choices.append(menu_choice(ctx))
        ctx.ask(ctx.t(f"{book.prefix}.menu", count=count), choices)

    async def answer_menu(ctx: Ctx, answer: Answer) -> Next:
        valid = ["log", "next", *(["res"] if book.with_resources else [])]
        choice = pick(answer, valid)
        journey = await ctx.journey()
        if choice == "next":
            if not await entry_count(ctx, journey, book.kind):
                raise Reprompt(f"{book.prefix}.need_one")
            return await enter_step(ctx, book.step + 1)
        if choice == "res":
            _show_resources(ctx, [g.skill_id for g in await goals(ctx, journey)])
            return REASK
        ctx.set_data(entry=None, skill=None)
        focus = await goals(ctx, journey)
        if len(focus) == 1:
            ctx.set_data(skill=focus[0].skill_id)
            return first_field
        return book.state("skill")

    async def ask_skill(ctx: Ctx) -> None:
        """Which skill the entry is about (focus skills first, any skill allowed)."""
        journey = await ctx.journey()
        focus = [g.skill_id for g in await goals(ctx, journey)]
        others = [s.id for s in ctx.content.skills if s.id not in focus]
        choices = [Choice(f"k:{s}", skill_short(ctx, s)) for s in focus + others]
        ctx.ask(ctx.t(f"{book.prefix}.ask_skill"), [*choices, _cancel_choice(ctx, book)])

    async def answer_skill(ctx: Ctx, answer: Answer) -> Next:
        if is_cancel(ctx, answer):
            return await _cancel(ctx, book)
        skill_id = pick(answer, [f"k:{s.id}" for s in ctx.content.skills]).removeprefix("k:")
        ctx.set_data(skill=skill_id)
        return first_field

    menu = book.state("menu")
    table = {
        menu: State(ask_menu, answer_menu, to=(REASK, book.state("skill"), first_field, following)),
        book.state("skill"): State(ask_skill, answer_skill, to=(first_field, menu)),
    }
    for index, form_field in enumerate(book.fields):
        then = book.state(book.fields[index + 1].name) if index + 1 < len(book.fields) else None
        table[book.state(form_field.name)] = State(
            _asker(book, form_field),
            _answerer(book, form_field, index, then),
            to=(then, menu) if then and not form_field.ask_outcome else (menu,),
        )
    return table


def _outcome_choices(ctx: Ctx, *, other: bool) -> list[Choice]:
    choices = [Choice(f"o:{o.id}", o.button(ctx.lang)) for o in ctx.content.groups.outcomes]
    if other:
        choices.append(Choice(f"o:{OTHER}", ctx.t("s5.outcome_other")))
    return choices


async def _finish(ctx: Ctx, book: Logbook) -> Next:
    """The entry is complete: say so (warmly only if it has substance), and back
    to the logbook's menu."""
    journey = await ctx.journey()
    count = await entry_count(ctx, journey, book.kind)
    warm = _has_substance(ctx, book, await _entry(ctx))
    ctx.say(ctx.t(f"{book.prefix}.saved_warm" if warm else f"{book.prefix}.saved", count=count))
    ctx.set_data(entry=None, skill=None)
    return book.state("menu")


def _has_substance(ctx: Ctx, book: Logbook, entry: StepEntry | None) -> bool:
    """Whether the entry earns praise: no weighed field is thin, and the telling
    field is in the person's own words and names an effect (a number, or enough
    words to describe one). Praising "ok" as much as a worked example would
    teach people that a word is enough."""
    if entry is None:
        return False
    texts = [str(entry.data.get(name, "")) for name in book.weighed]
    if any(letter_count(text) < THIN_LETTERS for text in texts):
        return False
    told = str(entry.data.get(book.telling, ""))
    if told in _outcome_labels(ctx):
        return False  # a tapped outcome names a category, not what happened
    return any(char.isdigit() for char in told) or letter_count(told) >= TELLING_LETTERS


def _outcome_labels(ctx: Ctx) -> set[str]:
    """The outcome labels in both languages, as a tapped result stores them."""
    return {o.label.get(lang) for o in ctx.content.groups.outcomes for lang in ("th", "en")}


def _cancel_choice(ctx: Ctx, book: Logbook) -> Choice:
    return Choice(CANCEL, ctx.t(f"{book.prefix}.cancel"))


async def _cancel(ctx: Ctx, book: Logbook) -> Next:
    """Drop the entry being written (it is stored from its first answer on), so
    no fragment stays in the logbook, and go back to the menu."""
    entry = await _entry(ctx)
    if entry is not None:
        await ctx.session.delete(entry)
        await ctx.session.flush()
    ctx.say(ctx.t(f"{book.prefix}.cancelled"))
    ctx.set_data(entry=None, skill=None)
    return book.state("menu")


def tool_options(ctx: Ctx, book: Logbook, skill_id: str | None) -> list[str]:
    """The tools offered as buttons: the skill's own list in content, else the
    general one; an agency edits them in content/ without touching code."""
    key = f"{book.prefix}.tools_{skill_id}"
    if key not in ctx.content.messages:
        key = f"{book.prefix}.tools_any"
    return [tool.strip() for tool in ctx.t(key).split(",") if tool.strip()]


def _asker(book: Logbook, form_field: FormField):  # noqa: ANN202
    async def ask(ctx: Ctx) -> Next | None:
        """Ask one field of the entry, with example answers as buttons."""
        if form_field.ask_outcome:
            entry = await _entry(ctx)
            if entry is not None and entry.data.get(OUTCOME):
                return await _finish(ctx, book)  # the tapped result named it already
        skill = ctx.data.get("skill")
        key = f"{book.prefix}.ask_{form_field.name}"
        choices = [
            Choice(f"o:{opt}", ctx.t(f"{book.prefix}.{form_field.name}_{opt}"))
            for opt in form_field.options
        ]
        if form_field.outcomes or form_field.ask_outcome:
            choices = _outcome_choices(ctx, other=form_field.ask_outcome)
        if form_field.tools:
            tools = tool_options(ctx, book, skill)
            choices = [Choice(f"{TOOL}{index}", tool) for index, tool in enumerate(tools)]
        choices.append(_cancel_choice(ctx, book))
        ctx.ask(ctx.t(key, skill=skill_name(ctx, skill) if skill else ""), choices)
        return None

    return ask


def _answerer(book: Logbook, form_field: FormField, index: int, following: str | None):  # noqa: ANN202
    async def answer(ctx: Ctx, answer: Answer) -> Next:
        if is_cancel(ctx, answer):
            return await _cancel(ctx, book)
        values = _field_values(ctx, book, form_field, answer)
        entry = await _entry(ctx)
        if entry is None:
            entry = await add_entry(ctx, book.kind, "", skill_id=ctx.data.get("skill"))
            ctx.set_data(entry=entry.id)
        entry.data = {**entry.data, **values}
        if index == 0:
            entry.text = str(values[form_field.name])
        ctx.session.add(entry)
        if following is not None:
            return following
        return await _finish(ctx, book)

    return answer


def _field_values(
    ctx: Ctx, book: Logbook, form_field: FormField, answer: Answer
) -> dict[str, str | int]:
    """What one answer stores: a tapped example, a number of minutes, free text,
    or an outcome (with its id)."""
    option = answer.choice[2:] if answer.choice and answer.choice.startswith("o:") else None
    if form_field.ask_outcome:
        valid = {o.id for o in ctx.content.groups.outcomes} | {OTHER}
        if option not in valid:
            raise Reprompt("common.pick_one")
        return {OUTCOME: option}  # type: ignore[dict-item]
    if form_field.outcomes and option is not None:
        outcome = ctx.content.outcome(option)
        if outcome is None:
            raise Reprompt("common.pick_one")
        return {form_field.name: outcome.label.get(ctx.lang), OUTCOME: outcome.id}
    return {form_field.name: _field_value(ctx, book, form_field, answer)}


def _field_value(ctx: Ctx, book: Logbook, form_field: FormField, answer: Answer) -> str | int:
    """The answer to one field: a tapped example or tool, a number of minutes, or free text."""
    if form_field.tools and answer.choice and answer.choice.startswith(TOOL):
        return _tapped_tool(ctx, book, answer.choice)
    if answer.choice and answer.choice.startswith("o:"):
        option = answer.choice[2:]
        if option not in form_field.options:
            raise Reprompt("common.pick_one")
        if form_field.minutes:
            return int(option)
        return ctx.t(f"{book.prefix}.{form_field.name}_{option}")
    if form_field.minutes:
        minutes = parse_minutes(
            answer.text,
            hour_words=word_list(ctx, "s4.hour_words"),
            minute_words=word_list(ctx, "s4.minute_words"),
            half_words=word_list(ctx, "s4.half_words"),
        )
        if minutes is None:
            raise Reprompt(f"{book.prefix}.minutes_invalid")
        return minutes
    return free_text(answer, max_len=MAX_TEXT)


def _tapped_tool(ctx: Ctx, book: Logbook, choice: str) -> str:
    """The tool a button stands for, looked up again by its index in the list."""
    tools = tool_options(ctx, book, ctx.data.get("skill"))
    index = choice.removeprefix(TOOL)
    if not (index.isascii() and index.isdigit() and int(index) < len(tools)):
        raise Reprompt("common.pick_one")
    return tools[int(index)]


def _show_resources(ctx: Ctx, skill_ids: list[str]) -> None:
    """List learning resources for the focus skills (all skills if none chosen)."""
    skill_ids = skill_ids or [s.id for s in ctx.content.skills]
    lines = []
    for skill_id in skill_ids:
        lines.append(f"【{skill_name(ctx, skill_id)}】")
        for res in ctx.content.resources_for(skill_id):
            line = f"• {res.title.get(ctx.lang)}: {res.description.get(ctx.lang)}"
            if res.url:
                line += f"\n  {res.url}"
            lines.append(line)
    ctx.say(ctx.t("s4.resources_list", lines="\n".join(lines)))
