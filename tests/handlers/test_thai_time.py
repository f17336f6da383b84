"""Times as Thai people type them: the Thai clock (บ่ายสอง, สองทุ่ม, ตีห้า, เที่ยงคืน ...)
with number words or digits, beside the digit forms (07:30, 7.30, 19:00 น.); at the
onboarding reminder question, in the reminder settings and after /remind."""

from __future__ import annotations

from datetime import time
from types import SimpleNamespace

import pytest
from sqlmodel import select

from content.loader import load_content
from handlers.common import clock_words
from handlers.typed import parse_time
from storage.models import ReminderPreference
from tests.drivers.chat import Person, t
from tests.drivers.journey import onboard

CLOCK = clock_words(SimpleNamespace(content=load_content()))  # only the content is read


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("บ่ายสอง", time(14, 0)),
        ("บ่ายสามครึ่ง", time(15, 30)),
        ("สองทุ่ม", time(20, 0)),
        ("สามทุ่มครึ่ง", time(21, 30)),
        ("เจ็ดโมงเช้า", time(7, 0)),
        ("7 โมง", time(7, 0)),
        ("เที่ยง", time(12, 0)),
        ("เที่ยงคืน", time(0, 0)),
        ("ตีห้า", time(5, 0)),
        ("หกโมงเย็น", time(18, 0)),
        ("บ่าย 3 โมง", time(15, 0)),
        ("บ่ายโมง", time(13, 0)),
        ("ทุ่ม", time(19, 0)),
        ("ห้าทุ่ม", time(23, 0)),
        ("สิบเอ็ดโมง", time(11, 0)),
        ("สิบสองโมง", time(12, 0)),
        ("ห้าโมงเช้า", time(11, 0)),  # the older count from seven in the morning
        ("เที่ยงครึ่ง", time(12, 30)),
        ("เที่ยงวัน", time(12, 0)),
        ("สองทุ่ม 15 นาที", time(20, 15)),
        ("ตอนสองทุ่มตรง", time(20, 0)),
        ("๒ ทุ่ม", time(20, 0)),
        ("บ่าย ๓ โมง", time(15, 0)),
        ("19 นาฬิกา", time(19, 0)),
        ("19 น.", time(19, 0)),
        # the digit forms, as before
        ("07:30", time(7, 30)),
        ("7.30", time(7, 30)),
        ("19:00 น.", time(19, 0)),
        ("๗:๓๐", time(7, 30)),
        # not a time, or not one we can tell
        ("ห้าโมง", None),  # eleven in the morning or five in the evening
        ("ตีหก", None),
        ("สิบทุ่ม", None),
        ("บ่ายหก", None),
        ("25 น.", None),
        ("25:99", None),
        ("สองทุ่ม 75 นาที", None),
        ("พรุ่งนี้", None),
        ("", None),
    ],
)
def test_thai_clock(typed, expected):
    assert parse_time(typed, CLOCK) == expected


def test_without_the_clock_words_only_digits_are_a_time():
    assert parse_time("สองทุ่ม") is None
    assert parse_time("20:00") == time(20, 0)


async def reminder(app) -> ReminderPreference:  # noqa: ANN001
    async with app.sessions() as session:
        return (await session.exec(select(ReminderPreference))).one()


async def test_thai_time_at_the_onboarding_reminder_question(app, channel):
    person = Person(app, channel)
    await person.follow()
    await person.tap(1)  # accept
    await person.say("สมชาย ใจดี")
    await person.tap(1)  # demo agency
    await person.tap(1)  # first unit
    await person.tap("g:g3")
    replies = await person.say("สองทุ่ม")
    assert t(app, "onboard.remind_set", time="20:00") in [r.text for r in replies]
    stored = await reminder(app)
    assert stored.enabled and stored.time_local == time(20, 0)


async def test_thai_time_in_the_reminder_settings(app, channel):
    person = Person(app, channel)
    await onboard(person)
    await person.say("/remind")
    await person.tap("r:time")
    await person.say("บ่ายสามครึ่ง")
    assert (await reminder(app)).time_local == time(15, 30)
    await person.say("/remind ตีห้า")
    assert (await reminder(app)).time_local == time(5, 0)
