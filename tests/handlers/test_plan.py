"""Step 3's if-then plan built by tapping (a cue, then an action that fits the focus
skills and the chosen ways to learn), each part typed instead, or the whole sentence
typed at once; and the target level read from the whole typed text."""

from __future__ import annotations

import string

import pytest

from handlers.context import Ctx
from storage.models import Goal, Journey, StepEntry
from tests.drivers.chat import Person, t
from tests.drivers.journey import onboard, step1, step2, step3_goals
from tests.handlers.test_journey import rows


async def at_plan(app, channel, **person) -> Person:  # noqa: ANN003
    """A person at the plan's first question (word and media, on the job)."""
    someone = Person(app, channel, **person)
    await onboard(someone)
    await step1(someone)
    await step2(someone)
    await step3_goals(someone)
    return someone


async def saved_plan(app) -> str:
    [plan] = await rows(app, StepEntry, StepEntry.kind == "plan")
    [journey] = await rows(app, Journey)
    assert journey.current_step == 4
    return plan.text


def label(app, where: str, item_id: str, lang: str = "th") -> str:
    """The sentence phrase of a cue ("cues") or of a skill's plan action ("skill id")."""
    items = (
        app.content.groups.plan_cues if where == "cues" else app.content.skill(where).plan_actions
    )
    return next(i.label.get(lang) for i in items if i.id == item_id)


async def test_tapped_cue_and_tapped_action_make_the_sentence(app, channel):
    person = await at_plan(app, channel)
    cues = [c.id for c in person.question.choices]
    assert cues[:-1] == [f"cue:{c.id}" for c in app.content.groups.plan_cues]
    replies = await person.tap("cue:morning")
    cue = label(app, "cues", "morning")
    assert replies[-1].text == t(app, "s3.ask_action", cue=cue)
    # both focus skills' actions, then the chosen approach's
    assert [c.id for c in replies[-1].choices] == [
        "do:word.styles",
        "do:word.template",
        "do:media.image",
        "do:media.video",
        "do:@onthejob.task",
        "go:menu",
    ]
    await person.tap("do:word.styles")
    action = label(app, "word", "styles")
    assert await saved_plan(app) == f"เมื่อ{cue} ฉันจะ{action}"


async def test_tapped_cue_and_typed_action(app, channel):
    person = await at_plan(app, channel)
    await person.tap("cue:lunch")
    await person.say("ฉันจะ อ่านคู่มือ Word 10 นาที")  # the template says "ฉันจะ" itself
    assert await saved_plan(app) == f"เมื่อ{label(app, 'cues', 'lunch')} ฉันจะอ่านคู่มือ Word 10 นาที"


async def test_typed_cue_and_tapped_action(app, channel):
    person = await at_plan(app, channel)
    replies = await person.say("เมื่อเปิดคอมพิวเตอร์")  # the template says "เมื่อ" itself
    assert replies[-1].text == t(app, "s3.ask_action", cue="เปิดคอมพิวเตอร์")
    await person.tap("do:@onthejob.task")
    plan = await saved_plan(app)
    assert plan == "เมื่อเปิดคอมพิวเตอร์ ฉันจะลองใช้ทักษะใหม่กับงานจริง 1 งาน"


async def test_whole_typed_sentence_is_the_plan(app, channel):
    person = await at_plan(app, channel)
    sentence = "ทุกวันอังคารหลังประชุม ผมจะฝึกใช้สไตล์ 20 นาที"
    await person.say(sentence)
    assert await saved_plan(app) == sentence


async def test_tapped_plan_in_english(app, channel):
    person = await at_plan(app, channel, lang_hint="en")
    await person.tap("cue:morning")
    await person.tap("do:media.image")
    assert await saved_plan(app) == (
        "When I start work in the morning, I will make one announcement image."
    )


async def test_typed_action_in_english_drops_i_will(app, channel):
    person = await at_plan(app, channel, lang_hint="en")
    await person.say("When the weekly report is due")
    await person.say("I will try one new chart")
    assert await saved_plan(app) == "When the weekly report is due, I will try one new chart."


# ---- the target level ---------------------------------------------------------------


async def at_target(app, channel) -> Person:
    """A person asked the target for word (rated 1: targets 2 to 5)."""
    person = Person(app, channel)
    await onboard(person)
    await step1(person)
    await step2(person)
    await person.tap("k:word")
    await person.tap("done")
    return person


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("45", ("assess.pick_level", {})),  # the first character read 4
        ("3.5", ("assess.whole_level", {"typed": "3.5", "low": 3, "high": 4})),  # read 3
    ],
)
async def test_target_reads_the_whole_typed_text(app, channel, typed, message):
    person = await at_target(app, channel)
    replies = await person.say(typed)
    key, values = message
    assert replies[0].text == t(app, key, **values)
    assert "\n" not in replies[0].text
    [goal] = await rows(app, Goal)
    assert goal.target_level is None


@pytest.mark.parametrize(("typed", "level"), [("4", 4), ("๓", 3), ("ใช้งานได้", 3), ("5/5", 5)])
async def test_target_typed_as_number_or_name(app, channel, typed, level):
    person = await at_target(app, channel)
    await person.say(typed)
    [goal] = await rows(app, Goal)
    assert goal.target_level == level


# ---- the gap lines --------------------------------------------------------------


async def test_gap_line_gets_only_what_its_template_uses(app, channel, monkeypatch):
    passed: list[set[str]] = []
    original = Ctx.t

    def recording(self: Ctx, key: str, **values: object) -> str:
        if key == "s3.gap_line":
            passed.append(set(values))
        return original(self, key, **values)

    monkeypatch.setattr(Ctx, "t", recording)
    person = Person(app, channel)
    await onboard(person)
    await step1(person)
    await step2(person)
    used = {
        name
        for lang in ("th", "en")
        for _, name, _, _ in string.Formatter().parse(app.content.messages["s3.gap_line"].get(lang))
        if name
    }
    assert passed and all(values == used for values in passed)


async def test_a_typed_when_word_is_dropped_only_as_a_whole_word(app, channel):
    person = await at_plan(app, channel, lang_hint="en")
    await person.say("Iftar ends")  # starts with "if", which is no "when" word here
    await person.tap("do:word.template")
    assert await saved_plan(app) == (
        "When Iftar ends, I will make a reusable template for official letters."
    )


async def test_a_plan_on_a_weekday_cue_keeps_that_weekday_and_others_keep_none(app, channel):
    """The missed-plan-day nudge needs the plan's day: a tapped "Friday afternoon"
    cue stores weekday 4 with the plan; a cue of every day stores none."""
    friday = await at_plan(app, channel)
    await friday.tap("cue:friday")
    await friday.tap("do:word.styles")
    daily = await at_plan(app, channel)
    await daily.tap("cue:lunch")
    await daily.tap("do:word.styles")
    plans = await rows(app, StepEntry, StepEntry.kind == "plan")
    assert [p.data for p in sorted(plans, key=lambda p: p.id)] == [
        {"cue": "friday", "weekday": 4},
        {"cue": "lunch", "weekday": None},
    ]
