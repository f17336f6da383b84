"""Migration 0009_erasure: SQLite tables rebuilt with AUTOINCREMENT without losing a
row of the tables that refer to them, and the trigger that forgets a sent farewell."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import make_engine
from storage.migrate import upgrade
from storage.outbox import NewMessage, enqueue

BEFORE = "0008_working_group_loop"
REBUILT = ("person", "channelaccount", "journey", "outboxmessage", "idea", "feedback", "nudge")
NOW = "'2026-11-23 02:00:00'"

ROWS = [
    "INSERT INTO agency (code, name, timezone, nudge_on_weekends, nudge_on_holidays, open_join,"
    f" members_may_export, next_number, created_at) VALUES ('A', 'A', 'Asia/Bangkok', false,"
    f" false, false, false, 3, {NOW})",
    *(
        "INSERT INTO person (display_name, agency_id, lang, timezone, consent_version, consent_at,"
        f" last_active_at, created_at) VALUES ('{name}', 1, 'th', 'Asia/Bangkok', 'v', {NOW},"
        f" {NOW}, {NOW})"
        for name in ("one", "two")
    ),
    "INSERT INTO channelaccount (person_id, channel, external_id, chat_id, active, created_at)"
    f" VALUES (1, 'test', 'u1', 'u1', true, {NOW})",
    f"INSERT INTO adminrole (person_id, agency_id, role, granted_at) VALUES (1, 1, 'head', {NOW})",
    f"INSERT INTO idea (person_id, agency_id, kind, text, created_at) VALUES (2, 1, 'idea', 'x',"
    f" {NOW})",
    "INSERT INTO feedback (agency_id, from_person_id, to_person_id, text, created_at) VALUES"
    f" (1, 1, 2, 'y', {NOW})",
    "INSERT INTO journey (person_id, round_no, current_step, step_started_at, started_at)"
    f" VALUES (2, 1, 1, {NOW}, {NOW})",
    f"INSERT INTO journeystep (journey_id, person_id, step, entered_at) VALUES (1, 2, 1, {NOW})",
    "INSERT INTO outboxmessage (channel, chat_id, account_id, kind, payload, status, attempts,"
    f" next_attempt_at, created_at) VALUES ('test', 'u1', 1, 'reply', '[]', 'sent', 1, {NOW},"
    f" {NOW})",
]
COUNTED = (
    "person",
    "channelaccount",
    "adminrole",
    "idea",
    "feedback",
    "journeystep",
    "outboxmessage",
)


async def counts(connection) -> dict[str, int]:  # noqa: ANN001
    return {
        table: (await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
        for table in COUNTED
    }


async def test_the_rebuild_keeps_every_referring_row(database_url):
    engine = make_engine(database_url)
    await upgrade(engine, BEFORE)
    async with engine.begin() as connection:
        for statement in ROWS:
            await connection.execute(text(statement))
        before = await counts(connection)
    await upgrade(engine)
    async with engine.begin() as connection:
        assert await counts(connection) == before  # no cascade, no failed foreign key
        if engine.dialect.name == "sqlite":
            assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1
            for table in REBUILT:
                found = await connection.execute(
                    text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"),
                    {"t": table},
                )
                assert "AUTOINCREMENT" in found.scalar_one(), table
            # the last person's id is not handed out again once they are gone
            await connection.execute(text("DELETE FROM journeystep WHERE person_id = 2"))
            await connection.execute(text("DELETE FROM journey WHERE person_id = 2"))
            await connection.execute(text("DELETE FROM idea WHERE person_id = 2"))
            await connection.execute(text("DELETE FROM feedback WHERE to_person_id = 2"))
            await connection.execute(text("DELETE FROM person WHERE id = 2"))
            await connection.execute(text(ROWS[1]))
            newest = await connection.execute(text("SELECT max(id) FROM person"))
            assert newest.scalar_one() == 3
    await engine.dispose()


async def test_a_finished_farewell_forgets_its_chat_and_text(database_url):
    engine = make_engine(database_url)
    await upgrade(engine)
    now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    farewell = [{"text": "bye", "extra": {"farewell": True}}]
    async with AsyncSession(engine) as session, session.begin():
        ids = await enqueue(
            session,
            [
                NewMessage("test", "U-gone", None, "reply", farewell, reply_token="tok"),
                NewMessage("test", "U-gone", None, "reply", [{"text": "not a farewell"}]),
                NewMessage("test", "U-gone", None, "push", farewell),
            ],
            now,
        )
    query = text("SELECT chat_id, reply_token, payload FROM outboxmessage ORDER BY id")
    async with engine.begin() as connection:
        # claimed for sending: kept as it is, the channel needs it
        await connection.execute(text("UPDATE outboxmessage SET status = 'sending'"))
        sending = (await connection.execute(query)).all()
        await connection.execute(text("UPDATE outboxmessage SET status = 'sent'"))
        sent = (await connection.execute(query)).all()
    await engine.dispose()
    assert [(chat, token) for chat, token, _ in sending] == [
        ("U-gone", "tok"),
        ("U-gone", None),
        ("U-gone", None),
    ]
    texts = [p if isinstance(p, str) else json.dumps(p) for _, _, p in sent]
    assert [(chat, token) for chat, token, _ in sent] == [
        ("", None),  # the farewell forgot where it went and what it said
        ("U-gone", None),  # any other reply is kept for a while (retention)
        ("U-gone", None),  # a farewell's text elsewhere than a reply: not touched
    ]
    assert "bye" not in texts[0] and "not a farewell" in texts[1] and "bye" in texts[2]
    assert ids.keys() == {0, 1, 2}
