"""Step 1 at handler level: short reading screens, the steps and the skills'
sources shown once, why it matters per personnel group, typed words that are
not "next", and a later round that starts at the reason question."""

from __future__ import annotations

from sqlmodel import select

from storage.models import ConversationState, Journey, StepEntry
from tests.drivers.chat import Person, t
from tests.drivers.journey import STEP1_SCREENS, onboard, read_step1, whole_journey

MAX_SCREEN_LINES = 10  # what a phone shows without scrolling
MAX_SCREEN_CHARS = 500  # long lines wrap: a bound on the whole screen as well
READING = ["s1.intro", "s1.what", "s1.skills", "s1.skills", "s1.why"]


async def state(app) -> str:
    async with app.sessions() as session:
        return (await session.exec(select(ConversationState))).one().state


async def onboard_in(person: Person, group: str) -> None:
    """Onboarding as in the journey driver, with the personnel group chosen."""
    await person.follow()
    await person.tap(1)  # accept
    await person.say("สมชาย ใจดี")
    await person.tap(1)  # demo agency
    await person.tap(1)  # first unit
    await person.tap(f"g:{group}")
    await person.tap("t:0730")


async def reading_screens(person: Person) -> list[tuple[str, str]]:
    """(state, text) of each step 1 reading screen, tapping "next" through them."""
    seen = []
    for _ in range(STEP1_SCREENS):
        seen.append((await state(person.app), person.question.text))
        await person.tap("next")
    return seen


async def test_step1_is_short_screens_each_waiting_for_next(app, channel):
    person = Person(app, channel)
    await onboard(person)
    screens = []
    for _ in range(STEP1_SCREENS):
        question = person.question
        screens.append((await state(app), question))
        assert [c.id for c in question.choices] == ["next", "go:menu"]
        await person.tap("next")
    assert [name for name, _ in screens] == READING
    for name, question in screens:
        assert len(question.text.splitlines()) <= MAX_SCREEN_LINES, name
        assert len(question.text) <= MAX_SCREEN_CHARS, name
    assert await state(app) == "s1.reason"


async def test_the_six_steps_are_shown_once_with_their_label(app, channel):
    person = Person(app, channel)
    await onboard(person)
    first = len(person.replies) - 2  # the step banner and the first screen came with onboarding
    assert "ขั้นที่ 1" in person.replies[first].text
    screens = await reading_screens(person)  # up to the reason question
    label = app.content.steps.label.get("th")
    assert label in screens[0][1]
    step1_text = "\n".join(r.text for r in person.replies[first:])
    for step in app.content.steps.steps:
        assert f"{step.number}. {step.title.get('th')}" in screens[0][1]
    last_title = app.content.step(6).title.get("th")
    assert step1_text.count(last_title) == 1  # never listed again in step 1
    assert step1_text.count(label) == 1


async def test_dimensions_and_skills_name_their_source(app, channel):
    person = Person(app, channel)
    await onboard(person)
    screens = dict(enumerate(text for _, text in await reading_screens(person)))
    skills_file = app.content.skills_file
    assert skills_file.framework.get("th") in screens[1]
    for dimension in skills_file.dimensions:
        assert dimension.name.get("th") in screens[1]
    standard, defaults = skills_file.sources
    assert "สคช." in standard.text.get("th") and "ICDL" in defaults.text.get("th")
    assert standard.text.get("th") in screens[2] and defaults.text.get("th") not in screens[2]
    assert defaults.text.get("th") in screens[3]
    assert f"8. {app.content.skill('data').name.get('th')}" in screens[3]
    assert f"1. {app.content.skill('computer').name.get('th')}" in screens[2]


async def test_two_groups_see_their_own_why(app, channel):
    texts = {}
    for group in ("g1", "g4"):
        person = Person(app, channel)
        await onboard_in(person, group)
        for _ in range(STEP1_SCREENS - 1):
            await person.tap("next")
        why = app.content.group(group).why.get("th")
        assert why in person.question.text
        texts[group] = person.question.text
    assert texts["g1"] != texts["g4"]
    assert app.content.group("g4").why.get("th") not in texts["g1"]


async def test_typed_words_on_a_reading_screen_do_not_advance(app, channel):
    person = Person(app, channel)
    await onboard(person)
    hint = t(app, "s1.tap_next", next=t(app, "common.next"), menu=t(app, "nav.menu"))
    for expected in READING:
        replies = await person.say("อันนี้หมายความว่าอะไร")
        assert await state(app) == expected
        assert [r.text for r in replies] == [hint]  # one line, not the whole screen again
        assert [c.id for c in replies[0].choices] == ["next", "go:menu"]
        await person.say("ต่อไป")  # a next word still goes on
    assert await state(app) == "s1.reason"
    async with app.sessions() as session:
        assert (await session.exec(select(StepEntry))).all() == []


async def test_english_next_word_goes_on(app, channel):
    person = Person(app, channel)
    await onboard(person)
    await person.say("next")
    assert await state(app) == "s1.what"


async def test_a_new_round_starts_at_the_reason_question(app, channel):
    person = Person(app, channel)
    await whole_journey(person)
    await person.tap("new")
    assert await state(app) == "s1.reason"
    question = person.question
    assert t(app, "s1.skipped", reread=t(app, "s1.reread")) in question.text
    assert "reread" in [c.id for c in question.choices]
    assert app.content.steps.label.get("th") not in "\n".join(r.text for r in person.replies[-3:])
    await person.say("อยากใช้ข้อมูลให้เป็น")
    async with app.sessions() as session:
        journey = (await session.exec(select(Journey).where(Journey.round_no == 2))).one()
    assert journey.current_step == 2


async def test_a_new_round_can_read_the_introduction_again(app, channel):
    person = Person(app, channel)
    await whole_journey(person)
    await person.tap("new")
    await person.tap("reread")
    assert await state(app) == "s1.intro"
    assert app.content.steps.label.get("th") in person.question.text
    await read_step1(person)
    assert await state(app) == "s1.reason"
    assert t(app, "s1.skipped", reread=t(app, "s1.reread")) not in person.question.text
    await person.say("อยากใช้ข้อมูลให้เป็น")
    async with app.sessions() as session:
        journey = (await session.exec(select(Journey).where(Journey.round_no == 2))).one()
    assert journey.current_step == 2


async def test_the_first_round_offers_no_reread(app, channel):
    person = Person(app, channel)
    await onboard(person)
    await read_step1(person)
    assert "reread" not in [c.id for c in person.question.choices]
    assert t(app, "s1.reread") not in person.question.text
