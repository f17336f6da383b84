"""The platform-neutral messages that flow in and out of the handlers.

Channels turn platform updates into `Incoming` and render `Reply` objects for
their platform; handlers see and produce nothing else.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field, replace
from typing import Any, Literal

IncomingKind = Literal["text", "choice", "follow", "unfollow"]

# A choice whose id starts with OPEN_PAGE opens a page instead of answering in the
# chat: a channel shows it as a page-opening button where it can open that page and
# leaves it out where it cannot. ASSESS_PAGE is the one-screen self-assessment,
# whose answer comes back as one choice: ALL_AT_ONCE and a level digit per skill.
OPEN_PAGE = "open:"
ASSESS_PAGE = "open:assess"
ALL_AT_ONCE = "all:"

MAX_INCOMING_TEXT = 4000  # characters of typed text the core reads (Telegram's own limit is 4096)
MAX_INCOMING_FIELD = 300  # a choice id (LINE postback data is at most 300), a name, a language
# C0 control characters other than tab and newline (NUL among them), and DEL.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Incoming:
    """One thing a person did: typed text, tapped a choice, followed or unfollowed.

    `user_id` is the platform's id of the person, `chat_id` where to answer
    (the same for private chats; the group's id when `chat_type` is "group"). `choice` is the id of a tapped choice and
    `question_seq` the number of the question it belonged to (None when the
    platform could not tell, e.g. typed text). `event_id` dedupes redeliveries.
    """

    channel: str
    user_id: str
    chat_id: str
    kind: IncomingKind = "text"
    text: str = ""
    choice: str | None = None
    question_seq: int | None = None
    reply_token: str | None = None
    event_id: str | None = None
    display_name: str | None = None
    lang_hint: str | None = None
    chat_type: str = "private"  # "private", or "group" for group chats and rooms

    def cleaned(self) -> Incoming:
        """The same message with text that every database stores and every handler reads.

        In every string field: lone surrogates (which JSON can carry and UTF-8 cannot
        encode) become U+FFFD, a line break written as CR or CR LF becomes LF, and the
        other C0 control characters except tab (NUL among them) and DEL are removed.
        `text` is cut to `MAX_INCOMING_TEXT` characters (longer than any answer a
        question accepts, so a long answer is still told it is too long), the choice
        id, name and language hint to `MAX_INCOMING_FIELD`. A field of the wrong type
        (a platform's JSON is not to be trusted) is left empty.
        """
        seq = self.question_seq
        return replace(
            self,
            user_id=_clean(self.user_id, None) or "",
            chat_id=_clean(self.chat_id, None) or "",
            text=_clean(self.text, MAX_INCOMING_TEXT) or "",
            choice=_clean(self.choice, MAX_INCOMING_FIELD),
            question_seq=seq if isinstance(seq, int) and not isinstance(seq, bool) else None,
            reply_token=_clean(self.reply_token, None),
            event_id=_clean(self.event_id, None),
            display_name=_clean(self.display_name, MAX_INCOMING_FIELD),
            lang_hint=_clean(self.lang_hint, MAX_INCOMING_FIELD),
            chat_type=_clean(self.chat_type, MAX_INCOMING_FIELD) or "private",
        )


def _clean(value: object, limit: int | None) -> str | None:
    """One field of `Incoming.cleaned`: None for anything that is not a string."""
    if not isinstance(value, str):
        return None
    if not value.isascii() or _CONTROL.search(value):
        # UTF-16 pairs up surrogate halves that belong together (an emoji split in two)
        # and replaces the lone ones.
        value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        value = _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    return value if limit is None else value[:limit]


@dataclass(frozen=True)
class Choice:
    """A button. `id` is short and stable (it travels in callback data); `label` is shown."""

    id: str
    label: str


@dataclass(frozen=True)
class CardRow:
    """One line of a card: a label, a value, and optionally a 0..1 bar."""

    label: str
    value: str
    bar: float | None = None


@dataclass(frozen=True)
class Card:
    """Structured content (results, progress) that rich platforms draw as a
    card; `Reply.text` always carries the same information as plain text."""

    title: str
    rows: tuple[CardRow, ...] = ()
    footer: str = ""


@dataclass(frozen=True)
class Render:
    """A picture or document to draw at delivery, off the turn and off the event loop.

    `kind` names a renderer in `documents.render`, `spec` is its keyword
    arguments as plain data (every text already in the reader's language), and
    `as_document` says whether it is sent as a file rather than shown as a picture.
    If it cannot be drawn, a picture is left out (the text carries the same
    information) and a document's reply says `failed_text` instead.
    """

    kind: str
    spec: dict[str, Any]
    as_document: bool = False
    failed_text: str | None = None


@dataclass(frozen=True)
class Reply:
    """One outgoing message.

    `text` is always set (it is the fallback for images, documents and cards).
    `choices` belong to the question numbered `question_seq`; the renderer puts
    both into the button payload so a tap on an old button can be recognised.
    `essential` is False for messages that may be deferred (e.g. nudges when
    the push quota runs low). `render` describes a chart or document that
    delivery draws into `image_png` or `document` before the channel sees the
    reply; channels only ever see the drawn bytes. `menu` is set on the reply
    after which the person's chat should show another menu (a `Menu.key`).
    """

    text: str
    choices: tuple[Choice, ...] = ()
    question_seq: int | None = None
    card: Card | None = None
    image_png: bytes | None = None
    document: bytes | None = None
    document_name: str | None = None
    essential: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    render: Render | None = None
    menu: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict for the outbox (bytes as base64)."""
        data: dict[str, Any] = {"text": self.text}
        if self.choices:
            data["choices"] = [[c.id, c.label] for c in self.choices]
        if self.question_seq is not None:
            data["question_seq"] = self.question_seq
        if self.card is not None:
            data["card"] = {
                "title": self.card.title,
                "rows": [[r.label, r.value, r.bar] for r in self.card.rows],
                "footer": self.card.footer,
            }
        if self.image_png is not None:
            data["image_png"] = base64.b64encode(self.image_png).decode("ascii")
        if self.document is not None:
            data["document"] = base64.b64encode(self.document).decode("ascii")
            data["document_name"] = self.document_name or "document"
        if not self.essential:
            data["essential"] = False
        if self.extra:
            data["extra"] = self.extra
        if self.render is not None:
            data["render"] = {
                "kind": self.render.kind,
                "spec": self.render.spec,
                "as_document": self.render.as_document,
                "failed_text": self.render.failed_text,
            }
            if self.document_name:
                data["document_name"] = self.document_name
        if self.menu is not None:
            data["menu"] = self.menu
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reply:
        card = None
        if "card" in data:
            raw = data["card"]
            card = Card(
                title=raw["title"],
                rows=tuple(CardRow(label, value, bar) for label, value, bar in raw["rows"]),
                footer=raw.get("footer", ""),
            )
        render = None
        if "render" in data:
            raw = data["render"]
            render = Render(
                raw["kind"], raw["spec"], bool(raw.get("as_document")), raw.get("failed_text")
            )
        return cls(
            text=data["text"],
            choices=tuple(Choice(cid, label) for cid, label in data.get("choices", [])),
            question_seq=data.get("question_seq"),
            card=card,
            image_png=base64.b64decode(data["image_png"]) if "image_png" in data else None,
            document=base64.b64decode(data["document"]) if "document" in data else None,
            document_name=data.get("document_name"),
            essential=data.get("essential", True),
            extra=data.get("extra", {}),
            render=render,
            menu=data.get("menu"),
        )


MENU_STAGES = ("know", "grow", "review")  # steps 1-2, 3-5, and 6 with what follows
NO_MENU = "none"  # `Reply.menu` of a farewell: the chat goes back to what a stranger sees
ADMIN_ROLES = ("member", "head")


@dataclass(frozen=True)
class Menu:
    """The menu under a person's chat: their part of the journey (`stage`), the
    working group's commands when they hold a seat in it (`admin`: its role), the
    language, and whether the question at hand is a self-assessment (a channel
    that has the one-screen page may offer it from the menu). A channel draws it
    as it can (LINE: a rich menu; Telegram: the command list and menu button)."""

    stage: str
    lang: str
    admin: str = ""
    assessing: bool = False

    @property
    def key(self) -> str:
        """A short stable text, e.g. `th:grow`, `en:know:head:assess` (stored and compared)."""
        parts = [self.lang, self.stage]
        if self.admin:
            parts.append(self.admin)
        if self.assessing:
            parts.append("assess")
        return ":".join(parts)

    @classmethod
    def parse(cls, key: str | None) -> Menu | None:
        """The menu behind `key`; None for anything else (an older or broken key)."""
        if not isinstance(key, str):
            return None
        lang, _, rest = key.partition(":")
        parts = rest.split(":")
        if lang not in ("th", "en") or not parts or parts[0] not in MENU_STAGES:
            return None
        stage, flags = parts[0], parts[1:]
        admin = next((flag for flag in flags if flag in ADMIN_ROLES), "")
        if any(flag not in (*ADMIN_ROLES, "assess") for flag in flags):
            return None
        return cls(stage, lang, admin, "assess" in flags)
