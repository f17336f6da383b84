"""The composition root: `build_app` wires settings, database, content, clock,
channels, the turn, delivery and the jobs, once. The server, every command of
the CLI, the terminal chat, the tests and the benchmarks all start here.

Each part gets only what it needs (sessions, content, clock, policy, a way to
say "messages are waiting"); nothing is handed the whole `App`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.channels.base import Channel, Hub
from bot.config import Settings
from bot.delivery import Delivery, DeliveryTuning
from bot.flood import FloodGate
from bot.history import ChatHistory
from bot.media import DatabaseMedia
from bot.turn import Turn
from content.loader import Content, load_content
from handlers.clock import Clock, SystemClock
from handlers.flow import FLOW
from handlers.messages import Incoming
from handlers.policy import Policy
from handlers.pushes import PushBudget
from jobs.facts import FactsKeeper
from jobs.nudges import NudgeJobs, NudgeTuning
from jobs.retention import Retention
from jobs.weekly import WeeklyPosts
from storage.agencies import new_join_code
from storage.db import (
    is_sqlite,
    make_engine,
    make_read_sessionmaker,
    make_sessionmaker,
    transaction,
)
from storage.migrate import upgrade
from storage.models import Agency, Unit

log = logging.getLogger(__name__)

DEMO_CODE = "DEMO"


@dataclass
class App:
    """Everything the bot is made of, built once per process (or per test)."""

    settings: Settings
    policy: Policy
    content: Content
    clock: Clock
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    # For work that only reads (health check, media, listings): on SQLite these
    # never wait for the write lock that the turns and the delivery take.
    read_sessions: async_sessionmaker[AsyncSession]
    channels: dict[str, Channel]
    media: DatabaseMedia
    turn: Turn
    delivery: Delivery
    nudges: NudgeJobs
    weekly: WeeklyPosts
    retention: Retention
    facts: FactsKeeper  # keeps the summaries' figures up to date as people answer
    # Set whenever outbox rows are committed: the server's delivery loop wakes on it.
    delivery_wakeup: asyncio.Event = field(default_factory=asyncio.Event)

    def add_channel(self, channel: Channel) -> None:
        """Run `channel` here too (delivery and the nudge sender see it at once)."""
        self.channels[channel.name] = channel

    def hub(self) -> Hub:
        """What the channels may use of the core."""
        return Hub(
            handle=self.handle,
            content=self.content,
            clock=self.clock,
            media=self.media,
            history=ChatHistory(self.read_sessions, self.policy.lang),
        )

    async def handle(self, incoming: Incoming) -> list[int]:
        """One incoming message, as the channels hand it in (see `bot.turn`); looked
        up on each call, so a test may replace the turn's handling."""
        return await self.turn.handle(incoming)

    async def prepare(self) -> None:
        """Bring the schema up to date (an empty SQLite file included) and seed demo data."""
        await upgrade(self.engine)
        if self.settings.dlcoach_demo_agency:
            await self._ensure_demo_agency()

    async def start_channels(self) -> None:
        hub = self.hub()
        for channel in self.channels.values():
            await channel.start(hub)

    async def stop_channels(self) -> None:
        for channel in self.channels.values():
            await channel.stop()

    async def close(self) -> None:
        await self.engine.dispose()

    async def _ensure_demo_agency(self) -> None:
        """Create the demo agency and its units once; names come from content/. Two
        instances starting together may both try: the one that comes second is
        refused by the agency code's uniqueness and starts all the same."""
        try:
            await self._create_demo_agency()
        except IntegrityError:
            log.info("the demo agency %s was created by another instance", DEMO_CODE)

    async def _create_demo_agency(self) -> None:
        lang = self.policy.lang
        async with transaction(self.sessions) as session:
            found = (await session.exec(select(Agency).where(Agency.code == DEMO_CODE))).first()
            if found is not None:
                return
            agency = Agency(
                code=DEMO_CODE,
                name=self.content.t("demo.agency_name", lang),
                timezone=self.policy.timezone,
                join_code=new_join_code(),
                open_join=True,  # anyone may try the coach in the demo agency
            )
            session.add(agency)
            await session.flush()
            for name in self.content.t("demo.units", lang).split(","):
                if name.strip():
                    session.add(Unit(agency_id=agency.id, name=name.strip()))
        log.info("created the demo agency %s", DEMO_CODE)


