"""Three senders against PostgreSQL at once, 10,000 due nudges: each is sent
exactly once, and all nudges of one person and slot leave in one message."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date, time, timedelta

import pytest
from sqlalchemy import insert
from sqlmodel import select

from handlers.onboarding import CONSENT_VERSION
from storage import nudges as queries
from storage.db import transaction
from storage.models import (
    Agency,
    ChannelAccount,
    Goal,
    Journey,
    Nudge,
    OutboxMessage,
    Person,
    ReminderPreference,
)
from storage.models.nudges import PLANNED, SENT
from tests.drivers.chat import RecordingChannel, make_app
from tests.drivers.reminders import bkk

pytestmark = pytest.mark.postgres

SLOT = "2026-12-08T07:30"  # Tuesday 8 December, 07:30 in Bangkok


async def bulk_people(app, count: int, with_goal: int) -> dict[int, int]:  # noqa: ANN001
    """`count` people due at SLOT; the first `with_goal` also have a goal due on the 10th.

    Returns person id -> how many nudges they have (1 or 2).
    """
    seen = bkk(7, 10)
    async with transaction(app.sessions) as session:
        agency = (await session.exec(select(Agency).where(Agency.code == "DEMO"))).one()
        people = [
            {
                "display_name": f"p{i}",
                "agency_id": agency.id,
                "lang": "th",
                "timezone": "Asia/Bangkok",
                "consent_version": CONSENT_VERSION,
                "consent_at": seen - timedelta(days=30),
                "onboarded_at": seen - timedelta(days=30),
                "last_active_at": seen,
                "created_at": seen - timedelta(days=30),
            }
            for i in range(count)
        ]
        result = await session.exec(
            insert(Person).returning(Person.id, sort_by_parameter_order=True), params=people
        )
        ids = list(result.scalars().all())
        await session.exec(
            insert(ChannelAccount),
            params=[
                {
                    "person_id": pid,
                    "channel": "test",
                    "external_id": f"u{pid}",
                    "chat_id": f"u{pid}",
                    "active": True,
                    "created_at": seen,
                }
                for pid in ids
            ],
        )
        journeys = await session.exec(
            insert(Journey).returning(Journey.id, sort_by_parameter_order=True),
            params=[
                {
                    "person_id": pid,
                    "round_no": 1,
                    "current_step": 4,
                    "step_started_at": bkk(5, 9),
                    "started_at": bkk(1, 9),
                }
                for pid in ids
            ],
        )
        journey_ids = list(journeys.scalars().all())
        await session.exec(
            insert(Goal),
            params=[
                {
                    "journey_id": jid,
                    "person_id": pid,
                    "skill_id": "word",
                    "start_level": 2,
                    "target_level": 4,
                    "target_date": date(2026, 12, 10),
                    "approach": "course",
                    "created_at": bkk(5, 9),
                }
                for pid, jid in list(zip(ids, journey_ids, strict=True))[:with_goal]
            ],
        )
        await session.exec(
            insert(ReminderPreference),
            params=[
                {
                    "person_id": pid,
                    "enabled": True,
                    "time_local": time(7, 30),
                    "weekdays": "0,1,2,3,4",
                    "updated_at": seen,
                }
                for pid in ids
            ],
        )
        await queries.ensure_counters(session, ids)
        rows = []
        for index, pid in enumerate(ids):
            kinds = ["checkin", "goal"] if index < with_goal else ["checkin"]
            for kind in kinds:
                rows.append(
                    {
                        "person_id": pid,
                        "kind": kind,
                        "slot": SLOT,
                        "due_at": bkk(8, 7, 30),
                        "status": PLANNED,
                        "detail": {},
                        "created_at": seen,
                    }
                )
        await session.exec(insert(Nudge), params=rows)
    return {pid: (2 if index < with_goal else 1) for index, pid in enumerate(ids)}


async def test_three_senders_on_postgres_send_10000_nudges_exactly_once(postgres_url, clock):
    clock.set(bkk(7, 12))
    apps = [
        await make_app(
            postgres_url, clock, dlcoach_nudge_batch=250, dlcoach_nudge_outbox_high_water=0
        )
        for _ in range(3)
    ]
    for app in apps:
        app.add_channel(RecordingChannel())
    people = await bulk_people(apps[0], 7_000, with_goal=3_000)
    assert sum(people.values()) == 10_000
    clock.set(bkk(8, 7, 31))
    reports = await asyncio.gather(
        *(app.nudges.with_worker(f"sender-{n}").send() for n, app in enumerate(apps))
    )
    assert sum(r.sent for r in reports) == 10_000
    assert sum(r.messages for r in reports) == 7_000
    assert all(r.people > 0 for r in reports), "all three senders took part"
    async with apps[0].sessions() as session:
        nudges = list((await session.exec(select(Nudge))).all())
        outbox = list(
            (await session.exec(select(OutboxMessage).where(OutboxMessage.kind == "nudge"))).all()
        )
    assert Counter(n.status for n in nudges) == {SENT: 10_000}
    assert len({n.claimed_by for n in nudges}) == 3
    carried = Counter(nid for row in outbox for nid in row.payload[0]["extra"]["nudges"])
    assert len(carried) == 10_000 and set(carried.values()) == {1}  # each exactly once
    by_row = {row.id: row for row in outbox}
    for nudge in nudges:  # ... in the one message of its person's slot
        row = by_row[nudge.outbox_id]
        assert row.chat_id == f"u{nudge.person_id}"
        assert len(row.payload[0]["extra"]["nudges"]) == people[nudge.person_id]
    assert len(outbox) == len({row.chat_id for row in outbox}) == 7_000
    # a fourth pass finds nothing left to do
    again = await apps[1].nudges.with_worker("late").send()
    assert again.people == 0
    for app in apps:
        await app.close()
