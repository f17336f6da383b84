"""Storage on both databases: a whole journey, the report read model, URL handling."""

from __future__ import annotations

import pytest

from storage.db import async_url
from storage.reports import person_rows
from tests.drivers.chat import Person, RecordingChannel, make_app
from tests.drivers.journey import POST, PRE, whole_journey
from tests.drivers.working_group import SKILLS, THIS_YEAR


async def test_whole_journey_and_report_rows(database_url, clock):
    app = await make_app(database_url, clock)
    channel = RecordingChannel()
    app.add_channel(channel)
    first, second = Person(app, channel), Person(app, channel)
    await whole_journey(first)
    await whole_journey(second)
    await second.tap("new")  # second person starts round 2
    async with app.sessions() as session:
        rows = await person_rows(session, "DEMO", THIS_YEAR, SKILLS)
    await app.close()
    assert [r.round_no for r in rows] == [1, 2]
    done, fresh = rows
    skills = [
        "computer",
        "internet",
        "security",
        "word",
        "sheet",
        "slides",
        "collab",
        "data",
        "media",
    ]
    assert [done.pre[s] for s in skills] == PRE and [done.post[s] for s in skills] == POST
    assert (done.learning_entries, done.evidence_entries) == (1, 1)
    assert done.completed_at is not None and done.personnel_group == "g3"
    assert not done.is_open and done.completed.round_no == 1
    # A new round does not hide the completed one: both are in the row.
    assert fresh.is_open and fresh.current_step == 1 and fresh.current.pre == {}
    assert fresh.completed is not None and fresh.completed.round_no == 1
    assert fresh.completed_at is not None
    assert [fresh.pre[s] for s in skills] == PRE and [fresh.post[s] for s in skills] == POST


@pytest.mark.parametrize(
    "given,expected",
    [
        ("sqlite:///dlcoach.db", "sqlite+aiosqlite:///dlcoach.db"),
        ("sqlite:////var/lib/x.db", "sqlite+aiosqlite:////var/lib/x.db"),
        ("postgresql://u:p@h:5432/db", "postgresql+asyncpg://u:p@h:5432/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_plain_urls_get_async_drivers(given, expected):
    assert async_url(given) == expected


def test_unsupported_database_is_refused():
    with pytest.raises(ValueError, match="unsupported database 'mysql'"):
        async_url("mysql://root@localhost/db")
