"""The weekly post carries the nudged vs hold-out comparison with the running totals."""

from __future__ import annotations

from handlers.clock import FakeClock
from handlers.reports.arms import MIN_PEOPLE
from tests.drivers.chat import START, t
from tests.jobs.test_weekly import bound_app, run_for


async def test_the_weekly_post_compares_the_arms(sqlite_url):
    clock = FakeClock(START)
    app = await bound_app(sqlite_url, clock)
    try:
        assert len(await run_for(app, clock, 5)) == 1
        await app.delivery.drain(["test"])
        [post] = [m for m in app.channels["test"].sent if m.chat_id == "G-1"]
        totals = post.replies[1].text
        assert t(app, "arms.block").split("\n")[0] in totals
        assert t(app, "arms.too_small", min=MIN_PEOPLE) in totals  # two people: too few
    finally:
        await app.close()
