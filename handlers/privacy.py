"""PDPA rights in chat: /mydata sends a machine-readable copy of everything
stored about the person; /deleteme erases it after a confirmation.

Both work on the table metadata (every column that references a person), so
tables added later are covered without touching this module. A row whose
reference to the person may be empty (a line of the agency's staff list) is
the agency's: erasure empties the reference and keeps the row. Copies the
metadata cannot see (messages to and about the person, published files, the
audit log, plain ids) are found by `storage.erasure`. The audit log keeps that
things happened, when and in which agency, not who or what.

The goodbye after an erasure is the one message that still goes to the
person's chat. It says nothing about them, and is marked as the farewell
(`extra`), so that once it is finished the database forgets where it went and
what it said (a trigger on the outbox, migration 0009_erasure).
"""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import delete, select, update
from sqlmodel import SQLModel

from content.loader import Content
from handlers.context import Answer, Ctx
from handlers.conversation import BACK, END, REASK, Next
from handlers.errors import Reprompt
from handlers.messages import NO_MENU, Choice, Reply
from storage import audit, erasure, facts
from storage.models import Agency, Person

EXPORT_NAME = "dlcoach-mydata.json"
FAREWELL = "farewell"  # Reply.extra key of the goodbye sent after an erasure
# Columns that keep a sign-in working (the dashboard's sessions): left out of a
# person's copy of their data, which is a file that travels.
SECRETS = frozenset({"token_hash", "form_token"})


def _person_columns():  # noqa: ANN202
    """(table, column) pairs whose foreign key points at person.id."""
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            if any(fk.column.table.name == "person" for fk in column.foreign_keys):
                yield table, column


def _children_of(table_name: str):  # noqa: ANN202
    """(table, column) pairs whose foreign key points at `table_name`.id."""
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            if any(fk.column.table.name == table_name for fk in column.foreign_keys):
                yield table, column


_OWN_WORDS: dict[int, tuple[Content, frozenset[str]]] = {}


def _own_words(content: Content) -> frozenset[str]:
    """Every text and id of the bot's content, casefolded: an answer equal to one
    (a tapped example) is not the person's own words, so erasure does not look
    for it in other people's messages."""
    cached = _OWN_WORDS.get(id(content))
    if cached is None or cached[0] is not content:
        words: set[str] = set()

        def walk(value: Any) -> None:
            if isinstance(value, str):
                words.add(value.strip().casefold())
            elif isinstance(value, dict):
                for item in value.values():
                    walk(item)
            elif isinstance(value, list | tuple):
                for item in value:
                    walk(item)

        for part in (content.steps, content.skills_file, content.groups, *content.resources):
            walk(part.model_dump())
        for text in content.messages.values():
            walk(text.model_dump())
        cached = _OWN_WORDS[id(content)] = (content, frozenset(words))
    return cached[1]


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


