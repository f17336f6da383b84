"""Alembic, driven from code: `dlcoach db upgrade` and the first-run upgrade."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# The PostgreSQL advisory lock every instance takes before it migrates ("dlco"):
# instances started together (a rolling restart) migrate one after the other, and
# the ones that follow find the schema at head and do nothing.
MIGRATION_LOCK = 0x646C636F


def alembic_config() -> Config:
    """A config that needs no alembic.ini on disk (works from an installed package)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _sqlite_foreign_keys(connection: Connection, on: bool) -> None:
    """Switch SQLite's foreign keys on or off for this connection. Outside any
    transaction only (inside one SQLite ignores it), so on the driver's own
    connection, which runs in autocommit mode (see storage.db)."""
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    finally:
        cursor.close()


def _check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise RuntimeError(f"the migration left rows without their parent: {broken[:5]}")


async def _migrate(engine: AsyncEngine, step: Callable[[Connection], None]) -> None:
    """Run `step` in one transaction. On SQLite with foreign keys off: a migration
    that rebuilds a table (SQLite's only way to change most things) drops the old
    one, and with foreign keys on that drop would first delete its rows, cascading
    into (or failing on) every table that refers to it. They are checked before
    the commit instead, and switched on again after."""
    async with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            await connection.run_sync(_sqlite_foreign_keys, False)
        try:
            async with connection.begin():
                if connection.dialect.name == "postgresql":
                    # Held to the commit; the revision is read after it is granted.
                    await connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                    )
                await connection.run_sync(step)
                if sqlite:
                    await connection.run_sync(_check_foreign_keys)
        finally:
            if sqlite:
                await connection.run_sync(_sqlite_foreign_keys, True)


async def revisions(engine: AsyncEngine) -> tuple[set[str], set[str]]:
    """(the revisions the database is at, the heads this code knows): equal when
    migrated; a database revision the code does not know means it is newer."""
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    async with engine.connect() as connection:
        current = await connection.run_sync(_current)
    return current, heads


async def upgrade(engine: AsyncEngine, revision: str = "heads") -> None:
    """Bring the database up to `revision` (every head by default)."""

    def run(connection: Connection) -> None:
        before = _current(connection)
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        after = _current(connection)
        if after != before:
            log.info("migrated the database from %s to %s", _names(before), _names(after))
        else:
            log.info("the database schema is up to date (%s)", _names(after))

    await _migrate(engine, run)


def _current(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


def _names(revisions: set[str]) -> str:
    return ", ".join(sorted(revisions)) or "an empty database"


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Step the database back to `revision` (used by migration tests)."""

    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    await _migrate(engine, run)


async def autogenerate(engine: AsyncEngine, message: str, rev_id: str) -> None:
    """Write a new revision from the difference between the models and `engine`'s schema.

    For developers: `python -m storage.migrate "add x" 0002_add_x` against a
    scratch database that is at the current head.
    """

    def run(connection) -> None:  # noqa: ANN001
        config = alembic_config()
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True, rev_id=rev_id)

    async with engine.begin() as connection:
        await connection.run_sync(run)


if __name__ == "__main__":
    import asyncio
    import sys
    import tempfile

    from storage.db import make_engine

    async def _main(message: str, rev_id: str) -> None:
        with tempfile.TemporaryDirectory() as scratch:
            engine = make_engine(f"sqlite:///{scratch}/scratch.db")
            await upgrade(engine)
            await autogenerate(engine, message, rev_id)
            await engine.dispose()

    asyncio.run(_main(sys.argv[1], sys.argv[2]))
