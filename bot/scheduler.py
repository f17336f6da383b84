"""The reminder ticks: plan coming nudges, send due ones.

APScheduler only decides when a tick runs; what is due lives in the database
(`storage.models.nudges`), so a restart or a second instance neither loses nor
doubles a nudge. Every tick reads the time from `app.clock`, so tests call the
ticks directly with a FakeClock and never sleep.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import select

from handlers.reminders.planner import plan_batch, plan_people
from handlers.reminders.rules import Thresholds
from handlers.reminders.sender import SendReport, send_due
from storage.db import transaction
from storage.models import ChannelAccount
from storage.nudges import skip_late, waiting_messages

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.app import App

log = logging.getLogger(__name__)

PLAN_BATCH = 500  # people per planning transaction
# SQLite has one writer: after a full batch, the sender steps aside this long so
# replies and deliveries waiting for the lock get in between (not for PostgreSQL).
SQLITE_PAUSE_SECONDS = 0.1
# How often a tick held back by a full outbox looks again.
HELD_BACK_RETRY_SECONDS = 1.0


def thresholds(settings) -> Thresholds:  # noqa: ANN001
    """The rules' numbers, from Settings."""
    return Thresholds(
        stuck_days=settings.dlcoach_nudge_stuck_days,
        inactive_days=settings.dlcoach_nudge_inactive_days,
        max_ignored=settings.dlcoach_nudge_max_ignored,
        goal_days_before=settings.dlcoach_nudge_goal_days_before,
        backoff_days=settings.dlcoach_nudge_backoff_days,
        grace=timedelta(minutes=settings.dlcoach_nudge_grace_minutes),
    )


class NudgeTicks:
    """Planning and sending of nudges for one App (one per process)."""

    def __init__(self, app: App, worker: str | None = None) -> None:
        self.app = app
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.th = thresholds(app.settings)
        self.horizon = timedelta(hours=app.settings.dlcoach_nudge_lookahead_hours)
        self.pause = SQLITE_PAUSE_SECONDS if app.engine.dialect.name == "sqlite" else 0.0

    async def plan(self) -> int:
        """Plan everyone's coming nudges, a batch of people per transaction."""
        now = self.app.clock.now()
        after, total = None, 0
        while True:
            async with transaction(self.app.sessions) as session:
                report = await plan_batch(
                    session,
                    after=after,
                    limit=PLAN_BATCH,
                    now=now,
                    th=self.th,
                    horizon=self.horizon,
                    default_tz=self.app.settings.timezone,
                )
            total += report.planned
            if report.last_person_id is None:
                return total
            after = report.last_person_id

    async def send(
        self, person_ids: list[int] | None = None, max_batches: int = 10_000
    ) -> SendReport:
        """Send every due nudge that a running channel can carry, a batch per transaction."""
        channels = list(self.app.channels)
        total = SendReport()
        if not channels:
            return total
        settings = self.app.settings
        high_water = settings.dlcoach_nudge_outbox_high_water
        async with transaction(self.app.sessions) as session:
            total.skipped += await skip_late(session, self.app.clock.now(), self.th.grace)
        for _ in range(max_batches):
            now = self.app.clock.now()
            async with transaction(self.app.sessions) as session:
                # (one person's catch-up is a single message: it never waits for room)
                full = high_water and person_ids is None
                if full and await waiting_messages(session) >= high_water:
                    total.held_back = True
                    break
                report = await send_due(
                    session,
                    content=self.app.content,
                    th=self.th,
                    now=now,
                    worker=self.worker,
                    channels=channels,
                    limit=settings.dlcoach_nudge_batch,
                    person_ids=person_ids,
                    default_tz=settings.timezone,
                )
            total.add(report)
            if report.messages:
                self.app.delivery_wakeup.set()
            if not report.people:
                break
            if report.people >= settings.dlcoach_nudge_batch and self.pause:
                await asyncio.sleep(self.pause)  # more is waiting: let other writers in first
        return total

    async def catch_up(self, channel: str, user_id: str) -> SendReport:
        """Plan and send one person's due nudges now (the terminal has no scheduler:
        a nudge shows up the next time the person types). Never raises: a failure
        here must not end the chat."""
        try:
            return await self._catch_up(channel, user_id)
        except Exception:
            log.exception("could not catch up nudges for %s/%s", channel, user_id)
            return SendReport()

    async def _catch_up(self, channel: str, user_id: str) -> SendReport:
        async with transaction(self.app.sessions) as session:
            found = await session.exec(
                select(ChannelAccount.person_id).where(
                    ChannelAccount.channel == channel, ChannelAccount.external_id == user_id
                )
            )
            person_id = found.first()
            if person_id is None:
                return SendReport()
            await plan_people(
                session,
                [person_id],
                now=self.app.clock.now(),
                th=self.th,
                horizon=self.horizon,
                default_tz=self.app.settings.timezone,
            )
        return await self.send(person_ids=[person_id], max_batches=3)

    async def _plan_job(self) -> None:
        try:
            planned = await self.plan()
            if planned:
                log.info("planned %s nudges", planned)
        except Exception:
            log.exception("planning nudges failed; the next tick tries again")

    async def _send_job(self) -> None:
        """One scheduled tick; while the outbox is full it waits for delivery to
        make room (until the next tick is due) rather than sit idle."""
        deadline = time.monotonic() + self.app.settings.dlcoach_nudge_send_seconds
        try:
            while True:
                report = await self.send()
                if report.people:
                    log.info(
                        "nudges: %s sent in %s messages, %s skipped, %s cancelled",
                        report.sent,
                        report.messages,
                        report.skipped,
                        report.cancelled,
                    )
                if not report.held_back or time.monotonic() > deadline:
                    return
                await asyncio.sleep(HELD_BACK_RETRY_SECONDS)
        except Exception:
            log.exception("sending nudges failed; the next tick tries again")

    def register(self, scheduler: AsyncIOScheduler) -> None:
        """Add the two periodic ticks; both run once right away (catch up after a restart)."""
        settings = self.app.settings
        start = datetime.now(UTC)
        scheduler.add_job(
            self._plan_job,
            "interval",
            minutes=settings.dlcoach_nudge_plan_minutes,
            id="nudge-plan",
            max_instances=1,
            coalesce=True,
            next_run_time=start,
        )
        scheduler.add_job(
            self._send_job,
            "interval",
            seconds=settings.dlcoach_nudge_send_seconds,
            id="nudge-send",
            max_instances=1,
            coalesce=True,
            next_run_time=start + timedelta(seconds=5),
        )
