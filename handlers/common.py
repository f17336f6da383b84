"""Small helpers shared by the conversation states."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from handlers.context import Answer, Ctx
from handlers.errors import Reprompt
from handlers.messages import Choice

MAX_TEXT = 2000  # longer free text is refused politely rather than truncated silently


@dataclass(frozen=True)
class State:
    """One conversation state: how to ask its question, and what to do with the answer.

    `answer` returns the name of the next state (possibly the same one with
    new data); the engine then asks that state's question.
    """

    ask: Callable[[Ctx], Awaitable[None]]
    answer: Callable[[Ctx, Answer], Awaitable[str]]


def pick(answer: Answer, valid: Iterable[str]) -> str:
    """The chosen id if it is one of `valid`, else a polite re-prompt."""
    valid = list(valid)
    if answer.choice in valid:
        return answer.choice  # type: ignore[return-value]
    raise Reprompt("common.pick_one")


def free_text(answer: Answer, *, min_len: int = 1, max_len: int = MAX_TEXT) -> str:
    """Typed text within bounds; a tapped button where words were wanted is re-prompted."""
    text = answer.text.strip()
    if answer.choice is not None and not text:
        raise Reprompt("common.type_answer")
    if not text:
        raise Reprompt("common.empty")
    if len(text) > max_len:
        raise Reprompt("common.too_long", max=max_len)
    if len(text) < min_len:
        raise Reprompt("common.too_short", min=min_len)
    return text


def menu_choice(ctx: Ctx) -> Choice:
    return Choice("go:menu", ctx.t("nav.menu"))


def progress_bar(done: int, total: int, width: int = 6) -> str:
    """A bar of filled and empty blocks; plain characters that every phone shows."""
    filled = round(width * done / total) if total else 0
    return "▰" * filled + "▱" * (width - filled)


def level_text(ctx: Ctx, level: int | None) -> str:
    if level is None:
        return "-"
    return f"{level} {ctx.content.scale_label(level, ctx.lang)}"


def skill_name(ctx: Ctx, skill_id: str) -> str:
    return ctx.content.skill(skill_id).name.get(ctx.lang)


def skill_short(ctx: Ctx, skill_id: str) -> str:
    return ctx.content.skill(skill_id).short.get(ctx.lang)
