"""A send starts with a small batch and doubles it up to the configured batch, so
the first messages of a wave reach the outbox (and the platform) quickly."""

from __future__ import annotations

from collections import Counter
from itertools import islice

from sqlmodel import select

import jobs.nudges as nudge_jobs
from jobs.nudges import FIRST_BATCH, batch_sizes
from storage.models import Nudge
from storage.models.nudges import SENT
from tests.drivers.chat import RecordingChannel, make_app
from tests.drivers.reminders import bkk
from tests.jobs.test_nudges_scale import bulk_people


def test_batch_sizes_start_small_and_double_up_to_the_batch():
    assert FIRST_BATCH == 25
    assert list(islice(batch_sizes(250), 6)) == [25, 50, 100, 200, 250, 250]
    assert list(islice(batch_sizes(10), 3)) == [10, 10, 10]
    assert list(islice(batch_sizes(1), 2)) == [1, 1]


async def test_a_send_ramps_up_its_batches_and_sends_every_nudge_once(
    database_url, clock, monkeypatch
):
    clock.set(bkk(7, 12))
    app = await make_app(
        database_url, clock, dlcoach_nudge_batch=250, dlcoach_nudge_outbox_high_water=0
    )
    app.add_channel(RecordingChannel())
    people = await bulk_people(app, 700, with_goal=1)
    clock.set(bkk(8, 7, 31))
    taken: list[tuple[int, int]] = []
    real = nudge_jobs.send_due

    async def spy(session, **kwargs):  # noqa: ANN001, ANN003, ANN202
        report = await real(session, **kwargs)
        taken.append((kwargs["limit"], report.people))
        return report

    monkeypatch.setattr(nudge_jobs, "send_due", spy)
    report = await app.nudges.send()
    assert len(people) == 700 and report.sent == sum(people.values()) == 701
    # 25 + 50 + 100 + 200 + 250 = 625, then 75 of 250, then nothing is left
    assert taken == [(25, 25), (50, 50), (100, 100), (200, 200), (250, 250), (250, 75), (250, 0)]
    async with app.sessions() as session:
        nudges = list((await session.exec(select(Nudge))).all())
    assert Counter(n.status for n in nudges) == {SENT: 701}
    await app.close()
