"""LINE rendering without a network: limits, Thai-safe cutting, cards and choices.

Every rendered batch is checked twice: by the fake Messaging API's validator
(LINE's documented limits) and by building the SDK's own message models.
"""

from __future__ import annotations

import pytest
from linebot.v3.messaging import Message as SdkMessage
from linebot.v3.messaging import PushMessageRequest, ReplyMessageRequest

from bot.channels.line.api import message_bodies
from bot.channels.line.render import (
    MAX_BUBBLE_TEXT,
    MAX_BUTTON_LABEL,
    MAX_MESSAGES,
    MAX_QUICK_REPLY_LABEL,
    MediaLinks,
    batches,
    decode_postback,
    encode_postback,
    render,
    split_text,
)
from bot.channels.text import graphemes, truncate, utf16_len
from content.loader import load_content
from handlers.messages import Card, CardRow, Choice, Reply
from tests.fakes.line_api import validate_messages

CONTENT = load_content()


def t(key: str, **values: object) -> str:
    return CONTENT.t(key, "th", **values)


def check(messages: list[dict]) -> None:
    """Acceptable to LINE (per batch) and to the SDK's models."""
    for batch in batches(messages):
        assert validate_messages(batch) == []
        for item in batch:
            SdkMessage.from_dict(item)


# ---------------------------------------------------------------- text units


def test_graphemes_keep_thai_marks_with_their_consonant():
    # "ที่" is one syllable: consonant, upper vowel, tone mark.
    assert graphemes("\u0e17\u0e35\u0e48\u0e19") == ["\u0e17\u0e35\u0e48", "\u0e19"]
    # a preposed vowel stays with the consonant after it
    assert graphemes("\u0e40\u0e23") == ["\u0e40\u0e23"]
    # SARA AM belongs to the syllable before it
    assert graphemes("\u0e17\u0e33") == ["\u0e17\u0e33"]
    # emoji with variation selector, ZWJ family, a flag
    assert len(graphemes("\u270f\ufe0f")) == 1
    assert len(graphemes("\U0001f468\u200d\U0001f469\u200d\U0001f467")) == 1
    assert len(graphemes("\U0001f1f9\U0001f1ed\U0001f1ef\U0001f1f5")) == 2


def test_truncate_counts_utf16_and_never_splits_a_cluster():
    label = "ผู้เชี่ยวชาญเทคโนโลยีดิจิทัล"
    short = truncate(label, MAX_QUICK_REPLY_LABEL)
    assert utf16_len(short) <= MAX_QUICK_REPLY_LABEL and short.endswith("\u2026")
    kept = short[:-1]
    assert label.startswith(kept)
    assert graphemes(label)[: len(graphemes(kept))] == graphemes(kept)
    assert truncate("สั้น", 20) == "สั้น"
    emoji = "\U0001f600" * 15  # 30 UTF-16 units
    assert utf16_len(truncate(emoji, 20)) <= 20


def test_split_text_prefers_line_breaks_and_never_cuts_a_word():
    paragraph = "ทดสอบการตัดข้อความภาษาไทยที่ไม่มีช่องว่าง" * 20  # no spaces at all
    text = "\n".join([paragraph] * 10)
    pieces = split_text(text, 5000)
    assert all(utf16_len(p) <= 5000 for p in pieces)
    assert "".join(p.replace("\n", "") for p in pieces) == text.replace("\n", "")
    assert all(p.endswith(paragraph[-5:]) for p in pieces)  # cut at line ends

    one_line = "ก่" * 3000  # one 6,000-unit line: cut at a grapheme boundary
    pieces = split_text(one_line, 5000)
    assert [utf16_len(p) for p in pieces] == [5000, 1000]
    assert all(p.startswith("ก่") for p in pieces)

    words = "word " * 1500
    assert all(not p.endswith("wor") for p in split_text(words, 5000))


def test_postback_data_round_trips():
    data = encode_postback("consent:y:th", 12)
    assert data == "q=12&c=consent:y:th"
    assert decode_postback(data).choice == "consent:y:th"
    assert decode_postback(data).question_seq == 12
    menu = decode_postback(encode_postback("go:continue", None))
    assert (menu.choice, menu.question_seq) == ("go:continue", None)
    foreign = decode_postback("action=buyItem&itemId=123123&color=red")
    assert foreign.choice is None


# -------------------------------------------------------------------- replies


def test_question_gets_quick_replies_on_the_last_message():
    replies = [
        Reply(text="สวัสดี"),
        Reply(
            text="เลือกกลุ่ม",
            choices=(Choice("g:g5", "ผู้เชี่ยวชาญเทคโนโลยีดิจิทัล"), Choice("g:g1", "ผู้บริหาร")),
            question_seq=7,
        ),
    ]
    messages = render(replies, t)
    check(messages)
    assert [m["type"] for m in messages] == ["text", "flex"]
    items = messages[-1]["quickReply"]["items"]
    action = items[0]["action"]
    assert action["data"] == "q=7&c=g:g5"
    assert action["displayText"] == "ผู้เชี่ยวชาญเทคโนโลยีดิจิทัล"
    assert utf16_len(action["label"]) <= MAX_QUICK_REPLY_LABEL
    assert "quickReply" not in messages[0]


