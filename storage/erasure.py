"""Forgetting a person wherever a copy of them is (PDPA erasure).

`handlers.privacy` deletes the person's own rows through the table metadata
(every row with a foreign key to them). This module finds the copies the
metadata cannot see:

- messages to the person's chats, whatever their status and whether or not
  they were written before consent (matched by account and by chat id), are
  deleted with the files published for them;
- messages to anyone else (an admin, a group chat) that quote the person
  (their name, a platform id, their staff code or a text of theirs, also
  inside a document: XLSX, CSV, JSON, a report still to be drawn) are
  redacted: the payload is emptied and one still waiting is dropped; their
  files go too, and so does any other published document that quotes them;
- audit rows keep what happened, when and in which agency, and lose the
  person: their id (actor, subject, lists of people), their number, the ids
  of their ideas and feedback, and their account's one-way key (kept on the
  wrong-code rows of the last hour only, so that erasing is no way around the
  guess limits); nudges of other people lose the id of the admin who sent them;
- every column marked `plain_person_id` (a person's id kept without a foreign
  key) is emptied, and their refusals of the privacy notice are deleted.

Needles shorter than MIN_ID (names, ids, codes) or MIN_TEXT (free texts)
characters are not searched for: they would match unrelated messages and
identify no one. Pictures and PDFs are not searched (their text is drawn);
the only ones that name a person go to that person's own chat.
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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.etree import ElementTree

from sqlalchemy import and_, delete, or_, select, update
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.accounts import DROPPED, account_hash
from storage.models import (
    AuditLog,
    ChannelAccount,
    ConsentRefusal,
    Feedback,
    Idea,
    Media,
    Nudge,
    OutboxMessage,
    Person,
    StaffMember,
    StepEntry,
)
from storage.outbox import SENT
from storage.timeutil import as_utc

MIN_ID = 3  # names, platform ids, staff codes
MIN_TEXT = 6  # what the person wrote
BATCH = 200  # outbox rows and files read at a time
ERASED = "erased"  # last_error of a message dropped because it quoted an erased person


@dataclass(frozen=True)
class Traces:
    """What identifies one person, found before their rows are deleted."""

    person_id: int
    since: datetime  # their consent: nothing quoted them before it
    number: int | None  # their number in the agency
    account_ids: tuple[int, ...]
    chats: tuple[tuple[str, str], ...]  # (channel, chat id), private chat ids included
    account_keys: tuple[str, ...]  # one-way keys of their accounts (see account_hash)
    idea_ids: frozenset[int]
    feedback_ids: frozenset[int]
    needles: tuple[str, ...]  # casefolded
    pattern: re.Pattern[str] | None  # any of the needles (see `_pattern`)

    def quoted_in(self, texts: Iterable[str]) -> bool:
        """Whether any of `texts` contains one of the person's identifiers or texts."""
        if self.pattern is None:
            return False
        return any(self.pattern.search(text.casefold()) for text in texts)


def _pattern(needles: Iterable[str]) -> re.Pattern[str] | None:
    """One search for all needles. Latin letters and digits must stand alone (a name
    "tom" is not in "tomorrow", an id 1234 not in 912345); Thai is written without
    spaces, so any other needle is found anywhere."""
    parts = []
    for needle in sorted(needles, key=len, reverse=True):
        part = re.escape(needle)
        if needle[:1].isascii() and needle[:1].isalnum():
            part = rf"(?<![a-z0-9]){part}"
        if needle[-1:].isascii() and needle[-1:].isalnum():
            part = rf"{part}(?![a-z0-9])"
        parts.append(part)
    return re.compile("|".join(parts)) if parts else None


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


