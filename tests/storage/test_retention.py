"""Processed-event ids and finished outbox rows are forgotten after their
retention period; anything still waiting to be sent is never touched."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from storage.db import transaction
from storage.models import AuditLog, OutboxMessage, ProcessedEvent
from tests.drivers.chat import make_app


async def test_the_purge_deletes_only_what_is_old_and_finished(database_url, clock):
    app = await make_app(
        database_url, clock, dlcoach_keep_event_days=7, dlcoach_keep_outbox_days=30
    )
    now = clock.now()
    old, recent = now - timedelta(days=31), now - timedelta(days=2)
    async with transaction(app.sessions) as session:
        for n, at in enumerate((old, old, recent)):
            session.add(ProcessedEvent(channel="line", event_id=f"e{n}", processed_at=at))
        for status in ("sent", "dropped", "deferred", "failed", "pending", "sending"):
            for at in (old, recent):
                session.add(
                    OutboxMessage(
                        channel="line",
                        chat_id=f"{status}-{at:%d}",
                        status=status,
                        payload=[],
                        created_at=at,
                        next_attempt_at=at,
                    )
                )
    assert await app.retention.tick() == (2, 4, 0)
    async with app.sessions() as session:
        events = sorted(e.event_id for e in (await session.exec(select(ProcessedEvent))).all())
        rows = (await session.exec(select(OutboxMessage))).all()
    assert events == ["e2"]
    kept = sorted((r.status, r.created_at.day) for r in rows)
    assert kept == sorted(
        [(s, recent.day) for s in ("sent", "dropped", "deferred", "failed", "pending", "sending")]
        + [("pending", old.day), ("sending", old.day)]
    )
    assert await app.retention.tick() == (0, 0, 0)
    await app.close()


async def test_account_keys_leave_the_audit_log_after_the_guess_window(database_url, clock):
    app = await make_app(database_url, clock)
    now = clock.now()
    async with transaction(app.sessions) as session:
        for minutes in (90, 61, 30):
            session.add(
                AuditLog(
                    at=now - timedelta(minutes=minutes),
                    action="join.code_wrong",
                    detail={"account": f"key-{minutes}", "agency_id": 1},
                )
            )
    assert (await app.retention.tick())[2] == 2
    async with app.sessions() as session:
        rows = (await session.exec(select(AuditLog).order_by(AuditLog.at))).all()
    assert [r.detail for r in rows] == [
        {"agency_id": 1},
        {"agency_id": 1},
        {"account": "key-30", "agency_id": 1},
    ]
    assert (await app.retention.tick())[2] == 0
    await app.close()