def test_more_than_13_choices_become_a_carousel_of_buttons():
    choices = tuple(Choice(f"ag:{i}", f"หน่วยงานทดลองที่ {i} กระทรวงตัวอย่าง") for i in range(30))
    messages = render([Reply(text="หน่วยงานของท่าน", choices=choices, question_seq=3)], t)
    check(messages)
    assert [m["type"] for m in messages] == ["text", "flex"]
    carousel = messages[1]["contents"]
    assert carousel["type"] == "carousel"
    buttons = [b for bubble in carousel["contents"] for b in bubble["body"]["contents"]]
    assert [decode_postback(b["action"]["data"]).choice for b in buttons] == [c.id for c in choices]
    assert "quickReply" not in messages[-1]


def test_card_is_a_flex_bubble_with_bars_and_the_text_as_alt_text():
    card = Card(
        title="ผลการประเมินตนเอง",
        rows=(CardRow("การใช้งานคอมพิวเตอร์", "2 พอใช้", 0.4), CardRow("ว่าง", "", 0.0)),
        footer="ค่าเฉลี่ย 2.0/5",
    )
    messages = render([Reply(text="ผลการประเมิน (ข้อความ)", card=card)], t)
    check(messages)
    [flex] = messages
    assert flex["type"] == "flex" and flex["altText"] == "ผลการประเมิน (ข้อความ)"
    first_row = flex["contents"]["body"]["contents"][0]
    bar = first_row["contents"][1]
    assert bar["contents"][0]["width"] == "40%"


def test_images_and_documents_need_a_public_link():
    replies = [
        Reply(text="แผนภาพ", image_png=b"\x89PNG..."),
        Reply(text="เกียรติบัตร", document=b"%PDF", document_name="certificate.pdf"),
    ]
    without = render(replies, t)
    check(without)
    assert [m["type"] for m in without] == ["text", "text"]
    assert "certificate.pdf" in without[1]["text"]

    links = MediaLinks(
        images={0: "https://bot.example.go.th/media/a/image.png"},
        previews={},
        documents={1: "https://bot.example.go.th/media/b/certificate.pdf"},
    )
    with_links = render(replies, t, links)
    check(with_links)
    assert [m["type"] for m in with_links] == ["text", "image", "text"]
    assert with_links[1]["originalContentUrl"].startswith("https://")
    assert "https://bot.example.go.th/media/b/certificate.pdf" in with_links[2]["text"]


def test_many_short_texts_are_merged_to_fit_one_request():
    replies = [Reply(text=f"ข้อความที่ {i}") for i in range(9)]
    messages = render(replies, t)
    check(messages)
    assert len(messages) <= MAX_MESSAGES
    joined = "\n\n".join(m["text"] for m in messages)
    assert all(f"ข้อความที่ {i}" in joined for i in range(9))


def test_what_cannot_be_merged_is_split_into_batches():
    card = Card(title="การ์ด", rows=(CardRow("a", "b", 0.5),))
    replies = [Reply(text=f"การ์ด {i}", card=card) for i in range(7)]
    messages = render(replies, t)
    check(messages)
    assert [len(b) for b in batches(messages)] == [5, 2]


@pytest.mark.parametrize("count", [13, 14])
def test_quick_reply_limit_boundary(count):
    choices = tuple(Choice(f"c{i}", f"ตัวเลือก {i}") for i in range(count))
    messages = render([Reply(text="เลือก", choices=choices, question_seq=1)], t)
    check(messages)
    has_quick = "quickReply" in messages[-1]
    assert has_quick is (count <= 13)


# ------------------------------------------------------- buttons for LINE for PC


def flex_buttons(message: dict) -> list[dict]:
    """Every button component in a Flex message, in order."""
    found: list[dict] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "button":
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.get("contents"))
    return found


def test_choices_are_also_flex_buttons_with_the_quick_reply_data():
    long_label = "การใช้งานเครื่องมือดิจิทัลเพื่อการทำงานร่วมกันออนไลน์อย่างปลอดภัย"
    choices = (Choice("sk:s1", "คอมพิวเตอร์"), Choice("sk:s7", long_label), Choice("go:menu", "<b>"))
    question = "เลือกทักษะ <b>ที่สนใจ</b>"
    [flex] = render([Reply(text=question, choices=choices, question_seq=42)], t)
    check([flex])
    assert flex["type"] == "flex" and flex["altText"] == question
    body = flex["contents"]["body"]["contents"]
    assert body[0] == {"type": "text", "text": question, "wrap": True}  # plain, wrapped
    buttons = flex_buttons(flex)
    quick = [item["action"] for item in flex["quickReply"]["items"]]
    assert len(buttons) == len(choices) == len(quick)
    for button, action, choice in zip(buttons, quick, choices, strict=True):
        assert button["action"]["type"] == "postback"
        assert button["action"]["data"] == action["data"] == encode_postback(choice.id, 42)
        assert button["action"]["displayText"] == choice.label
        assert utf16_len(button["action"]["label"]) <= MAX_BUTTON_LABEL
    assert buttons[1]["action"]["label"].endswith("\u2026")
    assert len(buttons[1]["action"]["label"]) > MAX_QUICK_REPLY_LABEL  # room a quick reply lacks