async def traces(
    session: AsyncSession,
    person_id: int,
    *,
    names: Iterable[str | None] = (),
    ignore: frozenset[str] = frozenset(),
) -> Traces:
    """Collect the person's identifiers and texts (call before deleting anything).

    `names`: more names of theirs (e.g. their name on the platform). `ignore`: the
    bot's own texts (casefolded), e.g. the label of an example answer the person
    tapped, which is stored as their answer but says nothing about them."""
    person = await session.get(Person, person_id)
    assert person is not None
    accounts = list(
        (
            await session.exec(select(ChannelAccount).where(ChannelAccount.person_id == person_id))
        ).scalars()
    )
    ids = [person.display_name or "", *(name or "" for name in names)]
    chats: set[tuple[str, str]] = set()
    for account in accounts:
        ids += [account.external_id, account.chat_id]
        chats |= {(account.channel, account.chat_id), (account.channel, account.external_id)}
    ids += (
        await session.exec(select(StaffMember.staff_code).where(StaffMember.person_id == person_id))
    ).scalars()
    texts: list[str] = []
    for entry in (
        await session.exec(select(StepEntry).where(StepEntry.person_id == person_id))
    ).scalars():
        texts += [entry.text, *_strings(entry.data)]
    ideas = list((await session.exec(select(Idea).where(Idea.person_id == person_id))).scalars())
    texts += [idea.text for idea in ideas]
    feedback = list(
        (
            await session.exec(
                select(Feedback).where(
                    or_(Feedback.from_person_id == person_id, Feedback.to_person_id == person_id)
                )
            )
        ).scalars()
    )
    texts += [note.text for note in feedback]
    needles = {i.strip().casefold() for i in ids if i and len(i.strip()) >= MIN_ID}
    needles |= {t.strip().casefold() for t in texts if t and len(t.strip()) >= MIN_TEXT}
    needles -= ignore
    return Traces(
        person_id=person_id,
        since=min(
            as_utc(t)
            for t in [person.created_at, person.consent_at, *(a.created_at for a in accounts)]
        ),
        number=person.agency_number,
        account_ids=tuple(a.id for a in accounts if a.id is not None),
        chats=tuple(sorted(chats)),
        account_keys=tuple(sorted({account_hash(a.channel, a.external_id) for a in accounts})),
        idea_ids=frozenset(i.id for i in ideas if i.id is not None),
        feedback_ids=frozenset(f.id for f in feedback if f.id is not None),
        needles=tuple(sorted(needles)),
        pattern=_pattern(needles),
    )


# ---- what stored documents say --------------------------------------------------------------


def document_texts(data: bytes) -> Iterator[str]:
    """The texts a stored document holds: an XLSX (or any zip of XML) cell by cell,
    JSON and CSV parsed, other text as it is. Pictures and PDFs hold none we can read."""
    if data.startswith((b"\x89PNG", b"%PDF", b"\xff\xd8")):
        return
    buffer = io.BytesIO(data)
    if zipfile.is_zipfile(buffer):
        with zipfile.ZipFile(buffer) as archive:
            for member in archive.namelist():
                raw = archive.read(member)
                try:
                    yield from ElementTree.fromstring(raw).itertext()
                except ElementTree.ParseError:
                    yield raw.decode("utf-8", "replace")
        return
    text = data.decode("utf-8-sig", "replace")
    yield text
    with contextlib.suppress(ValueError):
        yield from _strings(json.loads(text))
    try:
        for row in csv.reader(io.StringIO(text, newline="")):
            yield from row
    except csv.Error:
        pass


def payload_texts(payload: Any) -> Iterator[str]:
    """The texts of an outbox payload (replies as JSON): every string, documents
    decoded from base64, reports still to be drawn read from their description."""
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key == "image_png":
                continue
            if key == "document" and isinstance(value, str):
                try:
                    yield from document_texts(base64.b64decode(value))
                except (binascii.Error, ValueError):
                    yield value
                continue
            yield from payload_texts(value)
    elif isinstance(payload, list | tuple):
        for item in payload:
            yield from payload_texts(item)
    elif isinstance(payload, str):
        yield payload


# ---- messages and files ------------------------------------------------------------------------


@dataclass(frozen=True)
class Forgotten:
    """How many messages and files an erasure took away (for its audit row)."""

    messages_deleted: int
    messages_redacted: int
    files_deleted: int


def _to_person(found: Traces):  # noqa: ANN202
    chats = [
        and_(OutboxMessage.channel == channel, OutboxMessage.chat_id == chat)
        for channel, chat in found.chats
    ]
    accounts = [OutboxMessage.account_id.in_(found.account_ids)] if found.account_ids else []  # type: ignore[union-attr]
    return or_(*chats, *accounts) if chats or accounts else None


async def forget_messages(session: AsyncSession, found: Traces) -> Forgotten:
    """Delete the messages to the person's chats and redact those to others that
    quote them, with their files; delete any other published document quoting them."""
    deleted = files = 0
    mine = _to_person(found)
    if mine is not None:
        own = select(OutboxMessage.id).where(mine)
        files += (await session.exec(delete(Media).where(Media.outbox_id.in_(own)))).rowcount or 0  # type: ignore[union-attr]
        deleted = (await session.exec(delete(OutboxMessage).where(mine))).rowcount or 0
    redacted: list[int] = []
    after = 0
    while True:
        page = (
            await session.exec(
                select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.payload)
                .where(OutboxMessage.created_at >= found.since, OutboxMessage.id > after)
                .order_by(OutboxMessage.id)
                .limit(BATCH)
            )
        ).all()
        if not page:
            break
        after = page[-1][0]
        for row_id, status, payload in page:
            if payload and found.quoted_in(payload_texts(payload)):
                await _redact(session, row_id, status)
                redacted.append(row_id)
    for start in range(0, len(redacted), BATCH):
        chunk = redacted[start : start + BATCH]
        result = await session.exec(delete(Media).where(Media.outbox_id.in_(chunk)))  # type: ignore[union-attr]
        files += result.rowcount or 0
    files += await _forget_documents(session, found)
    return Forgotten(deleted, len(redacted), files)


