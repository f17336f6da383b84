"""The turn: one incoming message as one unit of work.

Dedupe by the platform's event id, load the person and their conversation
state, run the conversation engine, then write the state changes, the
replies and every message queued for someone else in one transaction.
Nothing is said that was not done: if anything fails, nothing is written
and the person gets an apology instead of silence.

In the server (`sender` set), the reply row is written already claimed by
this instance's delivery, with its usual lease, when nothing unsent comes
before it in its chat; delivery sends it as soon as the transaction commits,
with no claim query and no transaction before the send. If the process dies
first, the lease ends and the claim loop sends it like any other row.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, bindparam, func
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import aliased
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.channels.base import CoreUnavailable
from bot.flood import FloodGate, Verdict
from content.loader import Content
from handlers import engine, menus, metrics
from handlers.clock import Clock
from handlers.context import Ctx
from handlers.engine import Flow
from handlers.messages import Incoming, Reply
from handlers.policy import Policy
from storage import states
from storage.db import transaction
from storage.events import record_first
from storage.models import (
    AdminRole,
    ChannelAccount,
    ConversationState,
    Journey,
    NudgeCounter,
    OutboxMessage,
    Person,
)
from storage.outbox import PENDING, SENDING, NewMessage, Recipient, as_row, enqueue

log = logging.getLogger(__name__)

# LINE reply tokens live about a minute; answer well inside it or push instead.
REPLY_TOKEN_TTL = timedelta(seconds=50)
ATTEMPTS = 3  # a turn that meets a locked or busy database is tried this often

# What a database that is down, unreachable or locked raises (asyncpg raises
# OSError itself when the server refuses connections).
UNAVAILABLE = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    PoolTimeout,
    OSError,
    TimeoutError,
)


class ClaimedSender(Protocol):
    """A sender that takes the reply rows a turn wrote already leased to it."""

    worker: str
    lease: timedelta

    def send_claimed(self, rows: list[tuple[OutboxMessage, Recipient | None]]) -> None: ...

    def waiting(self, channel: str, chat_id: str) -> None: ...


Hot = list[tuple[OutboxMessage, Recipient | None]]


@functools.cache
def _context_query(postgres: bool) -> Any:
    """The turn's one read of the person (see `Turn._context`), built once per
    dialect and bound per turn: building this statement and working out its
    cache key took about 4 % of the serve process's CPU under 50 webhook users."""
    newest = (
        select(OutboxMessage.status)
        .where(
            OutboxMessage.chat_id == bindparam("chat_id"),
            OutboxMessage.channel == bindparam("channel"),
        )
        .order_by(OutboxMessage.id.desc())  # type: ignore[union-attr]
        .limit(1)
        .scalar_subquery()
    )
    earlier = aliased(Journey)
    latest_round = (
        select(func.max(earlier.round_no))
        .where(earlier.person_id == ChannelAccount.person_id)
        .scalar_subquery()
    )
    entities: list[Any] = [ChannelAccount, Person, NudgeCounter, AdminRole.role, Journey]
    if not postgres:
        entities.append(ConversationState)
    query = (
        select(*entities, newest)
        .outerjoin(Person, Person.id == ChannelAccount.person_id)
        .outerjoin(NudgeCounter, NudgeCounter.person_id == ChannelAccount.person_id)
        .outerjoin(AdminRole, AdminRole.person_id == ChannelAccount.person_id)
        .outerjoin(
            Journey,
            and_(Journey.person_id == ChannelAccount.person_id, Journey.round_no == latest_round),
        )
    )
    if not postgres:
        query = query.outerjoin(
            ConversationState, ConversationState.person_id == ChannelAccount.person_id
        )
    return query.where(
        ChannelAccount.channel == bindparam("channel"),
        ChannelAccount.external_id == bindparam("user_id"),
    )


