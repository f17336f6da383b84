"""Delivery: claim due outbox rows, prepare them, hand them to their channel,
record the outcome.

Preparing a row means resolving its recipient (still reachable? in which
language?) and drawing its charts and documents, off the event loop, from
the descriptions the handlers wrote. Channels then only render and send.
Retries back off exponentially (or wait the platform's own retry_after); a
blocked recipient deactivates the account; after `max_attempts` a row is
marked failed and logged, never silently lost.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.channels.base import (
    Channel,
    Deferred,
    OutboundMessage,
    PermanentFailure,
    Progress,
    RecipientBlocked,
    RetryLater,
)
from documents.render import render
from handlers.clock import Clock
from handlers.messages import Reply
from storage import audit
from storage import outbox as queries
from storage.accounts import deactivate
from storage.db import transaction
from storage.models import OutboxMessage
from storage.outbox import Recipient
from storage.timeutil import as_utc

log = logging.getLogger(__name__)


def backoff(attempt: int) -> float:
    """Seconds to wait before retry `attempt` (1, 2, 4, ... capped at 5 minutes)."""
    return float(min(2 ** max(attempt - 1, 0), 300))


@dataclass(frozen=True)
class DeliveryTuning:
    """How much one claim takes, for how long, how often to retry (from Settings)."""

    batch: int = 50
    lease: timedelta = timedelta(seconds=60)
    max_attempts: int = 8
    concurrency: int = 8  # rows of one claim (each for a different chat) sent at once


def to_outbound(row: OutboxMessage, replies: tuple[Reply, ...], lang: str) -> OutboundMessage:
    """What a channel sees of a row: its replies (drawn) and the recipient's language."""
    expires = row.reply_token_expires_at
    return OutboundMessage(
        outbox_id=row.id,
        channel=row.channel,
        chat_id=row.chat_id,
        account_id=row.account_id,
        kind=row.kind,
        replies=replies,
        reply_token=row.reply_token,
        reply_token_expires_at=as_utc(expires) if expires is not None else None,
        retry_key=row.dedupe_key or f"outbox-{row.id}",
        attempt=row.attempts,
        sent_parts=row.sent_parts or 0,
        lang=lang,
    )


def draw(reply: Reply) -> Reply:
    """The reply with its chart or document drawn. A chart that cannot be drawn is
    left out (the text carries the same information); a document that cannot be
    drawn is replaced by its `failed_text`, so nobody is told "here it is" without it."""
    if reply.render is None:
        return reply
    try:
        data = render(reply.render.kind, reply.render.spec)
    except Exception as exc:
        log.exception("could not draw a %s", reply.render.kind)
        if not reply.render.as_document:
            return replace(reply, render=None)
        if reply.render.failed_text is None:
            raise PermanentFailure(f"could not draw the {reply.render.kind} document") from exc
        return replace(reply, render=None, text=reply.render.failed_text, document_name=None)
    if reply.render.as_document:
        return replace(reply, render=None, document=data)
    return replace(reply, render=None, image_png=data)


def _draw_all(payload: list[dict]) -> tuple[Reply, ...]:
    return tuple(draw(Reply.from_json(item)) for item in payload)


