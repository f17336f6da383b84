"""Migrations: an empty database upgrades to the head, and the models match it."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from storage.db import make_engine
from storage.migrate import downgrade, upgrade


def _diff(connection):
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, SQLModel.metadata)


async def test_empty_database_upgrades_and_matches_the_models(database_url):
    engine = make_engine(database_url)
    await upgrade(engine)
    async with engine.connect() as connection:
        tables = set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
        diff = await connection.run_sync(_diff)
    await engine.dispose()
    assert set(SQLModel.metadata.tables) <= tables
    assert diff == [], f"models and migrations differ: {diff}"


async def test_downgrade_to_base_and_up_again(database_url):
    engine = make_engine(database_url)
    await upgrade(engine)
    await downgrade(engine, "base")
    async with engine.connect() as connection:
        left = set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
    assert left <= {"alembic_version"}
    await upgrade(engine)
    async with engine.connect() as connection:
        again = set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
    await engine.dispose()
    assert "person" in again and "outboxmessage" in again


async def test_upgrade_twice_is_harmless(sqlite_url):
    engine = make_engine(sqlite_url)
    await upgrade(engine)
    await upgrade(engine)
    async with engine.connect() as connection:
        diff = await connection.run_sync(_diff)
    await engine.dispose()
    assert diff == []


async def test_each_revision_upgrades_from_the_previous_one_with_data_kept(database_url):
    """Walk the chain one revision at a time; a person written at the first
    revision survives every later upgrade and every downgrade back to it."""
    from alembic.script import ScriptDirectory
    from sqlalchemy import text

    from storage.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1, "migrations must form one line"
    chain = [rev.revision for rev in script.walk_revisions("base", "heads")][::-1]
    engine = make_engine(database_url)
    await upgrade(engine, chain[0])
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO person (display_name, lang, timezone, consent_version, consent_at,"
                " last_active_at, created_at) VALUES ('kept', 'th', 'Asia/Bangkok', 'v',"
                " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
    for revision in chain[1:]:
        await upgrade(engine, revision)
    for revision in reversed(chain[:-1]):
        await downgrade(engine, revision)
    async with engine.connect() as connection:
        names = (await connection.execute(text("SELECT display_name FROM person"))).all()
    await engine.dispose()
    assert names == [("kept",)]
