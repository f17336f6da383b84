"""Replies rendered for the Telegram Bot API: what to send, in how many calls.

Handlers speak in platform-neutral `Reply`s; Telegram has limits they should
not have to know: 4096 characters per message, 1024 per caption, 64 bytes of
`callback_data` per button. This module turns one reply into one or more
`Part`s (one Bot API call each) that respect them, deterministically, so a
retried outbox row renders the same parts and can resume after those already
sent. It only builds PTB objects; it never talks to the network.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.messages import Reply

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_BYTES = 64
# Labels at most this wide (in visible characters) sit two to a row.
SHORT_LABEL = 14
SEQ_SEPARATOR = "|"

# Thai characters that belong to the consonant before them: above/below vowels,
# tone marks and the spacing vowels that close a syllable (sara a, aa, am; lakkhangyao).
_THAI_FOLLOWERS = {0x0E30, 0x0E31, 0x0E32, 0x0E33, 0x0E45, *range(0x0E34, 0x0E3B)}
_THAI_FOLLOWERS |= set(range(0x0E47, 0x0E4F))
# Thai vowels written before the consonant they belong to (sara e, ae, o, ai maimuan, ai maimalai).
_THAI_LEADERS = set(range(0x0E40, 0x0E45))
_ZWJ = 0x200D
_JOINERS = {
    _ZWJ,
    *range(0xFE00, 0xFE10),
    *range(0x1F3FB, 0x1F400),
}  # ZWJ, variation selectors, skin tones

PartKind = Literal["message", "photo", "document"]


@dataclass(frozen=True)
class Part:
    """One Bot API call: sendMessage (`text`), sendPhoto or sendDocument (`text` is the caption)."""

    kind: PartKind
    text: str
    keyboard: InlineKeyboardMarkup | None = None
    data: bytes | None = None
    filename: str | None = None


# ---- lengths and safe places to cut -------------------------------------------


def tg_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: an emoji may count twice)."""
    return len(text.encode("utf-16-le")) // 2


def _visible_len(text: str) -> int:
    """Roughly how wide a label looks: marks drawn above or below take no room."""
    return sum(1 for ch in text if not _attaches_to_previous(ch))


def _attaches_to_previous(ch: str) -> bool:
    code = ord(ch)
    return (
        code in _THAI_FOLLOWERS
        or code in _JOINERS
        or unicodedata.combining(ch) != 0
        or unicodedata.category(ch) in ("Mn", "Mc", "Me")
    )


def can_break(text: str, index: int) -> bool:
    """True if `text` may be cut between `text[index - 1]` and `text[index]`.

    Never before a combining mark, a Thai vowel or tone mark that belongs to
    the consonant before it, or a variation selector / emoji joiner; never
    after a Thai leading vowel or a zero-width joiner.
    """
    if index <= 0 or index >= len(text):
        return True
    before, after = text[index - 1], text[index]
    if _attaches_to_previous(after):
        return False
    return ord(before) not in _THAI_LEADERS and ord(before) != _ZWJ


def _fitting_prefix(text: str, limit: int) -> int:
    """How many characters of `text` fit in `limit` UTF-16 units."""
    used = 0
    for index, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def _cut_point(line: str, limit: int) -> int:
    """Where to cut an over-long line: the last space that fits, else the last
    place that does not split a character cluster."""
    end = _fitting_prefix(line, limit)
    space = max((i for i in range(1, end + 1) if line[i].isspace()), default=0)
    if space:
        return space
    for index in range(end, 0, -1):
        if can_break(line, index):
            return index
    return max(end, 1)  # a cluster longer than a message: nothing better exists


def _split_line(line: str, limit: int) -> list[str]:
    chunks = []
    while tg_len(line) > limit:
        cut = _cut_point(line, limit)
        head, line = line[:cut].rstrip(), line[cut:].lstrip()
        if head:
            chunks.append(head)
    if line:
        chunks.append(line)
    return chunks


