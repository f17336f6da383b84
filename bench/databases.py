"""A scratch PostgreSQL database for one benchmark run: made on the given server,
dropped afterwards even when the run fails, so nothing has to be prepared by hand
and no other database is touched."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from storage.db import async_url


async def _admin(server_url: str, statement: str) -> None:
    engine = create_async_engine(async_url(server_url), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@contextmanager
def postgres_database(server_url: str, prefix: str) -> Iterator[str | None]:
    """The URL of a new, empty database `<prefix>_<pid>` on `server_url`'s server
    (None, with a one-line note, when that server cannot be reached)."""
    name = f"{prefix}_{os.getpid()}"
    maintenance = make_url(server_url).set(database="postgres").render_as_string(False)
    try:
        asyncio.run(_admin(maintenance, f'DROP DATABASE IF EXISTS "{name}"'))
        asyncio.run(_admin(maintenance, f'CREATE DATABASE "{name}"'))
    except (OSError, Exception) as exc:  # noqa: BLE001 - any failure means: no PostgreSQL
        print(f"PostgreSQL at {make_url(server_url).host} skipped: {exc.__class__.__name__}: {exc}")
        yield None
        return
    try:
        yield make_url(server_url).set(database=name).render_as_string(False)
    finally:
        asyncio.run(_admin(maintenance, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
