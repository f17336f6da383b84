"""The hourly purge: processed-event ids and finished outbox rows past their
retention period are deleted, and account keys older than the guess window
are taken off audit rows (see storage/retention.py), a batch at a time."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.clock import Clock
from storage import audit, retention
from storage.db import transaction

log = logging.getLogger(__name__)

MAX_BATCHES = 20  # per tick and kind: a backlog is worked off over several ticks


class Retention:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        events: timedelta,
        outbox: timedelta,
    ) -> None:
        self.sessions, self.clock, self.events, self.outbox = sessions, clock, events, outbox

    async def tick(self) -> tuple[int, int, int]:
        """Purge what is past retention; returns (event ids deleted, outbox rows
        deleted, audit rows whose account key was taken off)."""
        now = self.clock.now()
        events = await self._purge(retention.purge_events, now - self.events)
        rows = await self._purge(retention.purge_outbox, now - self.outbox)
        keys = await self._purge(retention.forget_account_keys, now - audit.GUESS_WINDOW)
        if events or rows or keys:
            log.info(
                "retention: deleted %s event ids and %s finished outbox rows; "
                "took the account key off %s audit rows",
                events,
                rows,
                keys,
            )
        return events, rows, keys

    async def _purge(self, purge, before) -> int:  # noqa: ANN001
        total = 0
        for _ in range(MAX_BATCHES):
            async with transaction(self.sessions) as session:
                deleted = await purge(session, before)
            total += deleted
            if deleted < retention.BATCH:
                break
        return total
