"""When the periodic work runs: delivery's safety-net tick, nudge planning and
sending, the weekly post, the summaries' figures. APScheduler only decides when; what is due lives in
the database, so a restart or a second instance neither loses nor doubles
anything (see `jobs/`)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app import App
from jobs.weekly import WEEKLY_TICK_MINUTES

DELIVERY_TICK_SECONDS = 2
RETENTION_TICK_MINUTES = 60
FACTS_TICK_SECONDS = 60  # changed people are worked into the summaries' figures this often
MEDIA_TICK_MINUTES = 10  # expired published files are deleted this often (see bot.media)


def _every(scheduler: AsyncIOScheduler, job, name: str, **interval) -> None:  # noqa: ANN001, ANN003
    """Add `job` every `interval`, one run at a time, missed runs folded into one."""
    scheduler.add_job(job, "interval", id=name, max_instances=1, coalesce=True, **interval)


def scheduler_for(app: App) -> AsyncIOScheduler:
    """A scheduler with every periodic job of `app` (not started). The nudge ticks
    run once right away, to catch up after a restart."""
    # APScheduler logs two INFO lines per run of every tick: quiet unless debugging.
    quiet = logging.getLogger("apscheduler")
    if quiet.getEffectiveLevel() > logging.DEBUG:
        quiet.setLevel(logging.WARNING)
    scheduler = AsyncIOScheduler(timezone="UTC")
    start = datetime.now(UTC)
    tuning = app.nudges.tuning
    _every(scheduler, app.delivery.tick, "outbox", seconds=DELIVERY_TICK_SECONDS)
    _every(scheduler, app.weekly.tick, "weekly", minutes=WEEKLY_TICK_MINUTES)
    _every(scheduler, app.retention.tick, "retention", minutes=RETENTION_TICK_MINUTES)
    _every(scheduler, app.media.purge, "media", minutes=MEDIA_TICK_MINUTES)
    _every(scheduler, app.facts.tick, "facts", seconds=FACTS_TICK_SECONDS)
    _every(
        scheduler,
        app.nudges.plan_tick,
        "nudge-plan",
        minutes=tuning.plan_minutes,
        next_run_time=start,
    )
    _every(
        scheduler,
        app.nudges.send_tick,
        "nudge-send",
        seconds=tuning.send_seconds,
        next_run_time=start + timedelta(seconds=5),
    )
    return scheduler
