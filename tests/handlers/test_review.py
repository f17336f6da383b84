"""Step 6 at handler level: the result leads with the step-3 goals, the other
skills come grouped (unchanged said in words), the step-1 reason is quoted back,
and the reflection and tip offer tap starters without a bare opener ever
reaching the working group as a tip."""

from __future__ import annotations

import pytest
from sqlmodel import delete, select

from handlers.dates import date_text
from storage.db import transaction
from storage.models import Goal, Idea, Journey, StepEntry
from storage.models.admin import TIP
from tests.drivers.chat import Person, RecordingChannel, make_app, t
from tests.drivers.journey import POST, onboard, step1, step2, step3, step4, step5

REASON = "ช่วยให้บริการประชาชนได้ดีขึ้น"  # what tests.drivers.journey.step1 types


async def rows(app, model, *where):
    async with app.sessions() as session:
        return list((await session.exec(select(model).where(*where))).all())


async def at_step6_result(person: Person) -> None:
    """Steps 1-5, then the post-assessment: the person sees the result."""
    await onboard(person)
    for walk in (step1, step2, step3, step4, step5):
        await walk(person)
    await person.tap("start")
    for level in POST:
        await person.tap(f"lv:{level}")


def result_reply(app, person: Person, lang: str = "th"):
    return next(
        r for r in person.replies if r.card and r.card.title == t(app, "s6.result_title", lang)
    )


def short(app, skill_id: str, lang: str = "th") -> str:
    return app.content.skill(skill_id).short.get(lang)


@pytest.mark.parametrize("lang", ["th", "en"])
async def test_the_result_leads_with_each_goal_then_groups_the_other_skills(
    sqlite_url, clock, lang
):
    app = await make_app(sqlite_url, clock)
    channel = RecordingChannel()
    app.add_channel(channel)
    person = Person(app, channel, lang_hint=lang)
    await at_step6_result(person)
    text = result_reply(app, person, lang).text
    lines = text.splitlines()
    goals = {g.skill_id: g for g in await rows(app, Goal)}
    assert set(goals) == {"word", "media"}  # word 1 → 3 (now 3), media 1 → 3 (now 2)

    def aim(skill_id: str) -> str:
        goal = goals[skill_id]
        day = date_text(app.content, lang, goal.target_date, short=True)
        return t(
            app,
            "s6.goal_aim_dated",
            lang,
            skill=short(app, skill_id, lang),
            start=goal.start_level,
            target=goal.target_level,
            date=day,
        )

    reached = t(app, "s6.goal_reached", lang, aim=aim("word"), now=3)
    not_yet = t(app, "s6.goal_not_yet", lang, aim=aim("media"), now=2, gap=1)
    # The headline is the goals: right under the title, one line each.
    assert lines[1:3] == [reached, not_yet]
    assert ("/2570" if lang == "th" else " 2027") in reached  # the short date, in the reader's era
    # The other skills: grown ones with before → after, unchanged ones in words, one line.
    sep = t(app, "s6.list_sep", lang)
    grew = sep.join(
        t(app, "s6.moved", lang, skill=short(app, s, lang), before=b, after=a)
        for s, b, a in (("computer", 2, 3), ("security", 2, 3), ("collab", 2, 3))
    )
    same = sep.join(short(app, s, lang) for s in ("internet", "sheet", "slides", "data"))
    assert t(app, "s6.others_grew", lang, skills=grew) in lines
    assert t(app, "s6.others_same", lang, skills=same) in lines
    assert "+0" not in text and "(0)" not in text
    assert "เฉลี่ย" not in text and "average" not in text.lower()
    assert len(lines) <= 12
    # The card says "unchanged" in words as well.
    card = result_reply(app, person, lang).card
    internet = next(r for r in card.rows if r.label == app.content.skill("internet").name.get(lang))
    assert internet.value == "3 → 3 " + t(app, "s6.unchanged", lang)
    assert card.footer == t(app, "s6.goals_footer", lang, reached=1, total=2)
    await app.close()


async def test_the_reflection_quotes_the_step1_reason_and_a_starter_is_kept(app, channel):
    person = Person(app, channel)
    await at_step6_result(person)
    await person.tap("next")
    question = person.question
    assert question.text.startswith(t(app, "s6.your_reason", reason=REASON))
    assert question.text.endswith(t(app, "s6.ask_reflect"))
    assert [c.id for c in question.choices] == [
        "rf:more",
        "rf:often",
        "rf:work",
        "rf:next",
        "go:menu",
    ]
    await person.tap("rf:often")
    [reflection] = await rows(app, StepEntry, StepEntry.kind == "reflection")
    assert reflection.text == t(app, "s6.reflect_often")
    assert person.question.text == t(app, "s6.ask_tip")


async def test_no_reason_means_no_quote(app, channel):
    person = Person(app, channel)
    await at_step6_result(person)
    async with transaction(app.sessions) as session:
        await session.exec(delete(StepEntry).where(StepEntry.kind == "reason"))
    await person.tap("next")
    assert person.question.text == t(app, "s6.ask_reflect")
    assert "“" not in person.question.text


async def test_a_typed_reflection_and_a_typed_tip_are_saved_and_the_tip_shared(app, channel):
    person = Person(app, channel)
    await at_step6_result(person)
    await person.tap("next")
    await person.say("ฝึกทีละนิดทุกวันได้ผลกว่าที่คิด")
    assert [c.id for c in person.question.choices][:4] == [
        "tp:try",
        "tp:save",
        "tp:remember",
        "tp:start",
    ]
    await person.say("ใช้สไตล์หัวเรื่อง แล้วสารบัญจะทำตัวเอง")
    [idea] = await rows(app, Idea)
    assert (idea.kind, idea.text) == (TIP, "ใช้สไตล์หัวเรื่อง แล้วสารบัญจะทำตัวเอง")
    [journey] = await rows(app, Journey)
    assert journey.completed_at is not None


async def test_a_tapped_tip_starter_asks_for_the_sentence_and_is_never_an_idea(app, channel):
    person = Person(app, channel)
    await at_step6_result(person)
    await person.tap("next")
    await person.tap("rf:work")
    opener = t(app, "s6.tip_try")
    replies = await person.tap("tp:try")
    assert replies[-1].text == t(app, "s6.tip_finish", starter=opener)
    assert await rows(app, Idea) == []
    # The opener alone, typed with or without its dots, is asked again, not shared.
    for bare in ("ลองใช้", "ลองใช้...", "Try using…"):
        replies = await person.say(bare)
        assert replies[0].text == t(app, "s6.tip_unfinished")
    replies = await person.say(opener)  # its label typed is the opener alone too
    assert replies[0].text == t(app, "s6.tip_unfinished")
    assert await rows(app, Idea) == []
    assert (await rows(app, Journey))[0].completed_at is None
    await person.say("ลองใช้ Ctrl+Shift+V วางข้อความโดยไม่เอารูปแบบมาด้วย")
    [idea] = await rows(app, Idea)
    assert idea.text == "ลองใช้ Ctrl+Shift+V วางข้อความโดยไม่เอารูปแบบมาด้วย"
    [tip] = await rows(app, StepEntry, StepEntry.kind == "tip")
    assert tip.text == idea.text
    assert (await rows(app, Journey))[0].completed_at is not None
