"""The weekly summary in each agency's working-group chat.

`WeeklyPosts.post_due` is called by the scheduler every few minutes and is
idempotent: once the configured day and time of the week have passed in the
agency's time zone, it posts that week's summary unless a `WeeklyPost` row for
the week exists. The row and the outbox message are written in one
transaction and the row is unique per agency and week, so several instances
(or a restart) never post twice; a server that was down at the hour posts when
it comes back within the same week.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from content.loader import Content
from handlers.clock import Clock
from handlers.messages import Reply
from handlers.policy import Policy
from handlers.reports.period import current_fiscal_year
from handlers.reports.summary import agency_figures, summary_replies
from storage.db import read_sessions_of, transaction, writing
from storage.models import Agency, WeeklyPost, WorkingGroupChat
from storage.outbox import NewMessage, enqueue
from storage.reports import Period, WeekActivity, week_activity
from storage.timeutil import to_local

log = logging.getLogger(__name__)

WEEKLY_TICK_MINUTES = 5  # how often the scheduler looks (the post itself is once a week)
WEEK = timedelta(days=7)
SHOWN_TIPS = 5


def week_text(content: Content, lang: str, activity: WeekActivity) -> str:
    """What happened this week, before the running totals."""
    tips = "\n".join(
        content.t("weekly.tip_line", lang, text=tip) for tip in activity.tips[:SHOWN_TIPS]
    )
    return content.t(
        "weekly.this_week",
        lang,
        joined=activity.joined,
        steps=activity.steps_completed,
        rounds=activity.rounds_completed,
        uses=activity.uses_at_work,
        inactive=activity.newly_inactive,
        tip_count=len(activity.tips),
        tips=tips or content.t("weekly.no_tips", lang),
    )


def week_key(day: date) -> str:
    """The ISO year-week of `day`, e.g. 2026-W48."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def due_moment(local_now: datetime, weekday: int, at: time) -> datetime:
    """When this week's post is due, in the agency's time zone (weeks start on Monday)."""
    monday = local_now.date() - timedelta(days=local_now.weekday())
    return datetime.combine(monday + timedelta(days=weekday), at, tzinfo=local_now.tzinfo)


class WeeklyPosts:
    """The weekly summary in each bound working-group chat."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        content: Content,
        clock: Clock,
        policy: Policy,
        *,
        delivery_due: Callable[[], None],
        read_sessions: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self.sessions, self.content, self.clock, self.policy = sessions, content, clock, policy
        self.delivery_due = delivery_due
        # Finding the bound chats only reads (see storage.db.read_only).
        self.read_sessions = read_sessions or read_sessions_of(sessions)

    async def post_due(self, now: datetime | None = None) -> int:
        """Post every summary that is due and not yet posted; returns how many were posted."""
        now = now or self.clock.now()
        async with transaction(self.read_sessions) as session:
            result = await session.exec(
                select(WorkingGroupChat, Agency).join(
                    Agency, Agency.id == WorkingGroupChat.agency_id
                )
            )
            chats = list(result.all())
        posted = 0
        for chat, agency in chats:
            local_now = to_local(now, agency.timezone or self.policy.timezone)
            day, at = self.policy.weekly_slot(agency.weekly_day, agency.weekly_time)
            if local_now < due_moment(local_now, day, at):
                continue
            try:
                if await self._post_one(chat, agency, week_key(local_now.date()), now):
                    posted += 1
            except Exception:
                log.exception(
                    "weekly summary for %s failed; the next tick tries again", agency.code
                )
        if posted:
            self.delivery_due()
        return posted

    async def tick(self) -> None:
        try:
            await self.post_due()
        except Exception:
            log.exception("weekly summaries failed; the next tick tries again")

    async def _posted(self, agency: Agency, week: str, session: AsyncSession | None = None) -> bool:
        """Has the agency's summary of `week` been posted (in `session`, or a read)?"""
        query = select(WeeklyPost.id).where(
            WeeklyPost.agency_id == agency.id, WeeklyPost.week == week
        )
        if session is not None:
            return (await session.exec(query)).first() is not None
        async with self.read_sessions() as reading:
            return (await reading.exec(query)).first() is not None

    async def _post_one(
        self, chat: WorkingGroupChat, agency: Agency, week: str, now: datetime
    ) -> bool:
        """Post one agency's summary for `week`; False when it was posted already.

        The row and the message commit together, and the row is unique per
        agency and week. The charts are drawn at delivery, not here.
        """
        if await self._posted(agency, week):
            return False
        # Counted in a transaction of its own, before the one that posts: the people
        # whose rows changed are worked out again there (storage.facts).
        figures = await agency_figures(
            writing(self.sessions),
            self.content,
            agency,
            current_fiscal_year(now, agency.timezone),
        )
        try:
            async with transaction(self.sessions) as session:
                if await self._posted(agency, week, session):
                    return False
                day = to_local(now, agency.timezone).date()
                activity = await week_activity(
                    session,
                    agency.id,  # type: ignore[arg-type]
                    Period(now - WEEK, now),
                    timedelta(days=self.policy.inactive_days),
                )
                replies = [
                    Reply(text=week_text(self.content, chat.lang, activity)),
                    *summary_replies(
                        self.content,
                        chat.lang,
                        agency,
                        figures,
                        day,
                        heading=self.content.t("weekly.totals", chat.lang),
                    ),
                ]
                message = NewMessage(
                    channel=chat.channel,
                    chat_id=chat.chat_id,
                    account_id=None,
                    kind="weekly",
                    payload=[r.to_json() for r in replies],
                    dedupe_key=f"weekly-{agency.code}-{week}",
                )
                written = await enqueue(session, [message], now)
                if 0 not in written:
                    return False
                session.add(
                    WeeklyPost(agency_id=agency.id, week=week, posted_at=now, outbox_id=written[0])
                )
                await session.flush()
        except IntegrityError:
            log.info("weekly summary %s %s was posted by another instance", agency.code, week)
            return False
        log.info("posted the weekly summary %s %s", agency.code, week)
        return True
