"""Recall from the person's own log, on a fake clock: a few days after a learning
entry the reminder slot asks one question about it, quoting it; never twice for
one entry; not for a finished journey. Answering keeps the answer, and one tap
makes it an evidence entry that the report counts like one logged in step 5;
skipping stores nothing.

The week is Monday 7 to Sunday 13 December 2026 (Mon 7 and Thu 10 are Thai
public holidays); reminders at 07:30 on working days; the entry is written on
Saturday 5 at 10:00, so it is ripe (3 days) from Tuesday 8 at 10:00.
"""

from __future__ import annotations

from sqlmodel import select

from storage.db import transaction
from storage.models import ConversationState, Journey, Nudge, StepEntry
from storage.models.nudges import SENT
from storage.reports import Period, person_rows
from tests.drivers.bulk import SKILLS
from tests.drivers.chat import Person, RecordingChannel, make_app, t
from tests.drivers.reminders import Profile, Received, World, bkk

LEARNED = "ใช้สูตร SUMIF รวมยอดงบประมาณแยกตามโครงการได้"
ANSWER = "ใช้สรุปยอดเบิกจ่ายรายเดือนของกอง"
WEEK = Period(bkk(1), bkk(31))


async def log_learning(world: World, user: str, *, learned: str = LEARNED) -> int:
    """A step-4 learning entry in the person's current round, written Sat 5 at 10:00."""
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
        entry = StepEntry(
            journey_id=journey.id,
            person_id=person_id,
            step=4,
            kind="learning",
            skill_id="sheet",
            text="คอร์สออนไลน์ Excel",
            data={"what": "คอร์สออนไลน์ Excel", "minutes": 30, "learned": learned},
            created_at=bkk(5, 10),
        )
        session.add(entry)
        await session.flush()
        return entry.id


async def week(database_url, clock, **profiles: Profile):  # noqa: ANN001, ANN003, ANN201
    """A world of these people, each with one learning entry, run through the week."""
    clock.set(bkk(7, 0))
    app = await make_app(database_url, clock)
    channel = RecordingChannel()
    app.add_channel(channel)
    world = World(app, channel)
    users = {}
    for name, profile in profiles.items():
        users[name] = await world.add(profile, user=name)
        await log_learning(world, users[name])
    await world.run(bkk(7, 0), bkk(14, 0))
    return app, world


def recalls(world: World, user: str) -> list[Received]:
    return [item for item in world.received if item.user == user and "recall" in item.kinds]


async def entries(app, person_id: int, kind: str) -> list[StepEntry]:  # noqa: ANN001
    async with app.sessions() as session:
        found = await session.exec(
            select(StepEntry).where(StepEntry.person_id == person_id, StepEntry.kind == kind)
        )
        return list(found.all())


async def report_row(app, person_id: int):  # noqa: ANN001, ANN201
    async with app.sessions() as session:
        rows = await person_rows(session, "DEMO", WEEK, SKILLS)
    return next(row for row in rows if row.person_id == person_id)


def button(received: Received, prefix: str) -> str:
    return next(c.id for c in received.reply.choices if c.id.startswith(prefix))


async def test_the_recall_comes_once_in_the_slot_days_after_the_entry_and_quotes_it(
    database_url, clock
):
    app, world = await week(
        database_url,
        clock,
        learner=Profile("learner", answers=True),
        finished=Profile("finished", step=6, completed=True),
    )
    got = world.table()["learner"]
    # Tue 8 07:30 is too early (2 days 21.5 hours), Wed 9 asks, Fri 11 does not again.
    assert [(day.day, set(kinds)) for day, kinds in got] == [
        (8, {"checkin"}),
        (9, {"checkin", "recall"}),
        (11, {"checkin"}),
    ]
    [asked] = recalls(world, "learner")
    assert t(app, "reminders.recall", days=3, what=LEARNED) in asked.reply.text
    ids = [c.id for c in asked.reply.choices]
    assert ids[:2] == [button(asked, "rc:a"), button(asked, "rc:s")]
    assert all(len(i.encode()) <= 64 for i in ids)  # Telegram's callback data
    assert "go:continue" in ids  # the check-in's own buttons stay
    assert world.table()["finished"] == []
    async with app.sessions() as session:
        sent = (
            await session.exec(select(Nudge).where(Nudge.kind == "recall", Nudge.status == SENT))
        ).all()
    assert [(n.person_id, n.detail["entry"]) for n in sent] == [
        (world.ids["learner"], (await entries(app, world.ids["learner"], "learning"))[0].id)
    ]
    await app.close()


async def test_answering_then_one_tap_makes_evidence_that_the_report_counts(database_url, clock):
    app, world = await week(database_url, clock, learner=Profile("learner", answers=True))
    person_id = world.ids["learner"]
    assert (await report_row(app, person_id)).evidence_entries == 0
    [asked] = recalls(world, "learner")
    chat = Person(app, world.channel, user="learner")
    await chat.press(button(asked, "rc:a"))
    assert chat.question.text == t(app, "recall.ask", what=LEARNED)
    await chat.say(ANSWER)
    [kept] = await entries(app, person_id, "recall")
    assert kept.text == ANSWER and kept.skill_id == "sheet"
    assert await entries(app, person_id, "evidence") == []  # kept, not yet evidence
    offer = next(r for r in chat.replies if any(c.id.startswith("rc:e") for c in r.choices))
    assert offer.text == t(app, "recall.kept")
    await chat.tap_stale(offer)
    assert t(app, "recall.saved_early") in chat.text()  # still on step 4
    await chat.tap_stale(offer)  # a second tap makes no second entry
    assert chat.replies[-1].text == t(app, "recall.already")
    [evidence] = await entries(app, person_id, "evidence")
    learning = (await entries(app, person_id, "learning"))[0]
    assert evidence.journey_id == learning.journey_id  # the same round: step 5 will count it
    assert (evidence.skill_id, evidence.text, evidence.data["task"]) == ("sheet", ANSWER, ANSWER)
    row = await report_row(app, person_id)
    assert row.evidence_entries == 1
    assert [(e.skill_id, e.task) for e in row.evidence] == [("sheet", ANSWER)]
    await app.close()


