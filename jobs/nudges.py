"""Nudges as work: plan everyone's coming nudges, send the due ones, catch up one person.

What is due lives in the database (`storage.models.nudges`), so a restart or
a second instance neither loses nor doubles a nudge; the scheduler
(`bot.scheduler`) only decides when these run. Every step reads the time from
the clock it was given, so tests run them on a fake clock and never sleep.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import socket
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from content.loader import Content
from handlers import metrics
from handlers.clock import Clock
from handlers.policy import Policy
from handlers.pushes import PushBudgets, unlimited
from jobs.nudge_budget import QUOTA_REASON, BudgetReport, fit_budget
from jobs.nudge_plan import plan_batch, plan_people
from jobs.nudge_send import SendReport, send_due
from storage.db import transaction
from storage.models import ChannelAccount
from storage.nudges import skip_late, waiting_messages

log = logging.getLogger(__name__)

PLAN_BATCH = 500  # people per planning transaction
# SQLite has one writer: after a full batch, the sender steps aside this long so
# replies and deliveries waiting for the lock get in between (not for PostgreSQL).
SQLITE_PAUSE_SECONDS = 0.1
# How often a tick held back by a full outbox looks again.
HELD_BACK_RETRY_SECONDS = 1.0
# The first batch of a send takes this many people (at most the batch), each next
# one twice as many up to the batch: the first messages reach the outbox, and so
# the platform, in a fraction of the time a full batch takes to decide and render.
# Only while the outbox holds less than a batch of nudge messages (with a high-water
# mark): a send resumed after being held back goes on with full batches.
FIRST_BATCH = 25


def batch_sizes(batch: int):  # noqa: ANN201
    """People per transaction of one send: FIRST_BATCH, doubling, then `batch`."""
    size = max(1, min(FIRST_BATCH, batch))
    while True:
        yield size
        size = min(batch, size * 2)


def default_worker(owner: object) -> str:
    """A name for one sender, unique across hosts, processes and objects."""
    return f"{socket.gethostname()}:{os.getpid()}:{id(owner):x}"


@dataclass(frozen=True)
class NudgeTuning:
    """How far ahead to plan and how much one send transaction takes (from Settings)."""

    lookahead: timedelta = timedelta(hours=24)
    batch: int = 200  # people per send transaction
    outbox_high_water: int = 2000  # nudge messages allowed to wait before more are written
    send_seconds: int = 30  # how often the send tick runs (bounds a held-back tick)
    plan_minutes: int = 5  # how often the plan tick runs


class NudgeJobs:
    """Planning and sending of nudges (one per process; `with_worker` for more senders)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        content: Content,
        clock: Clock,
        policy: Policy,
        tuning: NudgeTuning,
        *,
        channels: Callable[[], Sequence[str]],
        delivery_due: Callable[[], None],
        sqlite: bool,
        worker: str | None = None,
        budgets: PushBudgets = unlimited,
        budget_short: Callable[[], Collection[str]] | None = None,
    ) -> None:
        self.sessions, self.content, self.clock = sessions, content, clock
        self.policy, self.tuning = policy, tuning
        self.channels = channels  # the channels running here (nudges for others wait)
        self.delivery_due = delivery_due  # tells delivery that messages were written
        self.sqlite = sqlite
        self.worker = worker or default_worker(self)
        self.budgets = budgets  # each channel's monthly pushes left (None: no limit)
        # the channels whose monthly quota the last fit found short (the best hour
        # may then skip a day of a person reached there); see `fit_budgets`
        self.short_channels: frozenset[str] = frozenset()
        self.budget_short = budget_short  # replaces that finding (simulations)

    def with_worker(self, worker: str) -> NudgeJobs:
        """The same jobs under another sender name (several senders in one process)."""
        twin = copy.copy(self)
        twin.worker = worker
        return twin

    def short(self) -> frozenset[str]:
        """The channels whose quota is short for this planning round."""
        if self.budget_short is not None:
            return frozenset(self.budget_short())
        return self.short_channels

    @property
    def pause(self) -> float:
        return SQLITE_PAUSE_SECONDS if self.sqlite else 0.0

    async def plan(self) -> int:
        """Plan everyone's coming nudges, a batch of people per transaction, then fit
        them to the monthly pushes of the channels that have a quota."""
        now = self.clock.now()
        after, total = None, 0
        while True:
            async with transaction(self.sessions) as session:
                report = await plan_batch(
                    session,
                    after=after,
                    limit=PLAN_BATCH,
                    now=now,
                    th=self.policy.nudges,
                    horizon=self.tuning.lookahead,
                    default_tz=self.policy.timezone,
                    short_channels=self.short(),
                )
            total += report.planned
            metrics.NUDGES.labels("planned", "").inc(report.planned)
            if report.last_person_id is None:
                break
            after = report.last_person_id
        await self.fit_budgets()
        return total

    async def fit_budgets(self) -> list[BudgetReport]:
        """Keep each quota channel's planned nudges of the month within its pushes left,
        and note which channels are short, for the next planning round."""
        running = list(self.channels())
        reports = []
        for channel in running:
            budget = await self.budgets(channel)
            if budget is None:  # no quota (or the platform cannot say): nothing to fit
                continue
            async with transaction(self.sessions) as session:
                report = await fit_budget(
                    session,
                    channel=channel,
                    budget=budget,
                    now=self.clock.now(),
                    tz=self.policy.timezone,
                    channels=running,
                )
            metrics.NUDGES.labels("skipped", QUOTA_REASON).inc(report.skipped_nudges)
            reports.append(report)
        self.short_channels = frozenset(r.channel for r in reports if r.short)
        return reports

    async def send(
        self, person_ids: Sequence[int] | None = None, max_batches: int = 10_000
    ) -> SendReport:
        """Send every due nudge that a running channel can carry, a batch per transaction."""
        channels = list(self.channels())
        total = SendReport()
        if not channels:
            return total
        high_water = self.tuning.outbox_high_water
        async with transaction(self.sessions) as session:
            late = await skip_late(session, self.clock.now(), self.policy.nudges.grace)
        total.skipped += late
        metrics.NUDGES.labels("skipped", "late").inc(late)
        sizes = batch_sizes(self.tuning.batch)
        for _ in range(max_batches):
            now = self.clock.now()
            limit = next(sizes)
            async with transaction(self.sessions) as session:
                # (one person's catch-up is a single message: it never waits for room)
                full = high_water and person_ids is None
                if full:
                    waiting = await waiting_messages(session)
                    if waiting >= high_water:
                        total.held_back = True
                        break
                    if waiting >= self.tuning.batch:  # delivery has work: no need to ramp
                        limit = self.tuning.batch
                report = await send_due(
                    session,
                    content=self.content,
                    th=self.policy.nudges,
                    now=now,
                    worker=self.worker,
                    channels=channels,
                    limit=limit,
                    person_ids=person_ids,
                    default_tz=self.policy.timezone,
                )
            report.count()  # committed
            total.add(report)
            if report.messages:
                self.delivery_due()
            if not report.people:
                break
            if report.people >= self.tuning.batch and self.pause:
                await asyncio.sleep(self.pause)  # more is waiting: let other writers in first
        return total

    async def send_now(self, person_ids: Sequence[int]) -> SendReport:
        """Settle these people's due nudges at once (after /nudge). Never raises: the
        nudges stay planned and the next tick sends them."""
        try:
            return await self.send(person_ids=person_ids)
        except Exception:
            log.exception("could not send the nudges just queued; the next tick will")
            return SendReport()

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
        async with transaction(self.sessions) as session:
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
                now=self.clock.now(),
                th=self.policy.nudges,
                horizon=self.tuning.lookahead,
                default_tz=self.policy.timezone,
                short_channels=self.short(),
            )
        return await self.send(person_ids=[person_id], max_batches=3)

    # ---- what the scheduler runs ----------------------------------------------------

    async def plan_tick(self) -> None:
        try:
            planned = await self.plan()
            if planned:
                log.info("planned %s nudges", planned)
        except Exception:
            log.exception("planning nudges failed; the next tick tries again")

    async def send_tick(self) -> None:
        """One scheduled tick; while the outbox is full it waits for delivery to
        make room (until the next tick is due) rather than sit idle."""
        deadline = time.monotonic() + self.tuning.send_seconds
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
