"""The come-back nudge carries the person's own step-1 reason (why it matters to
them), in one short line; the daily check-in does not repeat it, and a person
without a reason in their current round gets no empty quote."""

from __future__ import annotations

from sqlmodel import select

from handlers.reminders.render import QUOTE_MAX, short_quote
from storage.db import transaction
from storage.models import Journey, StepEntry
from tests.drivers.chat import RecordingChannel, make_app, t
from tests.drivers.reminders import Profile, World, bkk

REASON = "อยากให้บริการประชาชนได้เร็วขึ้น"
QUOTE_MARK = "💭"


async def give_reason(world: World, user: str, text: str) -> None:
    """Write a step-1 reason into the person's current (latest) round."""
    person_id = world.ids[user]
    async with transaction(world.app.sessions) as session:
        journey = (
            await session.exec(
                select(Journey)
                .where(Journey.person_id == person_id)
                .order_by(Journey.round_no.desc())
            )
        ).first()
        assert journey is not None
        session.add(
            StepEntry(
                journey_id=journey.id,
                person_id=person_id,
                step=1,
                kind="reason",
                text=text,
                created_at=bkk(1, 9),
            )
        )


async def test_the_come_back_nudge_quotes_the_reason_and_no_reason_means_no_quote(
    sqlite_url, clock
):
    clock.set(bkk(7, 0))
    app = await make_app(sqlite_url, clock)
    channel = RecordingChannel()
    app.add_channel(channel)
    world = World(app, channel)
    # Silent since Thu 3: a come-back nudge on Tue 8; answering it, a check-in on Wed 9.
    back = await world.add(Profile("back", time="16:30", last_active=bkk(3, 10), answers=True))
    await give_reason(world, back, REASON)
    silent = await world.add(Profile("silent", last_active=bkk(3, 10)))  # no reason at all
    await world.run(bkk(7, 0), bkk(10, 0))

    got = {
        user: [(item.kinds, item.reply.text) for item in world.received if item.user == user]
        for user in (back, silent)
    }
    [(first_kinds, comeback), (second_kinds, checkin)] = got[back]
    assert first_kinds == {"inactive"} and second_kinds == {"checkin"}
    assert t(app, "reminders.reason", reason=REASON) in comeback
    assert REASON not in checkin  # the daily check-in keeps to the plan and next action
    [(kinds, text)] = got[silent]
    assert kinds == {"inactive"}
    assert QUOTE_MARK not in text and "“”" not in text
    assert t(app, "reminders.reason", reason="").split("“")[0] not in text
    await app.close()


async def test_a_reason_of_an_earlier_round_is_not_quoted(sqlite_url, clock):
    clock.set(bkk(7, 0))
    app = await make_app(sqlite_url, clock)
    channel = RecordingChannel()
    app.add_channel(channel)
    world = World(app, channel)
    user = await world.add(Profile("new_round", last_active=bkk(3, 10), step=1))
    await give_reason(world, user, REASON)
    async with transaction(app.sessions) as session:  # a new round, step 1 not done yet
        old = (
            await session.exec(select(Journey).where(Journey.person_id == world.ids[user]))
        ).one()
        session.add(
            Journey(
                person_id=old.person_id,
                round_no=old.round_no + 1,
                current_step=1,
                started_at=bkk(5, 9),
                step_started_at=bkk(5, 9),
            )
        )
    await world.run(bkk(7, 0), bkk(10, 0))
    texts = [item.reply.text for item in world.received]
    assert texts and all(REASON not in text for text in texts)
    await app.close()


def test_a_long_reason_is_cut_to_one_line_between_whole_letters():
    long = "ก" + "ที่" * QUOTE_MAX  # the cut falls on a tone mark: it backs off to the letter
    quoted = short_quote(long)
    assert quoted.endswith("…") and len(quoted) <= QUOTE_MAX + 1
    assert quoted[:-1].endswith("ที่")
    assert short_quote("  สั้น\nดี  ") == "สั้น ดี"