async def _redact(session: AsyncSession, row_id: int, status: str) -> None:
    values: dict[str, Any] = {
        "payload": [],
        "reply_token": None,
        "reply_token_expires_at": None,
    }
    if status != SENT:
        # Not to be sent any more, and a sender holding it can no longer record it
        # (its updates are bound to its claim).
        values.update(status=DROPPED, last_error=ERASED, claimed_by=None, claimed_until=None)
    await session.exec(update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values))


async def _forget_documents(session: AsyncSession, found: Traces) -> int:
    """Delete published documents (not pictures) that quote the person."""
    quoting: list[str] = []
    after = ""
    while True:
        page = (
            await session.exec(
                select(Media.id, Media.content)
                .where(
                    Media.created_at >= found.since,
                    ~Media.content_type.startswith("image/"),  # type: ignore[attr-defined]
                    Media.id > after,
                )
                .order_by(Media.id)
                .limit(BATCH)
            )
        ).all()
        if not page:
            break
        after = page[-1][0]
        quoting += [
            i for i, content in page if content and found.quoted_in(document_texts(content))
        ]
    if quoting:
        await session.exec(delete(Media).where(Media.id.in_(quoting)))  # type: ignore[attr-defined]
    return len(quoting)


# ---- the audit trail and plain ids ---------------------------------------------------------


async def forget_in_audit(session: AsyncSession, found: Traces, keep_keys_after: datetime) -> int:
    """Take the person out of the audit rows' details (see the module docstring);
    `keep_keys_after`: account keys of rows from then on stay (the guess limits
    read them). Returns how many rows changed. Run before `forget_plain_ids`,
    which empties the rows' actor and subject."""
    keys = list(found.account_keys)
    detail = AuditLog.detail
    listing = or_(
        *(detail[key].as_string().is_not(None) for key in ("people", "ideas", "feedback"))
    )
    about = [
        AuditLog.actor_person_id == found.person_id,
        AuditLog.subject_person_id == found.person_id,
        and_(AuditLog.at >= found.since, listing),
    ]
    if keys:
        about += [
            detail["account"].as_string().in_(keys),
            detail["account_hash"].as_string().in_(keys),
        ]
    query = select(AuditLog).where(or_(*about))
    changed = 0
    for row in (await session.exec(query.order_by(AuditLog.id))).scalars():
        kept = _without_person(row, found, keep_keys_after)
        if kept != row.detail:
            await session.exec(update(AuditLog).where(AuditLog.id == row.id).values(detail=kept))
            changed += 1
    by = Nudge.detail["by"].as_integer() == found.person_id
    for nudge in (await session.exec(select(Nudge).where(by))).scalars():
        detail = dict(nudge.detail)
        detail["by"] = None
        await session.exec(update(Nudge).where(Nudge.id == nudge.id).values(detail=detail))
    return changed


def _without_person(row: AuditLog, found: Traces, keep_keys_after: datetime) -> dict[str, Any]:
    detail = dict(row.detail)
    mine = found.person_id in (row.subject_person_id, row.actor_person_id)
    if mine and "number" in detail and detail["number"] == found.number:
        detail.pop("number")
    if isinstance(detail.get("people"), list):
        detail["people"] = [p for p in detail["people"] if p != found.person_id]
    if isinstance(detail.get("ideas"), list):
        detail["ideas"] = [i for i in detail["ideas"] if i not in found.idea_ids]
    if detail.get("feedback") in found.feedback_ids:
        detail.pop("feedback")
    if detail.get("account_hash") in found.account_keys:
        detail.pop("account_hash")
    recent = as_utc(row.at) >= as_utc(keep_keys_after)
    if detail.get("account") in found.account_keys and not recent:
        detail.pop("account")
    return detail


def plain_id_columns():  # noqa: ANN201
    """(table, column) pairs marked as a person's id kept without a foreign key."""
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            if column.info.get("plain_person_id"):
                yield table, column


async def forget_plain_ids(session: AsyncSession, person_id: int) -> None:
    """Empty every plain person-id column that holds `person_id` (audit actors and
    subjects, who redeemed an invite, bound a group chat, gave an award)."""
    for table, column in plain_id_columns():
        await session.exec(update(table).where(column == person_id).values({column.name: None}))


async def forget_refusals(session: AsyncSession, found: Traces) -> None:
    """Their earlier refusals of the privacy notice (kept as their accounts' keys)."""
    if found.account_keys:
        await session.exec(
            delete(ConsentRefusal).where(
                ConsentRefusal.account_hash.in_(list(found.account_keys))  # type: ignore[attr-defined]
            )
        )
