"""Platform-neutral replies -> LINE message objects (JSON dicts, as the
Messaging API takes them).

Pure functions, no network and no database, so every LINE limit can be tested
on its own: at most 5 messages per request, 5,000 characters per text, 13
quick-reply items with labels of 20 characters, 300 characters of postback
data. Texts are cut and labels shortened by `bot.channels.text`, which never
splits a Thai cluster or an emoji.

Choices become quick replies on the last message and, because LINE for PC
shows no quick replies, also buttons in a Flex bubble whose body is the
question itself (so the buttons cost no extra message); more than 13 choices
become a Flex carousel of buttons only. Cards become Flex bubbles with the
reply text as `altText`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode

from bot.channels.text import ELLIPSIS, truncate, utf16_len
from bot.channels.text import split_text as _split
from handlers.messages import OPEN_PAGE, Card, Choice, Reply

MAX_MESSAGES = 5
MAX_TEXT = 5000
MAX_QUICK_REPLY_ITEMS = 13
MAX_QUICK_REPLY_LABEL = 20
MAX_BUTTON_LABEL = 40
MAX_ALT_TEXT = 1500
MAX_DISPLAY_TEXT = 300
MAX_POSTBACK_DATA = 300
BUTTONS_PER_BUBBLE = 8
MAX_BUBBLES = 12
# A question's text goes in its buttons' bubble up to this length; a longer one
# stays a text message (LINE caps a bubble's JSON at 30 KB, kept well clear of).
MAX_BUBBLE_TEXT = 2000
MAX_BUBBLE_BYTES = 30_000

ACCENT = "#06C755"  # LINE green: the colour people already read as "this app"
TRACK = "#E6E6E6"
MUTED = "#777777"

Message = dict[str, Any]
# The id a page-opening choice takes once its page is known: its button opens
# the address instead of posting back (see `with_pages`).
LINK = "uri:"
MAX_URI = 1000
Translate = Callable[..., str]  # t(key, **values) in the person's language


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """`text` as LINE text messages (see `bot.channels.text.split_text`)."""
    return _split(text, limit)


# ------------------------------------------------------------------ postback data


@dataclass(frozen=True)
class Postback:
    """What a tap sends back: the choice id, and the question it belonged to
    (absent for buttons that work from anywhere, such as the rich menu)."""

    choice: str | None
    question_seq: int | None = None


def encode_postback(choice_id: str, question_seq: int | None) -> str:
    """`q=<seq>&c=<id>` (or `c=<id>`): short, readable in logs, under 300 characters."""
    fields: dict[str, str] = {}
    if question_seq is not None:
        fields["q"] = str(question_seq)
    fields["c"] = choice_id
    data = urlencode(fields, safe=":/")
    if utf16_len(data) > MAX_POSTBACK_DATA:
        raise ValueError(f"choice id too long for LINE postback data: {choice_id[:40]}...")
    return data


def decode_postback(data: str) -> Postback:
    """The inverse of `encode_postback`; anything else has no choice."""
    fields = dict(parse_qsl(data, keep_blank_values=True))
    choice = fields.get("c") or None
    seq_text = fields.get("q", "")
    # ASCII digits only ("²" passes isdigit() and fails int()), and not thousands of them.
    readable = seq_text.isascii() and seq_text.isdigit() and len(seq_text) <= 18
    question_seq = int(seq_text) if readable else None
    return Postback(choice=choice, question_seq=question_seq)


# ---------------------------------------------------------------- message objects


def text_message(text: str) -> Message:
    return {"type": "text", "text": text}


def _postback_action(choice: Choice, question_seq: int | None, label_limit: int) -> Message:
    label = truncate(choice.label.strip() or choice.id, label_limit)
    if choice.id.startswith(LINK):  # a page to open (the LIFF app), not an answer
        return {"type": "uri", "label": label, "uri": choice.id.removeprefix(LINK)}
    return {
        "type": "postback",
        "label": label,
        "data": encode_postback(choice.id, question_seq),
        "displayText": truncate(choice.label.strip() or label, MAX_DISPLAY_TEXT),
    }


def quick_reply(choices: Sequence[Choice], question_seq: int | None) -> Message:
    """Up to 13 tappable bubbles above the keyboard; the full label is echoed on tap."""
    items = [
        {"type": "action", "action": _postback_action(c, question_seq, MAX_QUICK_REPLY_LABEL)}
        for c in choices[:MAX_QUICK_REPLY_ITEMS]
    ]
    return {"items": items}


def _choice_button(choice: Choice, question_seq: int | None) -> Message:
    """A Flex button that posts back exactly what the choice's quick reply posts."""
    return {
        "type": "button",
        "style": "secondary",
        "height": "sm",
        "adjustMode": "shrink-to-fit",
        "action": _postback_action(choice, question_seq, MAX_BUTTON_LABEL),
    }


