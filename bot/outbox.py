"""Delivery: claim due outbox rows, hand them to their channel, record the outcome.

Retries back off exponentially (or wait the platform's own retry_after); a
blocked recipient deactivates the account; after `max_attempts` a row is
marked failed and logged, never silently lost.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from datetime import timedelta

from bot.channels.base import (
    Deferred,
    OutboundMessage,
    PermanentFailure,
    RecipientBlocked,
    RetryLater,
)
from handlers.messages import Reply
from storage import outbox as queries
from storage.db import transaction
from storage.models import OutboxMessage

log = logging.getLogger(__name__)


def backoff(attempt: int) -> float:
    """Seconds to wait before retry `attempt` (1, 2, 4, ... capped at 5 minutes)."""
    return float(min(2 ** max(attempt - 1, 0), 300))


def to_outbound(row: OutboxMessage) -> OutboundMessage:
    return OutboundMessage(
        outbox_id=row.id,
        channel=row.channel,
        chat_id=row.chat_id,
        account_id=row.account_id,
        kind=row.kind,
        replies=tuple(Reply.from_json(item) for item in row.payload),
        reply_token=row.reply_token,
        reply_token_expires_at=row.reply_token_expires_at,
        retry_key=row.dedupe_key or f"outbox-{row.id}",
        attempt=row.attempts,
        sent_parts=row.sent_parts or 0,
    )


class Delivery:
    """Sends what the outbox holds, through the app's channels."""

    def __init__(self, app, worker: str | None = None) -> None:  # noqa: ANN001
        self.app = app
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"

    async def flush(
        self,
        channels: list[str] | None = None,
        limit: int | None = None,
        chat_ids: list[str] | None = None,
    ) -> int:
        """Claim and send one batch of due rows; returns how many were claimed."""
        names = channels or list(self.app.channels)
        if not names:
            return 0
        settings = self.app.settings
        now = self.app.clock.now()
        async with transaction(self.app.sessions) as session:
            rows = await queries.claim(
                session,
                channels=names,
                now=now,
                worker=self.worker,
                lease=timedelta(seconds=settings.dlcoach_outbox_lease_seconds),
                limit=limit or settings.dlcoach_outbox_batch,
                chat_ids=chat_ids,
            )
        # One claim holds at most one row per chat (the oldest unsent), so the
        # rows can go out side by side without reordering any chat; each wave's
        # successes are recorded in one transaction instead of one per row.
        width = max(1, settings.dlcoach_outbox_concurrency)
        for start in range(0, len(rows), width):
            wave = rows[start : start + width]
            delivered = await asyncio.gather(*(self._send(row) for row in wave))
            done = [row for row, ok in zip(wave, delivered, strict=True) if ok]
            if done:
                async with transaction(self.app.sessions) as session:
                    await queries.mark_sent_many(
                        session, [row.id for row in done], self.worker, self.app.clock.now()
                    )
        return len(rows)

    async def drain(
        self,
        channels: list[str] | None = None,
        max_batches: int = 100,
        chat_ids: list[str] | None = None,
    ) -> int:
        """Flush until nothing is due (bounded), e.g. right after handling a message."""
        total = 0
        for _ in range(max_batches):
            claimed = await self.flush(channels, chat_ids=chat_ids)
            total += claimed
            if not claimed:
                break
        return total

    async def _send(self, row: OutboxMessage) -> bool:
        """Hand one row to its channel; True when it went (the caller marks it sent),
        otherwise the failure is recorded here."""
        channel = self.app.channels.get(row.channel)
        message = to_outbound(row)
        now = self.app.clock.now
        try:
            if channel is None:
                raise RetryLater(f"channel {row.channel} is not running here")
            await channel.send(message)
        except RetryLater as exc:
            await self._retry(row, exc)
        except RecipientBlocked as exc:
            log.info("recipient blocked on %s chat %s: %s", row.channel, row.chat_id, exc)
            async with transaction(self.app.sessions) as session:
                await queries.mark_final(session, row.id, self.worker, queries.DROPPED, str(exc))
                await queries.deactivate_account(session, row.account_id, "blocked", now())
        except Deferred as exc:
            log.info("outbox %s deferred: %s", row.id, exc)
            async with transaction(self.app.sessions) as session:
                await queries.mark_final(session, row.id, self.worker, queries.DEFERRED, str(exc))
        except PermanentFailure as exc:
            log.error("outbox %s cannot be delivered: %s", row.id, exc)
            async with transaction(self.app.sessions) as session:
                await queries.mark_final(session, row.id, self.worker, queries.FAILED, str(exc))
        except Exception as exc:  # noqa: BLE001 - unknown trouble is treated as temporary
            log.exception("outbox %s: unexpected send error", row.id)
            await self._retry(row, RetryLater(repr(exc)))
        else:
            return True
        return False

    async def _retry(self, row: OutboxMessage, exc: RetryLater) -> None:
        max_attempts = self.app.settings.dlcoach_outbox_max_attempts
        async with transaction(self.app.sessions) as session:
            if row.attempts >= max_attempts:
                log.error("outbox %s failed after %s attempts: %s", row.id, row.attempts, exc)
                await queries.mark_final(session, row.id, self.worker, queries.FAILED, str(exc))
                return
            wait = max(exc.retry_after or 0.0, backoff(row.attempts))
            at = self.app.clock.now() + timedelta(seconds=wait)
            log.warning("outbox %s: retry in %.0fs (%s)", row.id, wait, exc)
            await queries.mark_retry(session, row.id, self.worker, at, str(exc))