async def test_skipping_the_recall_stores_nothing(database_url, clock):
    app, world = await week(database_url, clock, skipper=Profile("skipper", answers=True))
    person_id = world.ids["skipper"]
    [asked] = recalls(world, "skipper")
    chat = Person(app, world.channel, user="skipper")
    await chat.press(button(asked, "rc:s"))
    assert chat.replies[-1].text == t(app, "recall.skipped")
    assert await entries(app, person_id, "recall") == []
    assert await entries(app, person_id, "evidence") == []
    assert (await report_row(app, person_id)).evidence_entries == 0
    await app.close()


async def test_a_recall_button_of_someone_else_or_nonsense_changes_nothing(sqlite_url, clock):
    app, world = await week(
        sqlite_url,
        clock,
        learner=Profile("learner", answers=True),
        other=Profile("other", answers=True),
    )
    [asked] = recalls(world, "learner")
    other = Person(app, world.channel, user="other")
    await other.press(button(asked, "rc:a"))  # the learner's entry, tapped by another
    assert t(app, "common.stale_button") in other.text()
    await other.press("rc:e999999")
    await other.press("rc:x1")
    assert await entries(app, world.ids["other"], "recall") == []
    assert await entries(app, world.ids["other"], "evidence") == []
    await app.close()


async def test_an_answer_typed_without_tapping_is_kept_and_one_tap_makes_it_evidence(
    database_url, clock
):
    """The person reads the recall and just types where they could use it: the words
    are its answer (kept, offered as evidence), and their own question comes again."""
    app, world = await week(database_url, clock, typist=Profile("typist"))
    person_id = world.ids["typist"]
    assert recalls(world, "typist")  # the recall came and nothing was written since
    chat = Person(app, world.channel, user="typist")
    before = await state_of(app, person_id)
    replies = await chat.say(ANSWER)
    [kept] = await entries(app, person_id, "recall")
    assert (kept.text, kept.skill_id) == (ANSWER, "sheet")
    offer = next(r for r in replies if any(c.id.startswith("rc:e") for c in r.choices))
    assert offer.text == t(app, "recall.kept_typed", what=LEARNED)
    assert await state_of(app, person_id) == before  # their own question is asked again
    assert replies[-1].text == chat.question.text
    await chat.tap_stale(offer)
    [evidence] = await entries(app, person_id, "evidence")
    assert (evidence.text, evidence.data["recall"]) == (ANSWER, kept.id)
    # the next words are the person's own again: no second answer is kept
    await chat.say("ใช้ทำรายงานสรุปผลการดำเนินงานประจำไตรมาส")
    assert len(await entries(app, person_id, "recall")) == 1
    await app.close()


async def test_a_short_word_or_words_after_writing_are_not_taken_as_the_recalls_answer(
    sqlite_url, clock
):
    app, world = await week(sqlite_url, clock, typist=Profile("typist"), other=Profile("other"))
    typist = Person(app, world.channel, user="typist")
    await typist.say("ครับ")  # an acknowledgement, not an answer
    assert await entries(app, world.ids["typist"], "recall") == []
    await typist.say(ANSWER)  # the person has written since the recall came
    assert await entries(app, world.ids["typist"], "recall") == []
    other = Person(app, world.channel, user="other")
    await other.say("/remind")  # a command first: also written since
    await other.say(ANSWER)
    assert await entries(app, world.ids["other"], "recall") == []
    await app.close()


async def state_of(app, person_id: int) -> str:  # noqa: ANN001
    async with app.sessions() as session:
        conv = await session.get(ConversationState, person_id)
        assert conv is not None
        return conv.state


async def test_a_recall_planned_about_an_entry_since_deleted_is_cancelled_not_sent(
    sqlite_url, clock
):
    """Planned on Tuesday about Saturday's entry; the entry is gone by Wednesday's
    slot, and an older one is now the newest ripe: the planned question (which
    records the entry it was about) is cancelled as "other_entry", and nothing
    quoting the deleted entry is sent."""
    clock.set(bkk(7, 0))
    app = await make_app(sqlite_url, clock)
    channel = RecordingChannel()
    app.add_channel(channel)
    world = World(app, channel)
    user = await world.add(Profile("learner", answers=True), user="learner")
    older = await log_learning(world, user, learned="ใช้ Google Form ทำแบบสำรวจความพึงพอใจ")
    async with transaction(app.sessions) as session:  # written an hour earlier
        entry = await session.get(StepEntry, older)
        entry.created_at = bkk(5, 9)
        session.add(entry)
    newest = await log_learning(world, user)
    await world.run(bkk(7, 0), bkk(9, 7))  # through Tuesday: Wednesday's slot is planned
    async with app.sessions() as session:
        [planned] = (await session.exec(select(Nudge).where(Nudge.kind == "recall"))).all()
    assert planned.detail["entry"] == newest and planned.status == "planned"
    async with transaction(app.sessions) as session:
        await session.delete(await session.get(StepEntry, newest))
    await world.run(bkk(9, 7), bkk(9, 9))
    async with app.sessions() as session:
        done = await session.get(Nudge, planned.id)
    assert (done.status, done.reason) == ("cancelled", "other_entry")
    assert not any(LEARNED in item.reply.text for item in world.received)
    assert [day.day for day, _ in world.table()["learner"]] == [8, 9]  # the check-ins went
    await app.close()
