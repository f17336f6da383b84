"""The composition root: wires settings, database, content, clock and channels,
and runs one incoming message as one unit of work.

`App.handle` is the only way a message enters the core: dedupe by event id,
load the person, run the handlers, and write state changes and outbox rows in
one transaction. Delivery happens afterwards (`bot.outbox.Delivery`).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import select

from bot.channels.base import Channel
from bot.config import Settings
from content.loader import Content, load_content
from handlers import flow, onboarding
from handlers.clock import Clock, SystemClock
from handlers.context import Ctx
from handlers.messages import Incoming, Reply
from storage.db import make_engine, make_sessionmaker, transaction
from storage.models import ChannelAccount, ConversationState, OutboxMessage, Person, ProcessedEvent
from storage.nudges import note_answer

log = logging.getLogger(__name__)

# LINE reply tokens live about a minute; answer well inside it or push instead.
REPLY_TOKEN_TTL = timedelta(seconds=50)


class App:
    """Everything the bot needs, built once per process (or per test)."""

    def __init__(
        self,
        settings: Settings,
        *,
        content: Content | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.content = content or load_content(settings.dlcoach_content_dir)
        self.clock = clock or SystemClock()
        self.engine = make_engine(settings.database_url)
        self.sessions = make_sessionmaker(self.engine)
        self.channels: dict[str, Channel] = {}
        # SQLite has one writer: serialise turns inside this process instead of
        # letting two transactions collide on the file lock.
        self._sqlite_lock = asyncio.Lock() if self.engine.dialect.name == "sqlite" else None
        self.delivery_wakeup = asyncio.Event()

    def add_channel(self, channel: Channel) -> None:
        self.channels[channel.name] = channel

    async def close(self) -> None:
        await self.engine.dispose()

    # ---- one incoming message ------------------------------------------------

    async def handle(self, incoming: Incoming) -> list[int]:
        """Process one incoming message; returns the ids of the outbox rows written."""
        for attempt in range(3):
            try:
                if self._sqlite_lock is not None:
                    async with self._sqlite_lock:
                        return await self._handle_once(incoming)
                return await self._handle_once(incoming)
            except OperationalError as exc:  # lock or serialization trouble: try again
                log.warning("retrying %s after database error: %s", incoming.event_id, exc)
                await asyncio.sleep(0.05 * (attempt + 1))
            except Exception:
                log.exception("handler failed for %s/%s", incoming.channel, incoming.event_id)
                return await self._apologise(incoming)
        return await self._apologise(incoming)

    async def _handle_once(self, incoming: Incoming) -> list[int]:
        now = self.clock.now()
        async with transaction(self.sessions) as session:
            if incoming.event_id and not await self._first_time(session, incoming, now):
                log.info("skipping redelivered event %s/%s", incoming.channel, incoming.event_id)
                return []
            ctx = await self._context(session, incoming, now)
            if incoming.chat_type == "group":
                await flow.handle_group(ctx)
            elif incoming.kind == "unfollow":
                await self._unfollow(ctx)
            elif ctx.person is None:
                await onboarding.handle_stranger(ctx)
            else:
                await self._touch(ctx)
                await flow.handle(ctx)
                if ctx.conv is not None:  # None once the person erased their data
                    session.add(ctx.conv)
            return await self._enqueue(session, incoming, ctx, now)

    async def _first_time(self, session, incoming: Incoming, now) -> bool:  # noqa: ANN001
        """Record the event id; False when it was already processed (a redelivery)."""
        exists = await session.get(ProcessedEvent, (incoming.channel, incoming.event_id))
        if exists is not None:
            return False
        try:
            async with session.begin_nested():
                session.add(
                    ProcessedEvent(
                        channel=incoming.channel, event_id=incoming.event_id, processed_at=now
                    )
                )
        except IntegrityError:
            return False
        return True

    async def _context(self, session, incoming: Incoming, now) -> Ctx:  # noqa: ANN001
        """Load the person behind `incoming` (if they consented) and their state."""
        result = await session.exec(
            select(ChannelAccount).where(
                ChannelAccount.channel == incoming.channel,
                ChannelAccount.external_id == incoming.user_id,
            )
        )
        account = result.first()
        person = conv = None
        lang = self._guess_lang(incoming)
        if account is not None:
            person = await session.get(Person, account.person_id)
            conv_query = select(ConversationState).where(
                ConversationState.person_id == account.person_id
            )
            if session.bind.dialect.name == "postgresql":
                conv_query = conv_query.with_for_update()
            conv = (await session.exec(conv_query)).first()
            if conv is None:
                conv = ConversationState(person_id=account.person_id, state="onboard.name")
            if person is not None:
                lang = person.lang
        return Ctx(
            session=session,
            content=self.content,
            now=now,
            incoming=incoming,
            lang=lang,
            person=person,
            account=account,
            conv=conv,
            settings=self.settings,
        )

    def _guess_lang(self, incoming: Incoming) -> str:
        hint = (incoming.lang_hint or "").lower()
        if hint.startswith("en"):
            return "en"
        if hint.startswith("th"):
            return "th"
        return self.settings.default_lang

    async def _touch(self, ctx: Ctx) -> None:
        """The person wrote: they are active again (even if they had blocked the bot)."""
        assert ctx.person is not None and ctx.account is not None
        ctx.person.last_active_at = ctx.now
        ctx.account.last_incoming_at = ctx.now
        ctx.account.chat_id = ctx.incoming.chat_id
        if not ctx.account.active:
            ctx.account.active = True
            ctx.account.inactive_reason = None
        ctx.session.add(ctx.person)
        ctx.session.add(ctx.account)
        # Writing answers any nudge sent before: its ignored count starts again.
        await note_answer(ctx.session, ctx.person.id, ctx.now)

    async def _unfollow(self, ctx: Ctx) -> None:
        """The person blocked or unfollowed: no more sends until they come back."""
        from storage.outbox import deactivate_account

        if ctx.account is not None:
            await deactivate_account(ctx.session, ctx.account.id, "unfollowed", ctx.now)

    async def _enqueue(self, session, incoming: Incoming, ctx: Ctx, now) -> list[int]:  # noqa: ANN001
        """Write the replies as one outbox row for the chat they answer."""
        if not ctx.replies:
            return []
        row = OutboxMessage(
            channel=incoming.channel,
            chat_id=incoming.chat_id,
            # A group's reply belongs to no one's account: a failed send to the
            # group must not deactivate the private account of whoever wrote.
            account_id=ctx.account.id if ctx.account and incoming.chat_type != "group" else None,
            kind="reply",
            payload=[r.to_json() for r in ctx.replies],
            reply_token=incoming.reply_token,
            reply_token_expires_at=now + REPLY_TOKEN_TTL if incoming.reply_token else None,
            next_attempt_at=now,
            created_at=now,
        )
        session.add(row)
        await session.flush()
        self.delivery_wakeup.set()
        return [row.id]

    async def _apologise(self, incoming: Incoming) -> list[int]:
        """A bug must not leave the person in silence: record the event and say sorry."""
        now = self.clock.now()
        lang = self._guess_lang(incoming)
        try:
            async with transaction(self.sessions) as session:
                if incoming.event_id and not await self._first_time(session, incoming, now):
                    return []
                if incoming.kind == "unfollow":
                    return []
                ctx = Ctx(
                    session=session, content=self.content, now=now, incoming=incoming, lang=lang
                )
                ctx.replies.append(Reply(text=self.content.t("common.error", lang)))
                return await self._enqueue(session, incoming, ctx, now)
        except Exception:
            log.exception("could not even apologise for %s", incoming.event_id)
            return []
