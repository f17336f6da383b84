"""PDPA rights: a machine-readable copy, and erasure that leaves nothing behind."""

from __future__ import annotations

import json

from sqlalchemy import func, select
from sqlmodel import SQLModel

from storage.models import AuditLog
from storage.models import Person as PersonRow
from tests.drivers.chat import Person, RecordingChannel, make_app, t
from tests.drivers.journey import onboard, step1, step2, step3, step4


async def count_rows_of(app, person_id: int) -> dict[str, int]:
    """Rows in every table with a foreign key to person, for this person."""
    counts = {}
    async with app.sessions() as session:
        for table in SQLModel.metadata.sorted_tables:
            for column in table.columns:
                if any(fk.column.table.name == "person" for fk in column.foreign_keys):
                    n = (
                        await session.exec(
                            select(func.count()).select_from(table).where(column == person_id)
                        )
                    ).one()[0]
                    if n:
                        counts[table.name] = n
    return counts


async def test_mydata_sends_everything_as_json(app, channel):
    person = Person(app, channel)
    await onboard(person, name="ข้อมูล ของฉัน")
    for walk in (step1, step2, step3, step4):
        await walk(person)
    replies = await person.say("/mydata")
    export = next(r for r in replies if r.document)
    assert export.document_name == "dlcoach-mydata.json"
    data = json.loads(export.document)["data"]
    assert data["person"][0]["display_name"] == "ข้อมูล ของฉัน"
    assert len(data["assessmentanswer"]) == 9
    assert {e["kind"] for e in data["stepentry"]} == {"reason", "plan", "learning"}
    assert data["goal"] and data["channelaccount"] and data["reminderpreference"]
    async with app.sessions() as session:
        audit = (await session.exec(select(AuditLog.action))).all()
    assert ("privacy.export",) in audit


async def test_deleteme_erases_after_confirmation(database_url, clock):
    app = await make_app(database_url, clock)
    channel = RecordingChannel()
    app.add_channel(channel)
    keeper, leaver = Person(app, channel), Person(app, channel)
    for who in (keeper, leaver):
        await onboard(who)
        for walk in (step1, step2, step3, step4):
            await walk(who)
    async with app.sessions() as session:
        ids = [
            p.id for p in (await session.exec(select(PersonRow).order_by(PersonRow.id))).scalars()
        ]
    keeper_id, leaver_id = ids
    replies = await leaver.say("/deleteme")
    assert [c.id for c in replies[-1].choices] == ["erase:yes", "erase:no"]
    replies = await leaver.tap("erase:no")
    assert replies[0].text == t(app, "privacy.kept")
    assert await count_rows_of(app, leaver_id)
    await leaver.say("/deleteme")
    replies = await leaver.tap("erase:yes")
    assert replies[-1].text == t(app, "privacy.erased")
    assert await count_rows_of(app, leaver_id) == {}
    async with app.sessions() as session:
        assert await session.get(PersonRow, leaver_id) is None
        erased = (
            (await session.exec(select(AuditLog).where(AuditLog.action == "privacy.erased")))
            .scalars()
            .all()
        )
    # what happened, when and in which agency; not who
    assert [(a.actor_person_id, a.subject_person_id) for a in erased] == [(None, None)]
    assert erased[0].detail["agency"] == "DEMO"
    kept = await count_rows_of(app, keeper_id)
    assert kept["assessmentanswer" if "assessmentanswer" in kept else "assessment"] >= 1
    # writing again starts from the privacy notice: nothing of them is left
    replies = await leaver.say("สวัสดี")
    assert replies[-1].choices[0].id == "consent:y:th"
    await app.close()