def test_thirteen_choices_fit_one_bubble_all_reachable():
    choices = tuple(Choice(f"sk:s{i}", f"ทักษะดิจิทัลที่ {i}") for i in range(1, 10))
    choices += tuple(Choice(f"go:{k}", k) for k in ("back", "menu", "help", "skip"))
    [flex] = render([Reply(text="เลือก", choices=choices, question_seq=1)], t)
    check([flex])
    assert flex["contents"]["type"] == "bubble"
    ids = [decode_postback(b["action"]["data"]).choice for b in flex_buttons(flex)]
    assert ids == [c.id for c in choices]
    assert len(flex["quickReply"]["items"]) == 13


def test_a_turn_that_says_several_things_and_asks_fits_five_messages():
    card = Card(title="ผล", rows=(CardRow("a", "1", 0.2),))
    replies = [Reply(text=f"ข้อความที่ {i}") for i in range(6)]
    replies += [Reply(text="การ์ด", card=card), Reply(text="แผนภาพ", image_png=b"\x89PNG")]
    replies.append(
        Reply(text="ทำต่อไหม", choices=(Choice("y", "ทำต่อ"), Choice("n", "พัก")), question_seq=5)
    )
    links = MediaLinks(
        images={7: "https://bot.example.go.th/media/a/i.png"}, previews={}, documents={}
    )
    messages = render(replies, t, links)
    check(messages)
    assert len(messages) == MAX_MESSAGES and len(batches(messages)) == 1
    assert [m["type"] for m in messages] == ["text", "flex", "text", "image", "flex"]
    joined = "\n\n".join(m.get("text", "") for m in messages)
    assert all(f"ข้อความที่ {i}" in joined for i in range(6))
    last = messages[-1]
    assert last["altText"] == "ทำต่อไหม" and "quickReply" in last
    assert [b["action"]["data"] for b in flex_buttons(last)] == ["q=5&c=y", "q=5&c=n"]


def test_a_long_question_stays_text_and_the_buttons_follow():
    question = "ก" * (MAX_BUBBLE_TEXT + 1)
    choices = (Choice("y", "ใช่"),)
    messages = render([Reply(text=question, choices=choices, question_seq=2)], t)
    check(messages)
    assert [m["type"] for m in messages] == ["text", "flex"]
    assert messages[0]["text"] == question
    body = messages[1]["contents"]["body"]["contents"]
    assert [c["type"] for c in body] == ["box"]  # buttons only, not the text twice
    assert utf16_len(messages[1]["altText"]) <= 1500
    assert "quickReply" in messages[1]


def test_a_card_that_asks_keeps_its_card_and_gets_buttons():
    card = Card(title="ความคืบหน้า", rows=(CardRow("ขั้น 1", "เสร็จ", 1.0),))
    reply = Reply(text="ความคืบหน้า", card=card, choices=(Choice("go", "ทำต่อ"),), question_seq=3)
    messages = render([reply], t)
    check(messages)
    assert [m["type"] for m in messages] == ["flex", "flex"]
    assert "header" in messages[0]["contents"]
    assert [b["action"]["data"] for b in flex_buttons(messages[1])] == ["q=3&c=go"]


def test_message_bodies_are_checked_once_and_read_as_the_sdk_writes_them() -> None:
    """A message sent to many people is checked against the SDK's model once and
    shared; what is sent is what the SDK's own request would have carried."""
    step = {
        "type": "text",
        "text": "ขั้นที่ 1 🌱",
        "quickReply": {
            "items": [
                {"type": "action", "action": {"type": "postback", "label": "ต่อไป", "data": "next"}}
            ]
        },
    }
    other = {**step, "text": "ขั้นที่ 2"}
    first, second, different = message_bodies([step, dict(step), other])
    assert first is second
    assert different is not first
    assert first == SdkMessage.from_dict(step).to_dict()
    assert different["text"] == "ขั้นที่ 2"
    reply = {"replyToken": "t", "messages": [first], "notificationDisabled": False}
    sdk = ReplyMessageRequest(reply_token="t", messages=[SdkMessage.from_dict(step)])
    assert reply == sdk.to_dict()
    push = {"to": "U1", "messages": [first], "notificationDisabled": False}
    assert push == PushMessageRequest(to="U1", messages=[SdkMessage.from_dict(step)]).to_dict()


def test_a_message_the_sdk_refuses_is_never_sent() -> None:
    with pytest.raises(ValueError):
        message_bodies([{"type": "text"}])  # no text
