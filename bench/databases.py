"""A scratch PostgreSQL database for one benchmark run: made on the given server,
dropped afterwards even when the run fails, so nothing has to be prepared by hand
and no other database (`test`, `bench`, anyone's data) is touched."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import make_engine

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def scratch_url(server_url: str, prefix: str) -> str:
    """The URL of this run's database `<prefix>_<pid>` on `server_url`'s server."""
    name = f"{prefix}_{os.getpid()}"
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def _admin(server_url: str, statement: str) -> None:
    """Run `statement` on the server's `postgres` database, outside a transaction."""
    maintenance = make_url(server_url).set(database="postgres")
    engine = make_engine(maintenance.render_as_string(False), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def create_scratch(server_url: str, prefix: str) -> str | None:
    """A new, empty database for this run; its URL, or None (and one line saying why)
    when the server cannot be reached."""
    url = scratch_url(server_url, prefix)
    name = make_url(url).database
    try:
        await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}"')
        await _admin(server_url, f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001 - any failure to connect: one line, go on
        server = make_url(server_url)
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        print(
            f"PostgreSQL at {server.host or 'localhost'}:{server.port or 5432} unreachable, "
            f"PostgreSQL runs skipped: {reason}",
            flush=True,
        )
        return None
    return url


async def drop_scratch(url: str) -> None:
    """Drop this run's database (FORCE ends connections an interrupted run left);
    a failure is reported, never raised over the run's own error."""
    name = make_url(url).database
    try:
        await _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except Exception as exc:  # noqa: BLE001
        print(f"could not drop the benchmark database {name}: {exc}", file=sys.stderr, flush=True)


@contextmanager
def postgres_database(server_url: str, prefix: str) -> Iterator[str | None]:
    """`create_scratch` and `drop_scratch` around a block (for synchronous runners)."""
    url = asyncio.run(create_scratch(server_url, prefix))
    try:
        yield url
    finally:
        if url is not None:
            asyncio.run(drop_scratch(url))