def build_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    content: Content | None = None,
    channels: Iterable[Channel] = (),
) -> App:
    """The one place the bot is put together. Raises `ContentError` for a broken
    content file (the CLI turns it into a clear message)."""
    content = content or load_content(settings.dlcoach_content_dir)
    clock = clock or SystemClock()
    policy = settings.policy()
    engine = make_engine(
        settings.database_url,
        sqlite_busy_ms=settings.dlcoach_sqlite_busy_ms,
        pool_size=settings.dlcoach_db_pool_size,
        max_overflow=settings.dlcoach_db_max_overflow,
    )
    sessions = make_sessionmaker(engine)
    read_sessions = make_read_sessionmaker(engine)
    running: dict[str, Channel] = {channel.name: channel for channel in channels}
    wakeup = asyncio.Event()

    async def push_budget(name: str) -> PushBudget | None:
        """A running channel's monthly pushes left (None: no quota), for the planner."""
        channel = running.get(name)
        return await channel.push_budget() if channel is not None else None

    delivery = Delivery(
        sessions,
        clock,
        running,
        DeliveryTuning(
            batch=settings.dlcoach_outbox_batch,
            lease=timedelta(seconds=settings.dlcoach_outbox_lease_seconds),
            max_attempts=settings.dlcoach_outbox_max_attempts,
            horizon=timedelta(hours=settings.dlcoach_outbox_horizon_hours),
            concurrency=settings.dlcoach_outbox_concurrency,
        ),
        default_lang=policy.lang,
        delivery_due=wakeup.set,
    )
    nudges = NudgeJobs(
        sessions,
        content,
        clock,
        policy,
        NudgeTuning(
            lookahead=timedelta(hours=settings.dlcoach_nudge_lookahead_hours),
            batch=settings.dlcoach_nudge_batch,
            outbox_high_water=settings.dlcoach_nudge_outbox_high_water,
            send_seconds=settings.dlcoach_nudge_send_seconds,
            plan_minutes=settings.dlcoach_nudge_plan_minutes,
        ),
        channels=lambda: list(running),
        delivery_due=wakeup.set,
        sqlite=is_sqlite(engine),
        budgets=push_budget,
    )
    turn = Turn(
        sessions,
        content,
        policy,
        clock,
        FLOW,
        reads=read_sessions,
        sqlite=is_sqlite(engine),
        concurrency=settings.dlcoach_db_pool_size,
        written=wakeup.set,
        nudges_due=nudges.send_now,
        flood=FloodGate(settings.dlcoach_flood_burst, settings.dlcoach_flood_per_second)
        if settings.dlcoach_flood_burst
        else None,
    )
    return App(
        settings=settings,
        policy=policy,
        content=content,
        clock=clock,
        engine=engine,
        sessions=sessions,
        read_sessions=read_sessions,
        channels=running,
        media=DatabaseMedia(sessions, clock, read_sessions=read_sessions),
        turn=turn,
        delivery=delivery,
        nudges=nudges,
        weekly=WeeklyPosts(
            sessions,
            content,
            clock,
            policy,
            delivery_due=wakeup.set,
            read_sessions=read_sessions,
        ),
        retention=Retention(
            sessions,
            clock,
            events=timedelta(days=settings.dlcoach_keep_event_days),
            outbox=timedelta(days=settings.dlcoach_keep_outbox_days),
        ),
        facts=FactsKeeper(sessions, clock),
        delivery_wakeup=wakeup,
    )