async def collect(ctx: Ctx, person_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every row that belongs to the person, grouped by table, plus their rows' children."""
    data: dict[str, list[dict[str, Any]]] = {}
    person = await ctx.session.exec(select(Person.__table__).where(Person.id == person_id))
    data["person"] = [{k: _jsonable(v) for k, v in row._mapping.items()} for row in person]
    for table, column in _person_columns():
        if table.name == "outboxmessage":
            continue  # delivery bookkeeping, not data about the person
        result = await ctx.session.exec(select(table).where(column == person_id))
        rows = [
            {k: _jsonable(v) for k, v in row._mapping.items() if k not in SECRETS} for row in result
        ]
        if rows:
            data.setdefault(table.name, []).extend(rows)
            ids = [r["id"] for r in rows if "id" in r]
            for child, child_column in _children_of(table.name):
                if child.name == "outboxmessage" or not ids:
                    continue
                found = await ctx.session.exec(select(child).where(child_column.in_(ids)))
                child_rows = [{k: _jsonable(v) for k, v in r._mapping.items()} for r in found]
                if child_rows:
                    data.setdefault(child.name, []).extend(child_rows)
    return data


async def cmd_mydata(ctx: Ctx, argument: str) -> Next:
    """/mydata: a JSON copy of everything stored about the person, sent at once."""
    assert ctx.person is not None
    data = await collect(ctx, ctx.person.id)
    payload = json.dumps(
        {"exported_at": ctx.now.isoformat(), "data": data}, ensure_ascii=False, indent=2
    ).encode("utf-8")
    ctx.audit("privacy.export", subject=ctx.person.id, tables=sorted(data))
    ctx.send_document(ctx.t("privacy.export_ready"), payload, EXPORT_NAME)
    return REASK


async def cmd_deleteme(ctx: Ctx, argument: str) -> Next:
    """/deleteme: ask for confirmation before erasing."""
    return "privacy.confirm"


async def ask_confirm(ctx: Ctx) -> None:
    """Explain what erasing means and ask for a clear yes."""
    ctx.ask(
        ctx.t("privacy.confirm_delete"),
        [
            Choice("erase:yes", ctx.t("privacy.erase_yes")),
            Choice("erase:no", ctx.t("privacy.erase_no")),
        ],
    )


async def answer_confirm(ctx: Ctx, answer: Answer) -> Next:
    if answer.choice == "erase:no":
        ctx.say(ctx.t("privacy.kept"))
        return BACK
    if answer.choice != "erase:yes":
        raise Reprompt("common.pick_one")
    await erase(ctx)
    # The platform forgets the person's own menu too (their chat shows the default).
    ctx.replies.append(Reply(text=ctx.t("privacy.erased"), extra={FAREWELL: True}, menu=NO_MENU))
    return END  # there is no one left to ask anything


async def erase(ctx: Ctx) -> None:
    """Delete every row that references the person, children first, then the person;
    forget the copies of them elsewhere (see `storage.erasure`)."""
    assert ctx.person is not None and ctx.conv is not None
    person_id = ctx.person.id
    agency = await ctx.session.get(Agency, ctx.person.agency_id) if ctx.person.agency_id else None
    found = await erasure.traces(
        ctx.session,
        person_id,
        names=[ctx.incoming.display_name],  # their name on the platform
        ignore=_own_words(ctx.content),
    )
    # Messages to the person are dropped, except this last answer (written later).
    forgotten = await erasure.forget_messages(ctx.session, found)
    await erasure.forget_in_audit(ctx.session, found, keep_keys_after=ctx.now - audit.GUESS_WINDOW)
    await facts.forget(ctx.session, person_id)  # out of the summaries' sums first
    pairs = list(_person_columns())
    for table, column in reversed(pairs):
        if column.nullable:
            # A row that only points at the person (a line of the agency's staff
            # list) is the agency's, not the person's: unlinked, not deleted.
            await ctx.session.exec(
                update(table).where(column == person_id).values({column.name: None})
            )
            continue
        ids = []
        if "id" in table.columns:
            ids = [
                r[0] for r in await ctx.session.exec(select(table.c.id).where(column == person_id))
            ]
        for child, child_column in _children_of(table.name):
            if ids and child.name != "outboxmessage":
                await ctx.session.exec(delete(child).where(child_column.in_(ids)))
        await ctx.session.exec(delete(table).where(column == person_id))
    await ctx.session.exec(delete(Person.__table__).where(Person.id == person_id))
    await erasure.forget_plain_ids(ctx.session, person_id)
    await erasure.forget_refusals(ctx.session, found)
    ctx.session.expunge_all()  # forget the deleted objects held in memory
    ctx.person = ctx.account = ctx.conv = None
    ctx.audit(
        "privacy.erased",
        agency=agency.code if agency else None,
        messages_deleted=forgotten.messages_deleted,
        messages_redacted=forgotten.messages_redacted,
        files_deleted=forgotten.files_deleted,
    )
