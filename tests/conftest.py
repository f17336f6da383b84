"""Shared fixtures: a scratch SQLite app per test, and PostgreSQL when available."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from content.loader import load_content
from handlers.clock import FakeClock
from storage.db import async_url
from tests.drivers.chat import POSTGRES_ENV, POSTGRES_URL, START, RecordingChannel, make_app

LONG_ENV = "DLCOACH_LONG_TESTS"


def pytest_collection_modifyitems(config, items) -> None:  # noqa: ANN001
    """Tests marked `long` (crash and outage runs) run only when DLCOACH_LONG_TESTS=1."""
    if os.environ.get(LONG_ENV) == "1":
        return
    skip = pytest.mark.skip(reason=f"a long run: set {LONG_ENV}=1 (.ci/run does)")
    for item in items:
        if "long" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def content():
    return load_content()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'dlcoach.db'}"


async def reset_postgres(url: str) -> None:
    """An empty public schema, so every PostgreSQL test starts from nothing."""
    engine = create_async_engine(async_url(url))
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture
async def postgres_url() -> str:
    if not POSTGRES_URL:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL tests need a server")
    await reset_postgres(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request, tmp_path) -> str:
    """Run a storage test on SQLite and, when configured, on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'dlcoach.db'}"
    if not POSTGRES_URL:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL variant skipped")
    await reset_postgres(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture
async def app(sqlite_url, clock):
    application = await make_app(sqlite_url, clock)
    channel = RecordingChannel()
    application.add_channel(channel)
    yield application
    await application.close()


@pytest.fixture
def channel(app) -> RecordingChannel:
    return app.channels["test"]
