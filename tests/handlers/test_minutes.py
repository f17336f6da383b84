"""How long a learning activity took, as people type it: hours and minutes in Thai
or English, halves, Thai digits; nothing silently misread, nothing zero or negative."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from content.loader import load_content
from handlers.typed import MINUTES_PER_DAY, parse_minutes
from storage.models import StepEntry
from tests.drivers.chat import Person, t
from tests.drivers.journey import onboard, step1, step2, step3
from tests.handlers.test_journey import rows

CONTENT = load_content()


def words(key: str) -> set[str]:
    return {
        w.strip().casefold()
        for lang in ("th", "en")
        for w in CONTENT.t(key, lang).split(",")
        if w.strip()
    }


def minutes(text: str) -> int | None:
    return parse_minutes(
        text,
        hour_words=words("s4.hour_words"),
        minute_words=words("s4.minute_words"),
        half_words=words("s4.half_words"),
    )


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("45", 45),
        ("45 นาที", 45),
        ("1.5 ชั่วโมง", 90),  # digits alone read 15
        ("1 ชั่วโมง 30 นาที", 90),  # digits alone read 130
        ("1ชั่วโมง30นาที", 90),
        ("3 ชม.", 180),  # digits alone read 3
        ("3 ชม", 180),
        ("2 ชั่วโมงครึ่ง", 150),
        ("1 ชม. 15", 75),
        ("ประมาณ 40 นาที", 40),
        ("๔๕ นาที", 45),
        ("๑.๕ ชั่วโมง", 90),
        ("1.5 hours", 90),
        ("1 hour 20 min", 80),
        ("2 hours and a half", 150),
        ("24 ชั่วโมง", MINUTES_PER_DAY),
    ],
)
def test_durations_are_read_as_meant(typed, expected):
    assert minutes(typed) == expected


@pytest.mark.parametrize(
    "typed",
    ["0", "0 นาที", "-30", "-1 ชั่วโมง", "25 ชั่วโมง", "1.5 นาที", "30 วัน", "ครึ่งวัน", "", "นาน"],
)
def test_zero_negative_and_unreadable_durations_are_refused(typed):
    assert minutes(typed) is None


@given(st.integers(min_value=0, max_value=24), st.integers(min_value=0, max_value=59))
def test_hours_and_minutes_add_up(hours, extra):
    total = hours * 60 + extra
    expected = total if 0 < total <= MINUTES_PER_DAY else None
    assert minutes(f"{hours} ชั่วโมง {extra} นาที") == expected


async def test_a_learning_entry_stores_the_minutes_that_were_meant(app, channel):
    person = Person(app, channel)
    await onboard(person)
    for walk in (step1, step2, step3):
        await walk(person)
    await person.tap("log")
    await person.tap("k:word")
    await person.say("ฝึกทำสารบัญอัตโนมัติ")
    for refused in ("0", "-30 นาที"):
        replies = await person.say(refused)
        assert replies[0].text == t(app, "s4.minutes_invalid")
    await person.say("1 ชั่วโมง 30 นาที")
    await person.say("ทำสารบัญได้เอง")
    [learning] = await rows(app, StepEntry, StepEntry.kind == "learning")
    assert learning.data["minutes"] == 90
