"""Small helpers shared by the conversation states."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import fields
from datetime import time

from handlers.context import Answer, Ctx
from handlers.errors import Reprompt
from handlers.messages import Choice
from handlers.typed import ClockWords

MAX_TEXT = 2000  # longer free text is refused politely rather than truncated silently
REMIND_TIMES = ("07:30", "12:00", "16:30", "20:00")  # reminder times offered as buttons


def pick(answer: Answer, valid: Iterable[str]) -> str:
    """The chosen id if it is one of `valid`, else a polite re-prompt."""
    valid = list(valid)
    if answer.choice in valid:
        return answer.choice  # type: ignore[return-value]
    raise Reprompt("common.pick_one")


def free_text(answer: Answer, *, min_len: int = 1, max_len: int = MAX_TEXT) -> str:
    """Typed text within bounds; a tapped button where words were wanted is re-prompted,
    and so is text with no letter at all ("😀😀", "12345", "!!!"): it says nothing a
    report or a certificate can show. Numbers that are the answer (minutes) are read
    by their own parser, never through here."""
    text = answer.text.strip()
    if answer.choice is not None and not text:
        raise Reprompt("common.type_answer")
    if not text:
        raise Reprompt("common.empty")
    if len(text) > max_len:
        raise Reprompt("common.too_long", max=max_len)
    if not has_letters(text):
        raise Reprompt("common.need_words")
    if len(text) < min_len:
        raise Reprompt("common.too_short", min=min_len)
    return text


def is_letter(char: str) -> bool:
    """A letter of any script, or a Thai vowel or tone mark (category M, which a
    Thai word may carry above or below its consonants)."""
    category = unicodedata.category(char)
    if category.startswith("L"):
        return True
    return category.startswith("M") and unicodedata.name(char, "").startswith("THAI")


def has_letters(text: str) -> bool:
    """At least one letter: digits, emoji and punctuation alone are not words."""
    return any(is_letter(char) for char in text)


def letter_count(text: str) -> int:
    """How many letters `text` has, so that length means words, not spaces or emoji."""
    return sum(1 for char in text if is_letter(char))


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


def time_choices(ctx: Ctx) -> list[Choice]:
    """The reminder times offered as buttons (ids "t:0730", ...)."""
    return [
        Choice(f"t:{t.replace(':', '')}", ctx.t("onboard.time_label", time=t)) for t in REMIND_TIMES
    ]


def chosen_time(answer: Answer) -> time | None:
    """The time of a tapped `time_choices` button, else None."""
    digits = (answer.choice or "").removeprefix("t:")
    if (
        answer.choice
        and answer.choice.startswith("t:")
        and len(digits) == 4
        and digits.isascii()
        and digits.isdigit()
    ):
        return time(int(digits[:2]), int(digits[2:]))
    return None


CANCEL = "x:cancel"  # the id of every "cancel" button


def is_cancel(ctx: Ctx, answer: Answer) -> bool:
    """The person tapped "cancel" or typed a cancel word (`common.cancel_words`)."""
    if answer.choice == CANCEL:
        return True
    words = word_list(ctx, "common.cancel_words")
    return answer.choice is None and answer.text.strip().casefold() in words


def clock_words(ctx: Ctx) -> ClockWords:
    """The Thai clock's words (common.clock_*), so reminder times can be typed as
    people say them; only the Thai side is matched, it is the Thai clock."""

    def words(role: str) -> tuple[str, ...]:
        text = ctx.content.t(f"common.clock_{role}", "th")
        return tuple(w.strip() for w in text.split(",") if w.strip())

    return ClockWords(**{name: words(name) for name in CLOCK_ROLES})


CLOCK_ROLES = tuple(f.name for f in fields(ClockWords))


def word_list(ctx: Ctx, key: str) -> set[str]:
    """A comma-separated word list of content/, in both languages, for matching typed
    text: people type English words in a Thai chat and the other way round."""
    return {
        word.strip().casefold()
        for lang in ("th", "en")
        for word in ctx.content.t(key, lang).split(",")
        if word.strip()
    }
