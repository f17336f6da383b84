"""Alembic, driven from code: `dlcoach db upgrade` and the first-run upgrade."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    """A config that needs no alembic.ini on disk (works from an installed package)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def upgrade(engine: AsyncEngine, revision: str = "heads") -> None:
    """Bring the database up to `revision` (every head by default)."""

    def run(connection) -> None:  # noqa: ANN001
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Step the database back to `revision` (used by migration tests)."""

    def run(connection) -> None:  # noqa: ANN001
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


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
