"""The self-assessment screens of steps 2 and 6: one screen per question, the
level descriptions one tap away, short re-prompts, typed levels, a short result,
and a new round that starts from the last round's ratings."""

from __future__ import annotations

from sqlmodel import select

from storage.models import Assessment, AssessmentAnswer, Journey
from tests.drivers.chat import Person, t
from tests.drivers.journey import POST, PRE, onboard, step1, step2, step3, step4, step5, step6

LEVEL_IDS = [f"lv:{n}" for n in range(1, 6)]


async def answers(app, kind: str = "pre", round_no: int = 1) -> dict[str, int]:
    """skill id -> level of one assessment."""
    async with app.sessions() as session:
        query = (
            select(AssessmentAnswer)
            .join(Assessment, Assessment.id == AssessmentAnswer.assessment_id)
            .join(Journey, Journey.id == Assessment.journey_id)
            .where(Assessment.kind == kind, Journey.round_no == round_no)
        )
        return {a.skill_id: a.level for a in (await session.exec(query)).all()}


async def at_step2(app, channel) -> Person:
    person = Person(app, channel)
    await onboard(person)
    await step1(person)
    await person.tap("start")
    return person


def descriptions(app, index: int, lang: str = "th") -> list[str]:
    return [lv.description.get(lang) for lv in app.content.skills[index].scale]


async def test_a_rating_question_fits_a_screen_and_the_levels_are_one_tap_away(app, channel):
    person = await at_step2(app, channel)
    skill = app.content.skills[0]
    question = person.question
    assert question.text.startswith(f"ทักษะที่ 1/9: {skill.name.th}\n{skill.why.th}")
    assert len(question.text.splitlines()) <= 4
    assert not any(d in question.text for d in descriptions(app, 0))
    ids = [c.id for c in question.choices]
    assert ids == [*LEVEL_IDS, "levels"]
    assert question.choices[-1].label == t(app, "assess.levels_button")
    assert max(len(t(app, "assess.levels_button", lang)) for lang in ("th", "en")) <= 20

    [shown] = await person.tap("levels")
    assert all(d in shown.text for d in descriptions(app, 0))
    assert "3 ใช้งานได้: " + descriptions(app, 0)[2] in shown.text
    assert [c.id for c in shown.choices] == LEVEL_IDS  # the same question, once
    await person.tap("lv:2")
    assert await answers(app) == {"computer": 2}
    second = person.question
    assert second.text.startswith("ทักษะที่ 2/9")
    assert not any(d in second.text for d in descriptions(app, 1))
    assert [c.id for c in second.choices] == [*LEVEL_IDS, "levels", "back"]


async def test_a_skill_rated_again_after_back_keeps_only_the_new_level(app, channel):
    """A new level after tapping "back" replaces the first one: one answer per skill."""
    person = await at_step2(app, channel)
    await person.tap("lv:2")
    await person.tap("back")
    await person.tap("lv:5")
    async with app.sessions() as session:
        stored = (
            await session.exec(select(AssessmentAnswer.skill_id, AssessmentAnswer.level))
        ).all()
    assert stored == [(app.content.skills[0].id, 5)]
    assert await answers(app) == {app.content.skills[0].id: 5}


async def test_the_step6_question_is_as_short_and_shows_step2(app, channel):
    person = Person(app, channel)
    await onboard(person)
    for walk in (step1, step2, step3, step4, step5):
        await walk(person)
    await person.tap("start")
    question = person.question
    assert question.text.startswith("ทักษะที่ 1/9")
    assert t(app, "assess.before", level="2 พื้นฐาน") in question.text
    assert not any(d in question.text for d in descriptions(app, 0))
    assert [c.id for c in question.choices] == [*LEVEL_IDS, "levels"]  # nothing to keep
    [shown] = await person.tap("levels")
    assert all(d in shown.text for d in descriptions(app, 0))


async def test_a_wrong_rating_is_asked_again_in_one_line(app, channel):
    person = await at_step2(app, channel)
    await person.tap("lv:2")
    before = person.question
    replies = await person.say("เก้า")
    assert len(replies) == 1
    [again] = replies
    assert again.text == t(app, "assess.pick_level") and "\n" not in again.text
    assert again.choices == before.choices
    assert app.content.skills[1].why.th not in again.text
    await person.say("4")
    assert await answers(app) == {"computer": 2, "internet": 4}
    assert person.question.text.startswith("ทักษะที่ 3/9")  # the full question again


async def test_level_names_pick_levels_and_fractions_are_refused(app, channel):
    person = await at_step2(app, channel)
    await person.say("ใช้งานได้")
    await person.say("Confident")  # the English name works in Thai too
    await person.say("ระดับ 2")
    for typed in ("3.5", "3,5", "๓.๕"):
        [refused] = await person.say(typed)
        assert refused.text == t(app, "assess.whole_level", typed=typed, low=3, high=4)
        assert "\n" not in refused.text
    [refused] = await person.say("35")
    assert refused.text == t(app, "assess.pick_level")
    [refused] = await person.say("คงเดิม")  # nothing to keep in a first round
    assert refused.text == t(app, "assess.pick_level")
    await person.say("๕")
    await person.say("1/5")
    assert await answers(app) == {
        "computer": 3,
        "internet": 4,
        "security": 2,
        "word": 5,
        "sheet": 1,
    }


