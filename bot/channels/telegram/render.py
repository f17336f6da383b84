"""Replies rendered for the Telegram Bot API: what to send, in how many calls.

Handlers speak in platform-neutral `Reply`s; Telegram has limits they should
not have to know: 4096 characters per message, 1024 per caption, 64 bytes of
`callback_data` per button. This module turns one reply into one or more
`Part`s (one Bot API call each) that respect them, deterministically, so a
retried outbox row renders the same parts and can resume after those already
sent. It only builds PTB objects; it never talks to the network.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from bot.channels.text import graphemes, utf16_len, without_pages
from bot.channels.text import split_text as _split
from handlers.messages import OPEN_PAGE, Reply

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_BYTES = 64
# Labels at most this wide (in visible characters) sit two to a row.
SHORT_LABEL = 14
SEQ_SEPARATOR = "|"

PartKind = Literal["message", "photo", "document"]


@dataclass(frozen=True)
class Part:
    """One Bot API call: sendMessage (`text`), sendPhoto or sendDocument (`text` is the caption)."""

    kind: PartKind
    text: str
    keyboard: InlineKeyboardMarkup | None = None
    data: bytes | None = None
    filename: str | None = None


tg_len = utf16_len  # Telegram counts UTF-16 code units too


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """`text` as messages of at most `limit` (see `bot.channels.text.split_text`)."""
    return _split(text, limit)


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
    if separator and head.isascii() and head.isdigit() and rest:  # "²" passes isdigit()
        return rest, int(head)
    return data, None


def keyboard(reply: Reply, pages: Mapping[str, str] | None = None) -> InlineKeyboardMarkup | None:
    """The reply's choices as an inline keyboard: two per row when every label is short.
    A page-opening choice whose page is in `pages` (choice id -> https address) opens
    it as a Mini App, on a row of its own after the others; one that is not is left out."""
    pages = pages or {}
    opened = [c for c in reply.choices if c.id.startswith(OPEN_PAGE) and c.id in pages]
    choices = without_pages(reply).choices
    if not choices and not opened:
        return None
    buttons = [
        InlineKeyboardButton(c.label, callback_data=callback_data(reply.question_seq, c.id))
        for c in choices
    ]
    per_row = 2 if all(len(graphemes(c.label)) <= SHORT_LABEL for c in choices) else 1
    rows = [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
    rows += [[InlineKeyboardButton(c.label, web_app=WebAppInfo(pages[c.id]))] for c in opened]
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


def render_reply(reply: Reply, pages: Mapping[str, str] | None = None) -> list[Part]:
    """One reply as Bot API calls; its keyboard (if any) goes on the last one.

    A card is sent as its text, which carries the same information.
    """
    if reply.image_png is not None or reply.document is not None:
        parts = _file_parts(reply)
    else:
        parts = [Part("message", chunk) for chunk in split_text(reply.text)]
    markup = keyboard(reply, pages)
    if markup is not None and parts:
        last = parts[-1]
        parts[-1] = Part(last.kind, last.text, markup, last.data, last.filename)
    return parts


def render(replies: Iterable[Reply], pages: Mapping[str, str] | None = None) -> list[Part]:
    """All replies of one outbox row, in order (`pages`: see `keyboard`)."""
    return [part for reply in replies for part in render_reply(reply, pages)]
