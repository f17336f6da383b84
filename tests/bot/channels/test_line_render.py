"""LINE rendering without a network: limits, Thai-safe cutting, cards and choices.

Every rendered batch is checked twice: by the fake Messaging API's validator
(LINE's documented limits) and by building the SDK's own message models.
"""

from __future__ import annotations

import pytest
from linebot.v3.messaging import Message as SdkMessage

from bot.channels.line.render import (
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