# PostgreSQL: the person's conversation state, locked for the turn.
_STATE_FOR_UPDATE = (
    select(ConversationState)
    .where(ConversationState.person_id == bindparam("person_id"))
    .with_for_update()
)


class Turn:
    """Runs incoming messages through the engine, each in its own transaction."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        content: Content,
        policy: Policy,
        clock: Clock,
        flow: Flow,
        *,
        reads: async_sessionmaker[AsyncSession],
        sqlite: bool,
        written: Callable[[], None],
        concurrency: int | None = None,
        nudges_due: Callable[[list[int]], Awaitable[object]],
        flood: FloodGate | None = None,
    ) -> None:
        self.sessions, self.content, self.policy, self.clock, self.flow = (
            sessions,
            content,
            policy,
            clock,
            flow,
        )
        self.reads = reads  # the app's read-only sessions, for reports (`Ctx.reads`)
        self.written = written  # tells delivery that outbox rows were committed
        self.nudges_due = nudges_due  # settles nudges a turn queued (e.g. /nudge)
        self.flood = flood  # a fair share per person (None: no limit)
        # When set (the server sets it), a reply that is the oldest unsent row of
        # its chat is written already claimed by this sender, which sends it as
        # soon as the turn has committed (see `_write`).
        self.sender: ClaimedSender | None = None
        # SQLite has one writer: turns take turns with the other writers of this
        # process in `transaction` (storage.db). PostgreSQL: at most `concurrency`
        # turns hold a connection at once (the pool's size); a burst of webhooks
        # queues here, in order, rather than timing out at the pool and being refused.
        self._gate = (
            asyncio.Semaphore(concurrency)
            if not sqlite and concurrency is not None
            else contextlib.nullcontext()
        )

    async def handle(self, incoming: Incoming) -> list[int]:
        """Process one incoming message; returns the ids of the outbox rows written.

        Raises `CoreUnavailable` when the database could not store the event
        (down, unreachable, locked): the channel must then not acknowledge it.
        """
        incoming = incoming.cleaned()
        started = time.perf_counter()
        try:
            written = await self._handle(incoming)
        except CoreUnavailable:
            metrics.TURNS.labels(incoming.channel, "unavailable").inc()
            raise
        metrics.TURNS.labels(incoming.channel, "handled").inc()
        metrics.TURN_SECONDS.labels(incoming.channel).observe(time.perf_counter() - started)
        return written

    async def _handle(self, incoming: Incoming) -> list[int]:
        """The flood gate, then the turn, tried again on a database hiccup."""
        if self.flood is not None and incoming.kind in ("text", "choice"):
            verdict = self.flood.check(incoming.channel, incoming.user_id)
            if verdict is Verdict.DROP:  # a flood: not worth a database round trip
                return []
            if verdict is Verdict.WARN:
                log.info("%s user is flooding: answered once, the rest dropped", incoming.channel)
                return await self._apologise(incoming, "common.slow_down")
        for attempt in range(ATTEMPTS):
            try:
                async with self._gate:
                    ctx, written, claimed = await self._once(incoming)
            except UNAVAILABLE as exc:  # lock, serialization or connection trouble: try again
                log.warning("retrying %s after database error: %s", incoming.event_id, exc)
                await asyncio.sleep(0.05 * (attempt + 1))
                continue
            except Exception:
                log.exception("handler failed for %s/%s", incoming.channel, incoming.event_id)
                return await self._apologise(incoming)
            if claimed and self.sender is not None:
                self.sender.send_claimed(claimed)
            if len(written) > len(claimed):
                self.written()
            if ctx is not None and ctx.due_nudges:
                try:
                    await self.nudges_due(ctx.due_nudges)
                except Exception:  # noqa: BLE001 - stored already; the periodic sender settles them
                    log.exception("nudges queued by %s wait for the next send", incoming.event_id)
            return written
        raise CoreUnavailable(f"the database did not store {incoming.channel}/{incoming.event_id}")

    async def _once(self, incoming: Incoming) -> tuple[Ctx | None, list[int], Hot]:
        now = self.clock.now()
        async with transaction(self.sessions, quick=True) as session:
            if incoming.event_id and not await self._first_time(session, incoming, now):
                log.info("skipping redelivered event %s/%s", incoming.channel, incoming.event_id)
                return None, [], []
            ctx, newest = await self._context(session, incoming, now)
            await engine.run(ctx, self.flow)
            if ctx.conv is not None:  # None once the person erased their data
                await states.save(session, ctx.conv, now)
            written, claimed = await self._write(session, ctx, now, newest)
            return ctx, written, claimed

    async def _first_time(self, session: AsyncSession, incoming: Incoming, now: datetime) -> bool:
        """Record the event id; False when it was already processed (a redelivery)."""
        assert incoming.event_id is not None
        return await record_first(session, incoming.channel, incoming.event_id, now)

    async def _context(
        self, session: AsyncSession, incoming: Incoming, now: datetime
    ) -> tuple[Ctx, str | None]:
        """Load the person behind `incoming` (if they consented), their state and
        nudge counter, and the status of their chat's newest outbox row (None: it
        has none; PENDING for a stranger, whose chat is not looked at).

        One statement on SQLite (the account, the person, their latest journey
        round, the state and the counter joined; most turns ask for the round);
        on PostgreSQL the state is read apart, FOR UPDATE, which
        serialises two turns of one person (a lock cannot sit on an outer join).
        """
        postgres = session.bind.dialect.name == "postgresql"
        query = _context_query(postgres)
        who = {
            "channel": incoming.channel,
            "user_id": incoming.user_id,
            "chat_id": incoming.chat_id,
        }
        found = (await session.exec(query, params=who)).first()
        person = conv = None
        lang = self._guess_lang(incoming)
        if found is None:  # a stranger: what their chat holds is not known
            return self._ctx(session, incoming, now, lang), PENDING
        account, person, counter = found[0], found[1], found[2]
        if postgres:
            person_id = {"person_id": account.person_id}
            conv = (await session.exec(_STATE_FOR_UPDATE, params=person_id)).first()
        else:
            conv = found[5]
        if conv is None:
            conv = ConversationState(person_id=account.person_id, state="onboard.name")
        else:
            states.detach(session, conv)  # written once, at the end of the turn
        if person is not None:
            lang = person.lang
        ctx = self._ctx(session, incoming, now, lang, person=person, account=account, conv=conv)
        ctx.nudge_counter, ctx.nudge_counter_known = counter, True
        ctx.admin_role = found[3] or ""
        if found[4] is not None:
            ctx.begin_round(found[4])
        return ctx, found[-1]

    def _ctx(
        self, session: AsyncSession, incoming: Incoming, now: datetime, lang: str, **who: Any
    ) -> Ctx:
        return Ctx(
            session=session,
            content=self.content,
            now=now,
            incoming=incoming,
            lang=lang,
            policy=self.policy,
            reads=self.reads,
            **who,
        )

    def _guess_lang(self, incoming: Incoming) -> str:
        hint = (incoming.lang_hint or "").lower()
        if hint.startswith("en"):
            return "en"
        if hint.startswith("th"):
            return "th"
        return self.policy.lang

    async def _write(
        self, session: AsyncSession, ctx: Ctx, now: datetime, newest: str | None = PENDING
    ) -> tuple[list[int], Hot]:
        """Every message the handlers queued for others, then the replies as one outbox
        row for the chat they answer; returns the ids written, in that order, and
        the reply row when it was written claimed by `sender` (see `_claimable`).

        `newest` is the status of the chat's newest outbox row as the turn read it
        (None: the chat has none; PENDING when not known)."""
        # Messages to others first: when one of them goes to this same chat (an
        # admin's own copy of a broadcast), it arrives before the confirmation.
        messages = [
            NewMessage(
                channel=out.channel,
                chat_id=out.chat_id,
                account_id=out.account_id,
                kind=out.kind,
                payload=[r.to_json() for r in out.replies],
                dedupe_key=out.dedupe_key,
            )
            for out in ctx.outgoing
        ]
        incoming = ctx.incoming
        claimed: Hot = []
        if ctx.replies:
            self._follow_menu(ctx)
            reply = NewMessage(
                channel=incoming.channel,
                chat_id=incoming.chat_id,
                # A group's reply belongs to no one's account: a failed send to
                # the group must not deactivate the private account of whoever wrote.
                account_id=ctx.account.id
                if ctx.account and incoming.chat_type != "group"
                else None,
                kind="reply",
                payload=[r.to_json() for r in ctx.replies],
                reply_token=incoming.reply_token,
                reply_token_expires_at=now + REPLY_TOKEN_TTL if incoming.reply_token else None,
            )
            sender = self.sender
            recipient = self._claimable(ctx, reply, messages, newest)
            if sender is not None and recipient is not False:
                reply = replace(reply, claimed_by=sender.worker, claimed_until=now + sender.lease)
            elif sender is not None and newest in (PENDING, SENDING):
                sender.waiting(reply.channel, reply.chat_id)
            messages.append(reply)
        if not messages:
            return [], []
        written = await enqueue(session, messages, now)
        last = len(messages) - 1
        if messages[last].claimed_by is not None:
            assert recipient is not False
            claimed.append((as_row(messages[last], written[last], now), recipient))
        return [written[i] for i in sorted(written)], claimed

    def _follow_menu(self, ctx: Ctx) -> None:
        """When the person's menu is not the one last sent to this chat (another part
        of the journey, a seat in the working group, another language), send it
        with the last reply and remember it; a group's reply carries none."""
        account = ctx.account
        if account is None or ctx.incoming.chat_type == "group":
            return
        menu = menus.current(ctx, self.flow)
        if menu is None or menu.key == account.menu:
            return
        account.menu = menu.key
        ctx.session.add(account)
        ctx.replies[-1] = replace(ctx.replies[-1], menu=menu.key)

    def _claimable(
        self, ctx: Ctx, reply: NewMessage, others: list[NewMessage], newest: str | None
    ) -> Recipient | None | bool:
        """The reply's recipient (None: a group, no account) when the reply may be
        written claimed and sent at once: the chat has nothing unsent before it
        (its newest row is finished, and no other message of this turn goes to
        it) and the person is still there. False when it must queue as usual."""
        if newest in (PENDING, SENDING) or ctx.conv is None:
            return False
        if any(m.channel == reply.channel and m.chat_id == reply.chat_id for m in others):
            return False
        if reply.account_id is None:
            return None
        account, person = ctx.account, ctx.person
        if account is None or person is None or account.id != reply.account_id:
            return False
        active = bool(account.active) or account.chat_id != reply.chat_id
        return Recipient(active, person.id, person.lang)

    async def _apologise(self, incoming: Incoming, key: str = "common.error") -> list[int]:
        """A bug must not leave the person in silence: record the event and say sorry
        (or, with `key`, say something else without running the conversation).

        When even that cannot be stored, raise `CoreUnavailable`: the event was
        not recorded, so it must not be acknowledged either."""
        now = self.clock.now()
        lang = self._guess_lang(incoming)
        try:
            async with transaction(self.sessions) as session:
                if incoming.event_id and not await self._first_time(session, incoming, now):
                    return []
                if incoming.kind == "unfollow":
                    return []
                ctx = self._ctx(session, incoming, now, lang)
                ctx.replies.append(Reply(text=self.content.t(key, lang)))
                written, _ = await self._write(session, ctx, now)
        except Exception as exc:
            log.exception("could not even apologise for %s", incoming.event_id)
            raise CoreUnavailable(f"nothing stored for {incoming.event_id}") from exc
        if written:
            self.written()
        return written
