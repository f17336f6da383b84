"""A simulated month (December 2026, fake clock): a hold-out person gets only the
check-ins they chose (and the notice when those pause themselves), while their
nudged twin also gets the stuck, goal and come-back ("inactive") nudges; no
follow-up is ever planned for them, and a working-group nudge (/nudge) skips
them too."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import select

from handlers.policy import Thresholds
from handlers.reminders.rules import ADMIN, CHECKIN, HOLDOUT, LADDER
from storage import nudges as nudge_queries
from storage.db import transaction
from storage.models import Nudge
from storage.models.nudges import CANCELLED, PLANNED, SENT
from tests.drivers.chat import RecordingChannel, make_app
from tests.drivers.reminders import Profile, World, bkk

EXTRA = {"stuck", "goal", "inactive", "followup", "comeback"}


def twins(name: str, **profile: object) -> tuple[Profile, Profile]:
    return Profile(name, **profile), Profile(f"{name}-held", holdout=True, **profile)


async def test_a_month_of_nudges_for_twins_in_and_out_of_the_hold_out(sqlite_url, clock):
    clock.set(bkk(1, 0))
    app = await make_app(sqlite_url, clock)
    channel = RecordingChannel()
    app.add_channel(channel)
    world = World(app, channel)
    # Taking part, but on step 3 since 20 November, with a goal due on 15 December.
    busy = twins(
        "busy",
        time="09:00",
        step=3,
        plan=None,
        step_started=bkk(20, 9, month=11),
        last_active=bkk(30, 10, month=11),
        goals=(("word", date(2026, 12, 15)),),
        answers=True,
    )
    # Silent since 25 November and never answering.
    quiet = twins("quiet", time="09:00", last_active=bkk(25, 10, month=11))
    users = {}
    for profile in (*busy, *quiet):
        users[profile.name] = await world.add(profile, user=profile.name)
    await world.run(bkk(1, 0), bkk(31, 0), step=timedelta(hours=1), plan_every=timedelta(hours=6))
    got = world.table()

    def kinds(user: str) -> set[str]:
        return set().union(*(k for _, k in got[user])) if got[user] else set()

    # The nudged twins get the extras (the busy one each kind it qualifies for).
    assert {"checkin", "stuck", "goal"} <= kinds("busy")
    assert "inactive" in kinds("quiet")
    # Their hold-out twins get only their check-ins, in every slot the twin had one
    # (where a quiet spell brought the twin an "inactive" nudge, the check-in stays).
    slot_days = [day for day, _ in got["busy"]]
    assert got["busy-held"] == [(day, {CHECKIN}) for day in slot_days]
    assert len(slot_days) >= 15
    # The silent hold-out twin gets its check-ins until the ladder pauses them (that
    # notice is about the check-ins, so it goes to both groups), and no follow-ups.
    unanswered = Thresholds().max_unanswered
    assert [k for _, k in got["quiet-held"]] == [{CHECKIN}] * unanswered + [{LADDER}]
    assert [day for day, _ in got["quiet-held"]] == slot_days[: unanswered + 1]
    assert len(got["quiet"]) < len(slot_days)  # the nudged twin's come-backs back off

    async with app.sessions() as session:
        rows = (await session.exec(select(Nudge))).all()
    held_ids = {world.ids["busy-held"], world.ids["quiet-held"]}
    assert not [r for r in rows if r.person_id in held_ids and r.kind in EXTRA]

    # A working-group nudge to both quiet twins: the hold-out one is cancelled, as "holdout".
    now = bkk(30, 10)
    clock.set(now)
    async with transaction(app.sessions) as session:
        ids = [world.ids["quiet"], world.ids["quiet-held"]]
        await nudge_queries.ensure_counters(session, ids)
        await nudge_queries.insert_planned(
            session,
            [
                {
                    "person_id": pid,
                    "kind": ADMIN,
                    "slot": f"{ADMIN}:2026-12-30",
                    "due_at": now,
                    "status": PLANNED,
                    "detail": {"agency_name": "DEMO", "idle_days": 35},
                    "created_at": now,
                }
                for pid in ids
            ],
        )
    await app.nudges.send()
    async with app.sessions() as session:
        admin = {
            r.person_id: (r.status, r.reason)
            for r in (await session.exec(select(Nudge).where(Nudge.kind == ADMIN))).all()
        }
    assert admin[world.ids["quiet"]][0] == SENT
    assert admin[world.ids["quiet-held"]] == (CANCELLED, HOLDOUT)
    await app.close()
