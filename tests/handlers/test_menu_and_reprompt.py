"""Opening the menu mid-question keeps the question, and a wrong answer is told in
one line with only the choices again (not the whole question repeated)."""

from __future__ import annotations

from storage.models import Goal, StepEntry
from tests.drivers.chat import Person, t
from tests.drivers.journey import onboard, step1, step2, step3
from tests.handlers.test_journey import rows


async def _at_minutes_question(app, channel) -> Person:
    person = Person(app, channel)
    await onboard(person)
    for walk in (step1, step2, step3):
        await walk(person)
    await person.tap("log")
    await person.tap("k:word")
    await person.say("ฝึกทำสารบัญอัตโนมัติ")
    return person


async def test_an_answer_typed_after_opening_the_menu_answers_the_question(app, channel):
    person = await _at_minutes_question(app, channel)
    await person.say("/menu")
    assert person.question.text == t(app, "menu.title")
    replies = await person.say("45 นาที")
    assert t(app, "common.pick_one") not in [r.text for r in replies]
    assert person.question.text == t(app, "s4.ask_learned", skill="")
    await person.say("ทำสารบัญได้เอง")
    [learning] = await rows(app, StepEntry, StepEntry.kind == "learning")
    assert learning.data["minutes"] == 45
    assert learning.data["learned"] == "ทำสารบัญได้เอง"


async def test_the_typed_menu_word_then_a_tap_on_the_question_still_counts(app, channel):
    person = await _at_minutes_question(app, channel)
    minutes_question = person.question
    await person.say(t(app, "command.alias.menu").split(",")[0].strip())
    assert person.question.text == t(app, "menu.title")
    replies = await person.tap_stale(minutes_question, 2)  # "30" on the earlier question
    assert t(app, "common.stale_button") not in [r.text for r in replies]
    await person.say("ทำสารบัญได้เอง")
    [learning] = await rows(app, StepEntry, StepEntry.kind == "learning")
    assert learning.data["minutes"] == 30


async def test_menu_choices_still_work_at_the_menu(app, channel):
    person = await _at_minutes_question(app, channel)
    await person.say("/menu")
    await person.tap("m:continue")
    assert person.question.text == t(app, "s4.ask_minutes", skill="")
    await person.say("20")
    await person.say("ทำสารบัญได้เอง")
    [learning] = await rows(app, StepEntry, StepEntry.kind == "learning")
    assert learning.data["minutes"] == 20


async def test_a_wrong_answer_gets_one_line_and_the_same_choices(app, channel):
    person = Person(app, channel)
    await onboard(person)
    for walk in (step1, step2):
        await walk(person)
    await person.tap("k:word")
    await person.tap("done")
    await person.tap(1)  # target level
    await person.tap("d:3m")
    approach = person.question
    replies = await person.say("อะไรก็ได้")
    assert [r.text for r in replies] == [t(app, "common.pick_one")]
    assert replies[0].choices == approach.choices
    await person.tap_stale(approach, 1)  # the question's own buttons still work
    [goal] = await rows(app, Goal)
    assert goal.approach is not None
