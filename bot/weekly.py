"""The weekly summary in each agency's working-group chat.

`post_weekly_summaries` is called by the scheduler every few minutes and is
idempotent: once the configured day and time of the week have passed in the
agency's time zone, it posts that week's summary unless a `WeeklyPost` row for
the week exists. The row and the outbox message are written in one
transaction and the row is unique per agency and week, so several instances
(or a restart) never post twice; a server that was down at the hour posts when
it comes back within the same week.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, time, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.app import App
from handlers.admin.outbound import push_to_chat
from handlers.admin.summary import agency_summary, summary_replies
from handlers.messages import Reply
from storage.db import transaction
from storage.models import Agency, WeeklyPost, WorkingGroupChat
from storage.timeutil import to_local

log = logging.getLogger(__name__)

WEEKLY_TICK_MINUTES = 5  # how often the scheduler looks (the post itself is once a week)


def week_key(day: date) -> str:
    """The ISO year-week of `day`, e.g. 2026-W48."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def parse_clock(text: str) -> time:
    """'15:00' -> 15:00; raises ValueError with the setting's name otherwise."""
    try:
        hours, minutes = (int(part) for part in text.split(":"))
        return time(hours, minutes)
    except ValueError as exc:
        raise ValueError(f"DLCOACH_WEEKLY_TIME must look like 15:00, not {text!r}") from exc


def due_moment(local_now: datetime, weekday: int, at: time) -> datetime:
    """When this week's post is due, in the agency's time zone (weeks start on Monday)."""
    monday = local_now.date() - timedelta(days=local_now.weekday())
    return datetime.combine(monday + timedelta(days=weekday), at, tzinfo=local_now.tzinfo)


async def post_weekly_summaries(app: App, now: datetime | None = None) -> int:
    """Post every summary that is due and not yet posted; returns how many were posted."""
    now = now or app.clock.now()
    weekday = app.settings.dlcoach_weekly_day
    at = parse_clock(app.settings.dlcoach_weekly_time)
    async with transaction(app.sessions) as session:
        result = await session.exec(
            select(WorkingGroupChat, Agency).join(Agency, Agency.id == WorkingGroupChat.agency_id)
        )
        chats = list(result.all())
    posted = 0
    for chat, agency in chats:
        local_now = to_local(now, agency.timezone or app.settings.timezone)
        if local_now < due_moment(local_now, weekday, at):
            continue
        try:
            if await _post_one(app, chat, agency, week_key(local_now.date()), now):
                posted += 1
        except Exception:
            log.exception("weekly summary for %s failed; the next tick tries again", agency.code)
    if posted:
        app.delivery_wakeup.set()
    return posted


async def _already_posted(app: App, agency: Agency, week: str) -> bool:
    async with transaction(app.sessions) as session:
        found = await session.exec(
            select(WeeklyPost.id).where(WeeklyPost.agency_id == agency.id, WeeklyPost.week == week)
        )
        return found.first() is not None


async def _post_one(
    app: App, chat: WorkingGroupChat, agency: Agency, week: str, now: datetime
) -> bool:
    """Post one agency's summary for `week`; False when it was posted already."""
    if await _already_posted(app, agency, week):
        return False
    async with transaction(app.sessions) as session:
        _, figures = await agency_summary(session, app.content, agency)
    day = to_local(now, agency.timezone).date()
    # Charts take a moment to draw: outside any transaction, off the event loop.
    replies: list[Reply] = await asyncio.to_thread(
        summary_replies,
        app.content,
        chat.lang,
        agency,
        figures,
        day,
        heading=app.content.t("weekly.heading", chat.lang),
    )
    try:
        async with transaction(app.sessions) as session:
            row = await push_to_chat(
                session,
                chat.channel,
                chat.chat_id,
                replies,
                kind="weekly",
                now=now,
                dedupe_key=f"weekly-{agency.code}-{week}",
            )
            if row is None:
                return False
            session.add(WeeklyPost(agency_id=agency.id, week=week, posted_at=now, outbox_id=row.id))
            await session.flush()
    except IntegrityError:
        log.info("weekly summary %s %s was posted by another instance", agency.code, week)
        return False
    log.info("posted the weekly summary %s %s", agency.code, week)
    return True
