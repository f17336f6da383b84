"""Every minute: the people whose rows changed are worked out again into the kept
figures (storage/facts.py), one batch per transaction, so that /summary, the
weekly post and the dashboard find little left to do when they are asked, and on
SQLite no turn waits for long behind the write lock."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import facts
from storage.db import transaction

log = logging.getLogger(__name__)

MAX_BATCHES = 40  # per tick (10,000 people): a larger backlog is worked off over several


class FactsKeeper:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def tick(self) -> int:
        """Work off the list of changed people; how many entries were taken."""
        total = 0
        for _ in range(MAX_BATCHES):
            async with transaction(self.sessions) as session:
                taken = await facts.catch_up(session)
            total += taken
            if taken < facts.PEOPLE_BATCH:
                break
        if total:
            log.info("figures: worked out %s changed people again", total)
        return total