def _question_bubble(text: str, choices: Sequence[Choice], question_seq: int | None) -> Message:
    """The question (wrapped plain text, never markup) above one button per choice."""
    buttons = [_choice_button(c, question_seq) for c in choices]
    contents: list[Message] = []
    if text:
        contents.append({"type": "text", "text": text, "wrap": True})
    contents.append({"type": "box", "layout": "vertical", "spacing": "sm", "contents": buttons})
    return {
        "type": "bubble",
        "body": {"type": "box", "layout": "vertical", "spacing": "md", "contents": contents},
    }


def _json_bytes(node: Message) -> int:
    """A container's size as LINE measures its limit (UTF-8 JSON)."""
    return len(json.dumps(node, ensure_ascii=False, separators=(",", ":")).encode())


def choices_bubble(reply: Reply, text: str) -> Message:
    """Up to 13 choices as buttons in one bubble under `text`, for LINE for PC
    (which shows no quick replies); `text` is also the notification's altText."""
    return {
        "type": "flex",
        "altText": truncate(text or reply.text or ELLIPSIS, MAX_ALT_TEXT),
        "contents": _question_bubble(text, reply.choices, reply.question_seq),
    }


def fits_bubble_limit(message: Message) -> bool:
    """Whether a Flex message's bubble is within LINE's 30 KB."""
    return _json_bytes(message["contents"]) <= MAX_BUBBLE_BYTES


def choices_carousel(reply: Reply, t: Translate) -> Message:
    """More choices than quick replies hold: pages of buttons side by side."""
    choices = list(reply.choices[: BUTTONS_PER_BUBBLE * MAX_BUBBLES])
    pages = [
        choices[i : i + BUTTONS_PER_BUBBLE] for i in range(0, len(choices), BUTTONS_PER_BUBBLE)
    ]
    bubbles = []
    for number, page in enumerate(pages, start=1):
        buttons = [_choice_button(c, reply.question_seq) for c in page]
        bubble: Message = {
            "type": "bubble",
            "size": "kilo",
            "body": {"type": "box", "layout": "vertical", "spacing": "sm", "contents": buttons},
        }
        if len(pages) > 1:
            title = t("line.choices_page", page=number, pages=len(pages))
            bubble["header"] = {
                "type": "box",
                "layout": "vertical",
                "contents": [{"type": "text", "text": title, "size": "xs", "color": MUTED}],
            }
        bubbles.append(bubble)
    return {
        "type": "flex",
        "altText": truncate(reply.text or ELLIPSIS, MAX_ALT_TEXT),
        "contents": {"type": "carousel", "contents": bubbles},
    }


def _bar(share: float) -> Message:
    """A thin progress bar: a grey track with a green fill of `share` (0..1)."""
    share = min(max(share, 0.0), 1.0)
    fill = []
    if share > 0:
        fill.append(
            {
                "type": "box",
                "layout": "vertical",
                "contents": [],
                "width": f"{max(round(share * 100), 1)}%",
                "height": "6px",
                "backgroundColor": ACCENT,
                "cornerRadius": "3px",
            }
        )
    return {
        "type": "box",
        "layout": "vertical",
        "contents": fill,
        "height": "6px",
        "backgroundColor": TRACK,
        "cornerRadius": "3px",
        "margin": "xs",
    }


def _card_row(label: str, value: str, bar: float | None) -> Message:
    line: list[Message] = [
        {"type": "text", "text": label or ELLIPSIS, "size": "sm", "wrap": True, "flex": 5}
    ]
    if value:
        line.append(
            {"type": "text", "text": value, "size": "sm", "align": "end", "wrap": True, "flex": 3}
        )
    contents: list[Message] = [{"type": "box", "layout": "horizontal", "contents": line}]
    if bar is not None:
        contents.append(_bar(bar))
    return {"type": "box", "layout": "vertical", "contents": contents}


def card_bubble(card: Card) -> Message:
    """A Flex bubble: the title, one row per item with an optional bar, the footer."""
    bubble: Message = {
        "type": "bubble",
        "size": "mega",
        "header": {
            "type": "box",
            "layout": "vertical",
            "contents": [
                {"type": "text", "text": card.title or ELLIPSIS, "weight": "bold", "wrap": True}
            ],
        },
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "md",
            "contents": [_card_row(r.label, r.value, r.bar) for r in card.rows]
            or [{"type": "text", "text": ELLIPSIS}],
        },
    }
    if card.footer:
        bubble["footer"] = {
            "type": "box",
            "layout": "vertical",
            "contents": [
                {"type": "text", "text": card.footer, "size": "xs", "color": MUTED, "wrap": True}
            ],
        }
    return bubble


def card_message(reply: Reply) -> Message:
    """The card as Flex; the reply's full text is what notifications and old clients show."""
    assert reply.card is not None
    return {
        "type": "flex",
        "altText": truncate(reply.text or reply.card.title or ELLIPSIS, MAX_ALT_TEXT),
        "contents": card_bubble(reply.card),
    }