async def test_the_result_is_short_and_leads_with_strengths(app, channel):
    person = Person(app, channel)
    await onboard(person)
    await step1(person)
    await person.tap("start")
    before = len(person.replies)
    for level in PRE:
        await person.tap(f"lv:{level}")
    shown = person.replies[before + len(PRE) - 1 :]  # the result, the chart and what next
    text = "\n".join(r.text for r in shown)
    assert len(text.splitlines()) <= 12, text
    lines = shown[0].text.splitlines()
    assert lines[0] == "📊 " + t(app, "s2.result_title")
    assert lines[1] == t(app, "assess.result_strongest", skills="ตารางคำนวณ", level="4 คล่องแคล่ว")
    assert lines[2] == t(
        app, "assess.result_weakest", skills="พิมพ์เอกสาร, ภาพและสื่อดิจิทัล", level="1 เริ่มต้น"
    )
    assert lines[3] == "• 3 ใช้งานได้: อินเทอร์เน็ต, งานนำเสนอ"
    assert lines[5] == t(app, "assess.result_average", average="2.2")
    assert shown[-1].choices[0].id == "next"
    await person.tap("next")
    assert "ช่องว่าง" not in person.question.text
    assert t(app, "s3.gap_line", mark="", skill="โปรแกรมประมวลผลคำ", level="1 เริ่มต้น") in (
        person.question.text
    )


async def test_even_ratings_say_so_in_one_line(app, channel):
    person = Person(app, channel)
    await onboard(person)
    await step1(person)
    await step2(person, [3] * 9)
    result = next(r for r in person.replies if r.card and r.card.title == t(app, "s2.result_title"))
    assert result.text.splitlines()[1:3] == [
        t(app, "assess.result_even", level="3 ใช้งานได้"),
        t(app, "assess.result_average", average="3.0"),
    ]


async def test_a_new_round_starts_step2_from_the_last_post_assessment(app, channel):
    person = Person(app, channel)
    await onboard(person)
    for walk in (step1, step2, step3, step4, step5, step6):
        await walk(person)
    await person.tap("new")
    await step1(person)
    assert t(app, "s2.carry_over") in person.question.text
    await person.tap("start")
    first = person.question
    assert t(app, "assess.last_round", level="3 ใช้งานได้") in first.text  # POST[0]
    assert first.choices[0].id == "keep"
    assert first.choices[0].label == t(app, "assess.keep", level=3)
    assert max(len(c.label) for c in first.choices) <= 20  # fits a LINE quick reply
    await person.tap("keep")
    await person.tap("lv:5")  # or change it
    await person.say("เหมือนเดิม")  # a keep word, typed
    for _ in POST[3:]:
        assert person.question.choices[0].id == "keep"
        await person.tap("keep")
    assert await answers(app, "pre", round_no=2) == {
        **dict(zip([s.id for s in app.content.skills], POST, strict=True)),
        "internet": 5,
    }
    assert await answers(app, "pre", round_no=1) == dict(
        zip([s.id for s in app.content.skills], PRE, strict=True)
    )


def all_at_once(levels: list[int]) -> str:
    return "all:" + "".join(str(level) for level in levels)


async def test_all_nine_at_once_is_the_same_assessment_and_result_as_one_by_one(
    app, channel
) -> None:
    """The one-screen page's answer (every level in one press) stores the same
    ratings and shows the same result as the nine questions, from the intro or
    from any question along the way."""
    by_chat = Person(app, channel)
    await onboard(by_chat)
    await step1(by_chat)
    await by_chat.tap("start")
    for level in PRE:
        shown_by_chat = await by_chat.tap(f"lv:{level}")
    from_intro = Person(app, channel)
    await onboard(from_intro)
    await step1(from_intro)
    shown_at_once = await from_intro.press(all_at_once(PRE))
    assert [r.text for r in shown_at_once] == [r.text for r in shown_by_chat]
    assert shown_at_once[0].card == shown_by_chat[0].card
    midway = Person(app, channel)
    await onboard(midway)
    await step1(midway)
    await midway.tap("start")
    await midway.tap("lv:5")  # then the page, which rates the first skill again
    assert [r.text for r in await midway.press(all_at_once(PRE))] == [r.text for r in shown_by_chat]
    async with app.sessions() as session:
        rounds = (await session.exec(select(Journey))).all()
        assert {j.current_step for j in rounds} == {2}
        stored = await session.exec(
            select(Assessment.journey_id, AssessmentAnswer.skill_id, AssessmentAnswer.level).join(
                Assessment, Assessment.id == AssessmentAnswer.assessment_id
            )
        )
        per_round: dict[int, dict[str, int]] = {}
        for journey_id, skill, level in stored.all():
            per_round.setdefault(journey_id, {})[skill] = level
    expected = dict(zip([s.id for s in app.content.skills], PRE, strict=True))
    assert list(per_round.values()) == [expected] * 3


async def test_an_all_at_once_answer_that_does_not_rate_every_skill_stores_nothing(
    app, channel
) -> None:
    person = await at_step2(app, channel)
    for wrong in ("all:2321", "all:2321432219", "all:23214322x", "all:232143226"):
        [again] = await person.press(wrong)
        assert again.text.startswith(t(app, "assess.pick_level")[:10])
        assert [c.id for c in again.choices][:5] == LEVEL_IDS
    assert await answers(app) == {}


async def test_step6_takes_all_nine_at_once_too(app, channel) -> None:
    person = Person(app, channel)
    await onboard(person)
    for walk in (step1, step2, step3, step4, step5):
        await walk(person)
    shown = await person.press(all_at_once(POST))
    assert any(r.choices for r in shown)
    assert await answers(app, "post") == dict(
        zip([s.id for s in app.content.skills], POST, strict=True)
    )