class Delivery:
    """Sends what the outbox holds, through the channels running here."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        channels: Mapping[str, Channel],
        tuning: DeliveryTuning,
        *,
        default_lang: str,
        worker: str | None = None,
    ) -> None:
        self.sessions, self.clock, self.channels, self.tuning = sessions, clock, channels, tuning
        self.default_lang = default_lang
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"

    def with_worker(self, worker: str) -> Delivery:
        """The same delivery under another sender name (several senders in one process)."""
        twin = copy.copy(self)
        twin.worker = worker
        return twin

    async def flush(
        self,
        channels: list[str] | None = None,
        limit: int | None = None,
        chat_ids: list[str] | None = None,
    ) -> int:
        """Claim and send one batch of due rows; returns how many were claimed."""
        names = channels or list(self.channels)
        if not names:
            return 0
        now = self.clock.now()
        async with transaction(self.sessions) as session:
            rows = await queries.claim(
                session,
                channels=names,
                now=now,
                worker=self.worker,
                lease=self.tuning.lease,
                limit=limit or self.tuning.batch,
                chat_ids=chat_ids,
            )
            recipients = await queries.recipients(session, rows)
        # One claim holds at most one row per chat (the oldest unsent), so the
        # rows can go out side by side without reordering any chat; each wave's
        # successes are recorded in one transaction instead of one per row.
        width = max(1, self.tuning.concurrency)
        for start in range(0, len(rows), width):
            wave = rows[start : start + width]
            delivered = await asyncio.gather(
                *(self._send(row, recipients.get(row.id)) for row in wave)
            )
            done = [row for row, ok in zip(wave, delivered, strict=True) if ok]
            if done:
                async with transaction(self.sessions) as session:
                    await queries.mark_sent_many(
                        session, [row.id for row in done], self.worker, self.clock.now()
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

    def _progress(self, row: OutboxMessage) -> Progress:
        async def progress(sent_parts: int) -> None:
            async with transaction(self.sessions) as session:
                await queries.record_progress(session, row.id, sent_parts)

        return progress

    async def _send(self, row: OutboxMessage, recipient: Recipient | None) -> bool:
        """Prepare one row and hand it to its channel; True when it went (the caller
        marks it sent), otherwise the outcome is recorded here."""
        channel = self.channels.get(row.channel)
        try:
            if channel is None:
                raise RetryLater(f"channel {row.channel} is not running here")
            if recipient is not None and not recipient.active:
                raise RecipientBlocked("the person blocked or unfollowed the bot")
            replies = await asyncio.to_thread(_draw_all, row.payload)
            lang = (recipient.lang if recipient else None) or self.default_lang
            await channel.send(to_outbound(row, replies, lang), self._progress(row))
        except RetryLater as exc:
            await self._retry(row, exc)
        except RecipientBlocked as exc:
            log.info("recipient blocked on %s chat %s: %s", row.channel, row.chat_id, exc)
            async with transaction(self.sessions) as session:
                await queries.mark_final(session, row.id, self.worker, queries.DROPPED, str(exc))
                await deactivate(session, row.account_id, "blocked")
        except Deferred as exc:
            log.info("outbox %s deferred: %s", row.id, exc)
            async with transaction(self.sessions) as session:
                await queries.mark_final(session, row.id, self.worker, queries.DEFERRED, str(exc))
                if exc.audit_action:
                    subject = recipient.person_id if recipient else None
                    audit.record(
                        session, self.clock.now(), exc.audit_action, subject=subject, **exc.detail
                    )
        except PermanentFailure as exc:
            log.error("outbox %s cannot be delivered: %s", row.id, exc)
            async with transaction(self.sessions) as session:
                await queries.mark_final(session, row.id, self.worker, queries.FAILED, str(exc))
        except Exception as exc:  # noqa: BLE001 - unknown trouble is treated as temporary
            log.exception("outbox %s: unexpected send error", row.id)
            await self._retry(row, RetryLater(repr(exc)))
        else:
            return True
        return False

    async def _retry(self, row: OutboxMessage, exc: RetryLater) -> None:
        async with transaction(self.sessions) as session:
            if row.attempts >= self.tuning.max_attempts:
                log.error("outbox %s failed after %s attempts: %s", row.id, row.attempts, exc)
                await queries.mark_final(session, row.id, self.worker, queries.FAILED, str(exc))
                return
            wait = max(exc.retry_after or 0.0, backoff(row.attempts))
            at = self.clock.now() + timedelta(seconds=wait)
            log.warning("outbox %s: retry in %.0fs (%s)", row.id, wait, exc)
            await queries.mark_retry(session, row.id, self.worker, at, str(exc))