def image_message(url: str) -> Message:
    return {"type": "image", "originalContentUrl": url, "previewImageUrl": url}


# ------------------------------------------------------------------------ replies


@dataclass(frozen=True)
class MediaLinks:
    """Where the channel published a reply's image or document (by reply index).

    An index without a link means there is no public address: the text goes alone.
    """

    images: dict[int, str]
    previews: dict[int, str]
    documents: dict[int, str]

    @classmethod
    def none(cls) -> MediaLinks:
        return cls({}, {}, {})


def _texts(text: str) -> list[Message]:
    return [text_message(piece) for piece in split_text(text)]


def _render_reply(index: int, reply: Reply, t: Translate, links: MediaLinks) -> list[Message]:
    if reply.card is not None:
        return [card_message(reply)]
    if reply.image_png is not None:
        messages = _texts(reply.text)
        if index in links.images:
            image = image_message(links.images[index])
            image["previewImageUrl"] = links.previews.get(index, links.images[index])
            messages.append(image)
        return messages
    if reply.document is not None:
        name = reply.document_name or "document"
        if index in links.documents:
            note = t("line.document_link", name=name, url=links.documents[index])
        else:
            note = t("line.document_unavailable", name=name)
        return _texts(f"{reply.text}\n\n{note}" if reply.text else note)
    return _texts(reply.text)


def _compact(messages: list[Message]) -> list[Message]:
    """Merge neighbouring plain texts (blank line between) until the batch fits
    in one request, so a long turn still arrives as one reply rather than a
    reply plus pushes."""
    merged = list(messages)
    i = 0
    while len(merged) > MAX_MESSAGES and i < len(merged) - 1:
        first, second = merged[i], merged[i + 1]
        plain = all(m.get("type") == "text" and set(m) == {"type", "text"} for m in (first, second))
        joined = f"{first.get('text', '')}\n\n{second.get('text', '')}"
        if plain and utf16_len(joined) <= MAX_TEXT:
            merged[i : i + 2] = [text_message(joined)]
        else:
            i += 1
    return merged


def _render_question(index: int, reply: Reply, t: Translate, links: MediaLinks) -> list[Message]:
    """The reply whose choices are offered: its messages, then the choices as
    Flex buttons, which work where quick replies do not show (LINE for PC).

    A plain question's (last) text becomes the bubble's body instead of a
    message of its own, so offering the buttons costs no extra message."""
    if len(reply.choices) > MAX_QUICK_REPLY_ITEMS:
        return [*_render_reply(index, reply, t, links), choices_carousel(reply, t)]
    plain = reply.card is None and reply.image_png is None and reply.document is None
    pieces = split_text(reply.text) if plain and reply.text else []
    if pieces and utf16_len(pieces[-1]) <= MAX_BUBBLE_TEXT:
        bubble = choices_bubble(reply, pieces[-1])
        if fits_bubble_limit(bubble):
            return [*(text_message(p) for p in pieces[:-1]), bubble]
    # Too long for the bubble (or not plain text): the reply as usual, buttons after it.
    return [*_render_reply(index, reply, t, links), choices_bubble(reply, "")]


def with_pages(reply: Reply, pages: Mapping[str, str]) -> Reply:
    """The reply with each page-opening choice whose page is in `pages` (choice id
    -> address) turned into a link button, and the others left out."""
    kept = []
    for choice in reply.choices:
        if not choice.id.startswith(OPEN_PAGE):
            kept.append(choice)
        elif choice.id in pages and len(pages[choice.id]) <= MAX_URI:
            kept.append(replace(choice, id=LINK + pages[choice.id]))
    return replace(reply, choices=tuple(kept))


def render(
    replies: Sequence[Reply],
    t: Translate,
    links: MediaLinks | None = None,
    pages: Mapping[str, str] | None = None,
) -> list[Message]:
    """All messages for one outbox row, in order, with the last question's choices
    as Flex buttons and as quick replies on the final message (LINE shows only
    the last one's). A page-opening choice opens its page from `pages` (the LIFF
    app) or is left out."""
    links = links or MediaLinks.none()
    replies = [with_pages(r, pages or {}) for r in replies]
    asked = [i for i, r in enumerate(replies) if r.choices]
    last_question = asked[-1] if asked else None
    messages: list[Message] = []
    for index, reply in enumerate(replies):
        if index == last_question:
            messages.extend(_render_question(index, reply, t, links))
        else:
            messages.extend(_render_reply(index, reply, t, links))
    if not messages:
        messages.append(text_message(ELLIPSIS))
    messages = _compact(messages)
    if last_question is not None:
        question = replies[last_question]
        if len(question.choices) <= MAX_QUICK_REPLY_ITEMS:
            messages[-1]["quickReply"] = quick_reply(question.choices, question.question_seq)
    return messages


def batches(messages: list[Message], size: int = MAX_MESSAGES) -> list[list[Message]]:
    """Requests of at most 5 messages each."""
    return [messages[i : i + size] for i in range(0, len(messages), size)]