def _pack(text: str, separators: Sequence[str], limit: int) -> list[str]:
    """Split at the coarsest separator first, then join pieces greedily back up to `limit`."""
    if tg_len(text) <= limit:
        return [text]
    if not separators:
        return _split_line(text, limit)
    separator, finer = separators[0], separators[1:]
    pieces = [chunk for block in text.split(separator) for chunk in _pack(block, finer, limit)]
    chunks: list[str] = []
    for piece in pieces:
        joined = f"{chunks[-1]}{separator}{piece}" if chunks else piece
        if chunks and tg_len(joined) <= limit:
            chunks[-1] = joined
        else:
            chunks.append(piece)
    return chunks


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Cut `text` into messages of at most `limit`: at paragraphs, then lines,
    then spaces, and only as a last resort between two character clusters (Thai
    has no spaces between words, so a long Thai line may be cut mid-phrase, but
    never inside a syllable's cluster of consonant, vowel and tone marks)."""
    if tg_len(text) <= limit:
        return [text] if text.strip() else []
    chunks = _pack(text, ("\n\n", "\n"), limit)
    return [chunk.strip() for chunk in chunks if chunk.strip()]


# ---- buttons --------------------------------------------------------------------


def callback_data(question_seq: int | None, choice_id: str) -> str:
    """The button payload: the question's number and the choice's short id.

    Raises ValueError when it would not fit Telegram's 64 bytes: choice ids are
    short by design, so an overflow is a bug to fix, not something to truncate.
    """
    data = choice_id if question_seq is None else f"{question_seq}{SEQ_SEPARATOR}{choice_id}"
    if not choice_id or len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data {data!r} does not fit Telegram's 64 bytes")
    return data


def parse_callback_data(data: str) -> tuple[str, int | None]:
    """`"12|lv:3"` -> `("lv:3", 12)`; data without a question number -> `(data, None)`."""
    head, separator, rest = data.partition(SEQ_SEPARATOR)
    if separator and head.isdigit() and rest:
        return rest, int(head)
    return data, None


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """The reply's choices as an inline keyboard: two per row when every label is short."""
    if not reply.choices:
        return None
    buttons = [
        InlineKeyboardButton(c.label, callback_data=callback_data(reply.question_seq, c.id))
        for c in reply.choices
    ]
    per_row = 2 if all(_visible_len(c.label) <= SHORT_LABEL for c in reply.choices) else 1
    rows = [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
    return InlineKeyboardMarkup(rows)


def button_label(markup: InlineKeyboardMarkup | None, data: str) -> str | None:
    """The label of the button whose payload is `data` (what the person tapped)."""
    if markup is None:
        return None
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == data:
                return button.text
    return None


# ---- replies ----------------------------------------------------------------------


def _file_parts(reply: Reply) -> list[Part]:
    """A photo or a document, captioned with the reply's text when it fits."""
    if reply.image_png is not None:
        kind: PartKind = "photo"
        data, filename = reply.image_png, "chart.png"
    else:
        assert reply.document is not None
        kind, data, filename = "document", reply.document, reply.document_name or "document"
    text = reply.text.strip()
    if tg_len(text) <= MAX_CAPTION:
        return [Part(kind, text, data=data, filename=filename)]
    file_part = Part(kind, "", data=data, filename=filename)
    return [file_part, *(Part("message", chunk) for chunk in split_text(text))]


def render_reply(reply: Reply) -> list[Part]:
    """One reply as Bot API calls; its keyboard (if any) goes on the last one.

    A card is sent as its text, which carries the same information.
    """
    if reply.image_png is not None or reply.document is not None:
        parts = _file_parts(reply)
    else:
        parts = [Part("message", chunk) for chunk in split_text(reply.text)]
    markup = keyboard(reply)
    if markup is not None and parts:
        last = parts[-1]
        parts[-1] = Part(last.kind, last.text, markup, last.data, last.filename)
    return parts


def render(replies: Iterable[Reply]) -> list[Part]:
    """All replies of one outbox row, in order."""
    return [part for reply in replies for part in render_reply(reply)]
