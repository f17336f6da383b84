"""Erasure that erases: after /deleteme, a dump of every table (documents decoded)
holds none of the person's identifiers or texts, and a newcomer inherits nothing.

The person goes through the whole journey with texts of their own, talks to the
working group (an idea, an answer to feedback, a tip), the head of the working
group reads and exports about them (with names), the weekly post quotes their
tip, they ask for /mydata and guess at invite codes, and a message to them is
still waiting when they erase. Files go through the LINE channel's publishing
(the media table), as on LINE.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

from sqlalchemy import select
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (every table in the metadata)
from bot.channels.base import MediaStore, OutboundMessage, Progress, no_progress
from bot.channels.line import media as line_media
from storage.accounts import account_hash
from storage.models import AuditLog, Award, ConsentRefusal, InviteCode, Media, WorkingGroupChat
from tests.drivers.chat import Person, RecordingChannel, make_app, t
from tests.drivers.journey import onboard, read_step1, step2, whole_journey
from tests.drivers.working_group import (
    audit_rows,
    in_group,
    inbox,
    invite,
    make_admin,
    numbers,
    outbox_rows,
    person_id,
)

NAME = "วรรณวิสาข์ ทดลองลบ"
USER = "Uerase0d1e2a3d4b5e6e7f8a9b0c1d2e3f4"  # a LINE user id (private chat: the chat id too)
GROUP = "Cerasegroup00000000000000000000001"
REASON = "อยากทำรายงานกองคลังวิสาข์ให้เร็วขึ้น"
PLAN = "เมื่อเปิดเครื่องแปดโมง ฉันจะฝึกสูตรตารางของกองคลังวิสาข์"
LEARN_WHAT = "คอร์สสไตล์เอกสารกองคลังวิสาข์"
LEARNED = "ทำสารบัญอัตโนมัติในหนังสือกองคลังวิสาข์"
TASK = "รายงานงบประมาณกองคลังวิสาข์ไตรมาสสาม"
TOOL = "LibreOffice Writer ของวิสาข์"
REFLECTION = "ฝึกทุกเช้าแล้วงานกองคลังวิสาข์เร็วขึ้นมาก"
TIP = "ใช้สไตล์หัวเรื่องแล้วสารบัญกองคลังวิสาข์ทำเอง"
IDEA = "อยากให้มีห้องฝึก Excel ที่กองคลังวิสาข์ทุกวันศุกร์"
ANSWER = "ขอบคุณที่แนะนำ จะฝึกต่อที่กองคลังวิสาข์ทุกวัน"
TEXTS = [REASON, PLAN, LEARN_WHAT, LEARNED, TASK, TOOL, REFLECTION, TIP, IDEA, ANSWER]

PUBLIC_URL = "https://bot.example.go.th"
SECRET = "line-test-channel-secret"
FRIDAY_AFTERNOON = datetime(2026, 11, 27, 8, 30, tzinfo=UTC)  # 15:30 in Bangkok


class PublishingChannel(RecordingChannel):
    """A recording channel that publishes each row's charts and documents the way the
    LINE channel does (into the media table), so the dump sees what LINE would."""

    def __init__(self, store: MediaStore) -> None:
        super().__init__()
        self.store = store

    async def send(self, message: OutboundMessage, progress: Progress = no_progress) -> None:
        await line_media.publish(self.store, PUBLIC_URL, SECRET, message)
        await super().send(message, progress)


# ---- the dump ---------------------------------------------------------------------------------

_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]{16,}")


def _from_bytes(data: bytes) -> Iterator[str]:
    """Every text a stored file holds: an XLSX (zip of XML) read cell by cell, JSON and
    CSV parsed, anything else as UTF-8."""
    buffer = io.BytesIO(data)
    if zipfile.is_zipfile(buffer):
        with zipfile.ZipFile(buffer) as archive:
            for member in archive.namelist():
                raw = archive.read(member)
                yield raw.decode("utf-8", "replace")
                if member.endswith(".xml"):
                    yield "\n".join(ElementTree.fromstring(raw).itertext())
        return
    text = data.decode("utf-8-sig", "replace")
    yield text
    if data.startswith((b"\x89PNG", b"%PDF")):
        return  # pictures and PDFs: their text is drawn, not stored as text
    with contextlib.suppress(ValueError):
        yield from _texts(json.loads(text))
    try:
        for row in csv.reader(io.StringIO(text, newline="")):
            yield from row
    except csv.Error:
        pass


def _texts(value: Any) -> Iterator[str]:
    """A stored value as every text it holds, documents and JSON decoded."""
    if value is None:
        return
    if isinstance(value, bytes | bytearray | memoryview):
        yield from _from_bytes(bytes(value))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _texts(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _texts(item)
    elif isinstance(value, str):
        yield value
        if value[:1] in "[{":
            with contextlib.suppress(ValueError):
                yield from _texts(json.loads(value))
        if _BASE64.fullmatch(value):
            with contextlib.suppress(binascii.Error, ValueError):
                yield from _from_bytes(base64.b64decode(value, validate=False))
    else:
        yield str(value)


async def dump(app) -> list[tuple[str, str, dict[str, Any]]]:  # noqa: ANN001
    """(table, column, row) for every value of every table."""
    found = []
    async with app.sessions() as session:
        for table in SQLModel.metadata.sorted_tables:
            for row in (await session.exec(select(table))).all():
                mapping = dict(row._mapping)
                for column, value in mapping.items():
                    found.append((table.name, column, {"value": value, "row": mapping}))
    return found


def traces(rows, needles: list[str]) -> list[tuple[str, str, str]]:  # noqa: ANN001
    """(table, column, needle) wherever a needle appears in a dumped value."""
    wanted = [n.casefold() for n in needles]
    hits = set()
    for table, column, item in rows:
        for text in _texts(item["value"]):
            folded = text.casefold()
            for needle, original in zip(wanted, needles, strict=True):
                if needle in folded:
                    hits.add((table, column, original))
    return sorted(hits)


# ---- the journey, with texts of their own -------------------------------------------------------


async def walk_the_journey(person: Person) -> None:
    await read_step1(person)  # step 1
    await person.say(REASON)
    await step2(person)
    await person.tap("k:word")  # step 3
    await person.tap("k:media")
    await person.tap("done")
    for _ in range(2):
        await person.tap(2)
        await person.tap("d:3m")
        await person.tap("a:onthejob")
    await person.say(PLAN)
    await person.tap("log")  # step 4
    await person.tap("k:word")
    await person.say(LEARN_WHAT)
    await person.tap("o:30")
    await person.say(LEARNED)
    await person.tap("next")
    await person.tap("log")  # step 5
    await person.tap("k:word")
    await person.say(TASK)
    await person.say(TOOL)
    await person.tap("o:faster")
    await person.tap("next")
    await person.tap("start")  # step 6
    for level in (3, 3, 3, 3, 4, 3, 3, 2, 2):
        await person.tap(f"lv:{level}")
    await person.tap("next")
    await person.say(REFLECTION)
    await person.say(TIP)


async def test_nothing_of_an_erased_person_is_left_anywhere(database_url, clock):
    app = await make_app(database_url, clock, dlcoach_public_url=PUBLIC_URL)
    channel = PublishingChannel(app.media)
    app.add_channel(channel)

    head = await make_admin(app, channel, "head")
    await in_group(app, channel, head.user, "/bindgroup", group=GROUP)
    await in_group(app, channel, head.user, "/notify on", group=GROUP)

    person = Person(app, channel, user=USER, display_name=NAME)
    await person.say("สวัสดี")  # before consent: the notice goes to their chat
    await person.tap("consent:n:th")  # a refusal first (kept as a hash) ...
    await onboard(person, name=NAME)  # ... then they agree after all
    erased_id = await person_id(app, person)
    [number] = await numbers(app, [erased_id])
    await walk_the_journey(person)
    await person.say(f"/idea {IDEA}")

    # The working group reads about them, writes to them, exports them with names.
    await head.say(f"/feedback #{number} บันทึกดีมาก ทำต่อไป")
    await inbox(person)
    await person.say(f"/reply {ANSWER}")
    await inbox(head)
    for command in ("/ideas", "/exemplary", f"/person {number}", "/summary", "/export names"):
        await head.say(command)
        if command == "/summary":  # figures only: nothing of them to redact
            [summary] = (await outbox_rows(app))[-1:]
    exported = [r for r in head.replies if r.document_name and r.document_name.endswith(".xlsx")]
    assert exported and exported[-1].document, "the head received the workbook"
    async with app.sessions() as session:
        published = (await session.exec(select(Media.filename))).scalars().all()
    assert any(name.endswith(".xlsx") for name in published)

    # The weekly post quotes their tip; they ask for their data and guess at codes.
    clock.set(FRIDAY_AFTERNOON)
    assert await app.weekly.post_due() == 1
    await app.delivery.drain()
    await person.say("/mydata")
    assert "dlcoach-mydata.json" in [
        name for name in (await _media_names(app)) if name.endswith(".json")
    ]
    for _ in range(5):
        await person.say("/admin WRONG-CODE1")

    # /deleteme; while they confirm, the head writes to them once more.
    await person.say("/deleteme")
    await head.say(f"/feedback #{number} ยังรออยู่นะ")
    before = len(channel.sent)
    replies = await person.tap("erase:yes")
    assert replies[-1].text == t(app, "privacy.erased")
    assert NAME not in replies[-1].text
    await app.delivery.drain()
    after = [m for m in channel.sent[before:] if m.chat_id == USER]
    assert [r.text for m in after for r in m.replies] == [t(app, "privacy.erased")]

    rows = await dump(app)
    left = traces(rows, [NAME, USER, *TEXTS])
    assert left == [], "\n".join(map(str, left))
    audit = await audit_rows(app)
    assert [a.id for a in audit if erased_id in (a.actor_person_id, a.subject_person_id)] == []
    listed = [a for a in audit if isinstance(a.detail.get("people"), list)]
    assert listed, "the head's lists are audited with the people in them"
    assert [a.action for a in listed if erased_id in a.detail["people"]] == []
    assert [a.action for a in audit if a.detail.get("number") == number] == []
    assert [a.action for a in audit if a.action == "privacy.erased"] == ["privacy.erased"]
    [kept] = [row for row in await outbox_rows(app) if row.id == summary.id]
    assert kept.payload == summary.payload and kept.chat_id == head.user
    plain = [
        (table, column)
        for table, column, item in rows
        if SQLModel.metadata.tables[table].c[column].info.get("plain_person_id")
        and item["value"] == erased_id
    ]
    assert plain == []  # audit actors and subjects, invites, group bindings, awards
    async with app.sessions() as session:
        refusals = (await session.exec(select(ConsentRefusal.account_hash))).scalars().all()
    assert account_hash("test", USER) not in refusals

    # A newcomer gets a new id and nothing of the erased person's.
    clock.advance(minutes=1)
    joined = clock.now()
    newcomer = Person(app, channel)
    await onboard(newcomer, name="ผู้มาใหม่ หลังการลบ")
    new_id = await person_id(app, newcomer)
    assert new_id > erased_id
    theirs = [
        a.action
        for a in await audit_rows(app)
        if new_id in (a.actor_person_id, a.subject_person_id) and a.at < joined
    ]
    assert theirs == []
    replies = await newcomer.say("/admin WRONG-CODE1")  # their own count starts at zero
    assert replies[0].text == t(app, "admin.invite_invalid")
    async with app.sessions() as session:
        newest = (
            await session.exec(select(AuditLog).order_by(AuditLog.id.desc()).limit(1))
        ).scalar_one()
    assert newest.action == "admin.invite_failed" and newest.actor_person_id == new_id
    await app.close()


async def test_an_erased_admin_leaves_the_records_of_their_acts_without_them(database_url, clock):
    app = await make_app(database_url, clock, dlcoach_public_url=PUBLIC_URL)
    channel = PublishingChannel(app.media)
    app.add_channel(channel)
    staff = Person(app, channel)
    await whole_journey(staff)
    head_name, head_user = "หัวหน้าสุดท้าย ทดลองลบ", "Uheaderase00000000000000000000001"
    head = Person(app, channel, user=head_user)
    await onboard(head, name=head_name)
    await head.say(f"/admin {await invite(app, 'head')}")
    head_id = await person_id(app, head)
    await in_group(app, channel, head.user, "/bindgroup", group=GROUP)
    [listing] = await head.say("/exemplary")
    await head.tap_stale(listing, 1)
    await head.tap("aw:give")
    await inbox(staff)
    await head.say("/deleteme")
    await head.tap("erase:yes")
    await app.delivery.drain()

    rows = await dump(app)
    left = traces(rows, [head_name, head_user])
    assert left == [], "\n".join(map(str, left))
    async with app.sessions() as session:
        [used] = (await session.exec(select(InviteCode))).scalars().all()
        [bound] = (await session.exec(select(WorkingGroupChat))).scalars().all()
        [award] = (await session.exec(select(Award))).scalars().all()
    # the records of what they did stay, without them
    assert used.used_at is not None and used.used_by is None
    assert bound.chat_id == GROUP and bound.bound_by is None
    assert award.person_id == await person_id(app, staff) and award.given_by is None
    audit = await audit_rows(app)
    assert {"admin.bindgroup", "admin.award", "admin.invite_redeemed"} <= {a.action for a in audit}
    assert [a.action for a in audit if head_id in (a.actor_person_id, a.subject_person_id)] == []
    await app.close()


async def _media_names(app) -> list[str]:  # noqa: ANN001
    async with app.sessions() as session:
        return list((await session.exec(select(Media.filename))).scalars().all())
