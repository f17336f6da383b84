"""Every minute: the people whose rows changed are worked out again into the kept
figures (storage/facts.py), one batch per transaction, and each agency's current
fiscal year is kept from its first minute, so that /summary, the weekly post and
the dashboard find little left to do when they are asked (and on SQLite no turn
waits long behind the write lock)."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.clock import Clock
from handlers.reports.period import current_fiscal_year, fiscal_period
from storage import facts
from storage.db import transaction
from storage.models import Agency

log = logging.getLogger(__name__)

MAX_BATCHES = 40  # per tick (10,000 people): a larger backlog is worked off over several


class FactsKeeper:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self.sessions, self.clock = sessions, clock

    async def tick(self) -> int:
        """Work off the list of changed people, then keep any agency's current year
        that is not kept yet; returns how many entries of the list were taken. A
        failure (the database away) leaves the list as it was for the next tick."""
        try:
            return await self._tick()
        except Exception:
            log.exception("keeping the figures up to date failed; the next tick tries again")
            return 0

    async def _tick(self) -> int:
        total = 0
        for _ in range(MAX_BATCHES):
            async with transaction(self.sessions) as session:
                taken = await facts.catch_up(session)
            total += taken
            if taken < facts.PEOPLE_BATCH:
                break
        if total:
            log.info("figures: worked out %s changed people again", total)
        await self._keep_current_years()
        return total

    async def _keep_current_years(self) -> None:
        now = self.clock.now()
        async with self.sessions() as session:
            agencies = (await session.exec(select(Agency.id, Agency.code, Agency.timezone))).all()
        for agency_id, code, timezone in agencies:
            period = fiscal_period(current_fiscal_year(now, timezone), timezone)
            async with transaction(self.sessions) as session:
                if not await facts.is_kept(session, agency_id, period):
                    await facts.refresh(session, agency_id, code, period)
                    log.info("figures: agency %s's fiscal year is kept from now on", code)
