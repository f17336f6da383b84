"""Delivery: claim due outbox rows, prepare them, hand them to their channel,
record the outcome.

Preparing a row means resolving its recipient (still reachable? in which
language?) and drawing its charts and documents, off the event loop, from
the descriptions the handlers wrote. Channels then only render and send.

Effectively once: each row is marked sent in its own transaction as soon as
its send returns; while sending, the sender renews its short lease every few
seconds, so a sender that dies frees its rows within one lease (at once, when
a sender on the same machine sees its process is gone). What a dead sender
had in flight is sent again; LINE pushes carry a retry key and LINE replies
are reconciled through the reply token (see the LINE channel), so neither
arrives twice; Telegram has no such key, so a message in flight at the very
instant of a crash may.

Rows a turn wrote already claimed by this sender (`send_claimed`) skip the
claim: they are sent at once, under the same gate, heartbeat and outcome
writes. "Sent" marks and progress writes that arrive together share one
transaction (on SQLite they would otherwise queue one by one on the writer).

Retries: a platform that is busy or failing (429, 5xx, time-outs, refused
connections) never makes a row fail: it is retried with back-off capped at
five minutes (or the platform's own retry_after) for `horizon` (a day by
default), keeping each chat's order. A permanent error (a bad request) fails
the row at once, a blocked recipient drops it, and an unexpected error
(a bug) fails it after `max_attempts`; failed rows are listed and re-queued
with `dlcoach outbox status` / `dlcoach outbox retry`.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Mapping
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
from handlers import metrics
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


# This process among the senders: host:pid:run, the run telling two processes
# apart that had the same pid (a container restarted as pid 1).
RUN = secrets.token_hex(4)
PROCESS = f"{socket.gethostname()}:{os.getpid()}:{RUN}"


BEHIND_MAX = 10_000  # chats remembered as waiting behind a row a turn claimed

RECORD_PAUSES = (0.1, 0.5, 1.0, 2.0, 4.0)  # seconds between tries of an outcome write


def backoff(attempt: int) -> float:
    """Seconds to wait before retry `attempt` (1, 2, 4, ... capped at 5 minutes)."""
    return float(min(2 ** max(attempt - 1, 0), 300))


@dataclass(frozen=True)
class DeliveryTuning:
    """How much one claim takes, for how long, how often to retry (from Settings)."""

    batch: int = 50
    lease: timedelta = timedelta(seconds=15)  # renewed every lease / 3 while sending
    max_attempts: int = 8  # for unexpected errors (bugs) only
    horizon: timedelta = timedelta(hours=24)  # how long a platform outage is waited out
    # Rows this sender sends at once, all its claims together (each row for a
    # different chat): the most a crash can leave sent but not marked sent.
    concurrency: int = 8


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


def draw_all(payload: list[dict]) -> tuple[Reply, ...]:
    """Every reply of an outbox row, drawn (see `draw`)."""
    return tuple(draw(Reply.from_json(item)) for item in payload)


async def drawn(payload: list[dict]) -> tuple[Reply, ...]:
    """`draw_all` in a worker thread when a reply has something to draw (a chart
    takes tens of milliseconds, which the event loop must not wait for); at once
    when none has, as most rows are text only and the thread is not free."""
    if any(item.get("render") for item in payload):
        return await asyncio.to_thread(draw_all, payload)
    return draw_all(payload)


def sender_gone(name: str) -> bool:
    """Whether the sender `name` (host:pid:run[:...], see `PROCESS`) has stopped:
    it ran on this machine and its process is not running, or it had our pid
    in an earlier run (a container restarted as pid 1). Names of other
    machines, or of another form, are never judged: their lease ends them."""
    host, pid_text, run = (name.split(":") + ["", ""])[:3]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return run != RUN
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # a live process of another user
        return False
    return False


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
        delivery_due: Callable[[], None] | None = None,
    ) -> None:
        self.sessions, self.clock, self.channels, self.tuning = sessions, clock, channels, tuning
        self.default_lang = default_lang
        self.worker = worker or f"{PROCESS}:{id(self):x}"
        self.delivery_due = delivery_due  # wakes the claim loop (the server's)
        # Chats with a row written behind one this sender holds from a turn: when
        # that one is sent, the claim loop is woken for the next.
        self._behind: set[tuple[str, str]] = set()
        self._claimed_sends: set[asyncio.Task] = set()
        # "Sent" marks and progress waiting for the one transaction that writes
        # them (see `_write_together`), and whether that transaction is under way.
        self._writes: list[tuple[int, tuple[int, bool] | None, asyncio.Future[None]]] = []
        self._writing = False
        self._writer: asyncio.Task | None = None
        # One gate for every flush of this sender: the server's delivery loop and
        # its periodic tick flush side by side, and the rows in flight at a crash
        # (those a restart may send again) must stay within `concurrency`.
        self._gate = asyncio.Semaphore(max(1, tuning.concurrency))

    def with_worker(self, worker: str) -> Delivery:
        """The same delivery under another sender name (several senders in one process)."""
        twin = copy.copy(self)
        twin.worker = worker
        twin._gate = asyncio.Semaphore(max(1, self.tuning.concurrency))  # a sender of its own
        twin._behind, twin._claimed_sends = set(), set()
        twin._writes, twin._writing = [], False
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
        async with transaction(self.sessions, quick=True) as session:
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
        # rows can go out side by side without reordering any chat; each row is
        # marked sent the moment its send returns.
        if not rows:
            return 0
        heartbeat = asyncio.create_task(self._heartbeat([row.id for row in rows]))
        try:

            async def one(row: OutboxMessage) -> None:
                async with self._gate:
                    await self._send(row, recipients.get(row.id))

            await asyncio.gather(*(one(row) for row in rows))
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        return len(rows)

    # ---- rows a turn wrote already claimed by this sender ---------------------------

    def send_claimed(self, rows: list[tuple[OutboxMessage, Recipient | None]]) -> None:
        """Send rows that a turn wrote already leased to this sender (`worker`), in
        the background, the way a claim would: no claim query, no transaction
        before the send. Each row is the oldest unsent of its chat. If this
        process dies first, the lease ends and the claim loop sends them."""
        task = asyncio.create_task(self._send_claimed(rows))
        self._claimed_sends.add(task)
        task.add_done_callback(self._claimed_sends.discard)

    def waiting(self, channel: str, chat_id: str) -> None:
        """A row was written for a chat whose newest row was still unsent: wake
        the claim loop when this sender's row of that chat is done. (When another
        sender holds it, the entry stays; the periodic tick sends the row, and the
        set is bounded.)"""
        if len(self._behind) >= BEHIND_MAX:
            self._behind.clear()
        self._behind.add((channel, chat_id))

    @property
    def lease(self) -> timedelta:
        return self.tuning.lease

    async def settle(self, patience: float = 5.0) -> None:
        """Wait (up to `patience` seconds) for the claimed rows being sent (at shutdown)."""
        if self._claimed_sends:
            await asyncio.wait(set(self._claimed_sends), timeout=patience)

    async def _send_claimed(self, rows: list[tuple[OutboxMessage, Recipient | None]]) -> None:
        heartbeat = asyncio.create_task(self._heartbeat([row.id for row, _ in rows]))
        try:

            async def one(row: OutboxMessage, recipient: Recipient | None) -> None:
                async with self._gate:
                    await self._send(row, recipient)
                if self._behind and (row.channel, row.chat_id) in self._behind:
                    self._behind.discard((row.channel, row.chat_id))
                    if self.delivery_due is not None:
                        self.delivery_due()

            await asyncio.gather(*(one(row, recipient) for row, recipient in rows))
        except Exception:  # noqa: BLE001 - the lease ends and the claim loop sends them
            log.exception("outbox: rows claimed by a turn were not sent; the lease frees them")
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _heartbeat(self, row_ids: list[int]) -> None:
        """Renew the lease on the rows being sent, every third of a lease."""
        pause = max(self.tuning.lease.total_seconds() / 3, 0.05)
        while True:
            await asyncio.sleep(pause)
            try:
                async with transaction(self.sessions) as session:
                    until = self.clock.now() + self.tuning.lease
                    await queries.renew(session, row_ids, self.worker, until)
            except Exception:  # noqa: BLE001 - the next beat tries again; the lease is the bound
                log.warning("outbox: could not renew the lease of %s rows", len(row_ids))

    async def release_orphans(self) -> int:
        """Free at once the rows held by senders on this machine whose process is
        gone (a crash, kill -9): nobody waits a lease for them after a restart."""
        async with transaction(self.sessions) as session:
            gone = [name for name in await queries.holders(session) if sender_gone(name)]
            freed = await queries.release(session, gone, self.clock.now())
        if freed:
            log.warning("outbox: %s rows of stopped senders %s are sent again", freed, gone)
        return freed

    async def tick(self) -> int:
        """The periodic safety net: free the rows of senders that stopped, then send."""
        await self.release_orphans()
        return await self.drain()

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
        async def progress(sent_parts: int, *, token_refused: bool = False) -> None:
            await self._write_together(row.id, (sent_parts, token_refused))

        return progress

    async def _send(self, row: OutboxMessage, recipient: Recipient | None) -> None:
        """Prepare one row, hand it to its channel, and record the outcome at once."""
        channel = self.channels.get(row.channel)
        try:
            if channel is None:
                raise RetryLater(f"channel {row.channel} is not running here")
            if recipient is not None and not recipient.active:
                raise RecipientBlocked("the person blocked or unfollowed the bot")
            replies = await drawn(row.payload)
            lang = (recipient.lang if recipient else None) or self.default_lang
            await channel.send(to_outbound(row, replies, lang), self._progress(row))
        except RetryLater as exc:
            metrics.DELIVERIES.labels(row.channel, "retry").inc()
            await self._record(self._retry_transient, row, exc)
        except RecipientBlocked as exc:
            metrics.DELIVERIES.labels(row.channel, "blocked").inc()
            log.info("recipient blocked on %s chat %s: %s", row.channel, row.chat_id, exc)
            await self._record(self._blocked, row, exc)
        except Deferred as exc:
            metrics.DELIVERIES.labels(row.channel, "deferred").inc()
            log.info("outbox %s deferred: %s", row.id, exc)
            await self._record(self._deferred, row, exc, recipient)
        except PermanentFailure as exc:
            metrics.DELIVERIES.labels(row.channel, "failed").inc()
            log.error("outbox %s cannot be delivered: %s", row.id, exc)
            await self._record(self._final, row, queries.FAILED, str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug: retried a few times, then failed
            metrics.DELIVERIES.labels(row.channel, "error").inc()
            log.exception("outbox %s: unexpected send error", row.id)
            await self._record(self._retry_unexpected, row, exc)
        else:
            metrics.DELIVERIES.labels(row.channel, "sent").inc()
            await self._record(self._sent, row)

    async def _record(self, write: Callable[..., Awaitable[None]], *args: object) -> None:
        """Run one outcome write, retried briefly if the database hiccups: a sent
        row left unmarked would be sent again once its lease ends."""
        for pause in RECORD_PAUSES:
            try:
                await write(*args)
                return
            except Exception:  # noqa: BLE001 - logged; the lease is the last resort
                log.warning("outbox %s: could not record the outcome yet", args[0].id)
                await asyncio.sleep(pause)
        log.error("outbox %s: outcome not recorded; it will be tried again", args[0].id)

    async def _sent(self, row: OutboxMessage) -> None:
        """Mark `row` sent (see `_write_together`)."""
        await self._write_together(row.id, None)

    async def _write_together(self, row_id: int, progress: tuple[int, bool] | None) -> None:
        """Mark a row sent (`progress` None) or record its progress (parts sent, token
        refused), together with the other rows' marks that arrive while one such
        write is under way: under load one transaction per write would queue on
        SQLite's one writer. Returns once this row's write is committed (raises
        if it failed, for the caller to retry)."""
        done = asyncio.get_running_loop().create_future()
        self._writes.append((row_id, progress, done))
        if not self._writing:
            self._writing = True
            self._writer = asyncio.create_task(self._write_waiting())
        await done

    async def _write_waiting(self) -> None:
        try:
            while self._writes:
                writes, self._writes = self._writes, []
                sent = [row_id for row_id, progress, _ in writes if progress is None]
                try:
                    async with transaction(self.sessions, quick=True) as session:
                        if sent:
                            now = self.clock.now()
                            await queries.mark_sent(session, sent, self.worker, now)
                        for row_id, progress, _ in writes:
                            if progress is not None:
                                parts, refused = progress
                                await queries.record_progress(
                                    session, row_id, parts, token_refused=refused
                                )
                except Exception as exc:  # noqa: BLE001 - each waiter retries its own
                    for *_, done in writes:
                        if not done.done():
                            done.set_exception(exc)
                    continue
                for *_, done in writes:
                    if not done.done():
                        done.set_result(None)
        finally:
            self._writing = False

    async def _final(self, row: OutboxMessage, status: str, error: str) -> None:
        async with transaction(self.sessions) as session:
            await queries.mark_final(session, row.id, self.worker, status, error)

    async def _blocked(self, row: OutboxMessage, exc: RecipientBlocked) -> None:
        async with transaction(self.sessions) as session:
            await queries.mark_final(session, row.id, self.worker, queries.DROPPED, str(exc))
            await deactivate(session, row.account_id, "blocked")

    async def _deferred(
        self, row: OutboxMessage, exc: Deferred, recipient: Recipient | None
    ) -> None:
        async with transaction(self.sessions) as session:
            await queries.mark_final(session, row.id, self.worker, queries.DEFERRED, str(exc))
            if exc.audit_action:
                subject = recipient.person_id if recipient else None
                audit.record(
                    session, self.clock.now(), exc.audit_action, subject=subject, **exc.detail
                )

    async def _retry_transient(self, row: OutboxMessage, exc: RetryLater) -> None:
        """The platform is busy or down: try again later, for as long as the horizon."""
        now = self.clock.now()
        if now - as_utc(row.created_at) > self.tuning.horizon:
            log.error("outbox %s failed: still undeliverable after %s", row.id, self.tuning.horizon)
            await self._final(row, queries.FAILED, f"gave up after {self.tuning.horizon}: {exc}")
            return
        # The platform's own hint says when it is ready again; else back off.
        wait = exc.retry_after if exc.retry_after is not None else backoff(row.attempts)
        level = logging.WARNING if row.attempts == 1 else logging.INFO  # one loud line per row
        log.log(level, "outbox %s: retry in %.0fs (%s)", row.id, wait, exc)
        async with transaction(self.sessions) as session:
            at = now + timedelta(seconds=wait)
            await queries.mark_retry(session, row.id, self.worker, at, str(exc))

    async def _retry_unexpected(self, row: OutboxMessage, exc: Exception) -> None:
        """A bug in preparing or sending: a few tries, then the row fails (and the
        chat's later messages go on) instead of holding the chat for a day."""
        if row.attempts >= self.tuning.max_attempts:
            log.error("outbox %s failed after %s attempts: %r", row.id, row.attempts, exc)
            await self._final(row, queries.FAILED, repr(exc))
            return
        async with transaction(self.sessions) as session:
            at = self.clock.now() + timedelta(seconds=backoff(row.attempts))
            await queries.mark_retry(session, row.id, self.worker, at, repr(exc))
