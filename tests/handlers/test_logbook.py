"""The logbook of steps 4 and 5 as people use it: cancelling an entry at any
question, tools as taps, praise that fits the entry, and answers with no words."""

from __future__ import annotations

import pytest

from content.loader import load_content
from handlers.common import CANCEL
from storage.models import StepEntry
from tests.drivers.chat import Person, t
from tests.drivers.journey import onboard, step1, step2, step3, step4
from tests.handlers.test_journey import rows

CONTENT = load_content()
NO_WORDS = ("😀😀", "12345", "!!!")


async def at_step4(person: Person) -> None:
    await onboard(person)
    for walk in (step1, step2, step3):
        await walk(person)


async def at_step5(person: Person) -> None:
    await at_step4(person)
    await step4(person)


async def entries(app, kind: str) -> list[StepEntry]:
    return await rows(app, StepEntry, StepEntry.kind == kind)


# ---- cancel -------------------------------------------------------------------


async def test_every_question_of_an_entry_offers_cancel(app, channel):
    person = Person(app, channel)
    await at_step4(person)
    await person.tap("log")
    asked = [person.question]
    for answer in ("k:word", "ฝึกทำสารบัญ", "o:30"):
        await (person.tap(answer) if ":" in answer else person.say(answer))
        asked.append(person.question)
    await person.say("ทำสารบัญอัตโนมัติได้")
    await person.tap("next")
    await person.tap("log")
    asked.append(person.question)
    for answer in ("k:word", "หนังสือเวียน", "Word"):
        await (person.tap(answer) if answer.startswith("k:") else person.say(answer))
        asked.append(person.question)
    await person.say("ส่งได้เร็วขึ้นมาก")
    asked.append(person.question)  # which outcome it was closest to
    questions = [q.text.split("\n")[0][:40] for q in asked]
    # skill, what, minutes, learned; skill, task, tool, result, outcome
    assert len(set(questions)) == 9, questions
    assert all(CANCEL in [c.id for c in q.choices] for q in asked), questions


async def test_cancel_at_the_first_question_stores_nothing(app, channel):
    person = Person(app, channel)
    await at_step4(person)
    await person.tap("log")
    await person.tap("k:word")
    replies = await person.tap(CANCEL)
    assert replies[0].text == t(app, "s4.cancelled")
    assert person.question.text == t(app, "s4.menu", count=0)
    assert await entries(app, "learning") == []


async def test_cancel_at_the_skill_question_goes_back_to_the_menu(app, channel):
    person = Person(app, channel)
    await at_step4(person)
    await person.tap("log")
    replies = await person.say("ยกเลิก")
    assert replies[0].text == t(app, "s4.cancelled")
    assert person.question.text == t(app, "s4.menu", count=0)


async def test_cancel_in_the_middle_deletes_the_half_made_entry(app, channel):
    person = Person(app, channel)
    await at_step4(person)
    await person.tap("log")
    await person.tap("k:word")
    await person.say("ฝึกทำสารบัญ")
    assert len(await entries(app, "learning")) == 1  # stored from its first answer on
    replies = await person.tap(CANCEL)  # at the minutes question
    assert replies[0].text == t(app, "s4.cancelled")
    assert await entries(app, "learning") == []
    assert person.question.text == t(app, "s4.menu", count=0)
    await person.tap("log")  # a fresh entry after the cancelled one
    await person.tap("k:word")
    await person.say("ฝึกทำสารบัญอัตโนมัติ")
    await person.tap("o:30")
    await person.say("ทำสารบัญได้เอง")
    [kept] = await entries(app, "learning")
    assert kept.text == "ฝึกทำสารบัญอัตโนมัติ" and kept.data["minutes"] == 30


async def test_typed_cancel_of_evidence_keeps_the_count(app, channel):
    person = Person(app, channel)
    await at_step5(person)
    await person.tap("log")
    await person.tap("k:word")
    await person.say("หนังสือเวียนประจำเดือน")
    await person.say("Microsoft Word")
    replies = await person.say("cancel")  # at the result question, in English in a Thai chat
    assert replies[0].text == t(app, "s5.cancelled")
    assert await entries(app, "evidence") == []
    assert person.question.text == t(app, "s5.menu", count=0)
    assert "next" not in [c.id for c in person.question.choices]
    assert len(await entries(app, "learning")) == 1  # step 4's entry is untouched


async def test_cancel_at_the_outcome_question(app, channel):
    person = Person(app, channel)
    await at_step5(person)
    await person.tap("log")
    await person.tap("k:word")
    await person.say("หนังสือเวียนประจำเดือน")
    await person.say("Word")
    await person.say("ส่งได้เร็วขึ้น")
    assert person.question.text == t(app, "s5.ask_outcome")
    await person.tap(CANCEL)
    assert await entries(app, "evidence") == []


# ---- tools as taps --------------------------------------------------------------


def tools(key: str, lang: str = "th") -> list[str]:
    return [w.strip() for w in CONTENT.t(key, lang).split(",") if w.strip()]


async def test_the_tool_question_offers_the_skills_tools_and_takes_a_tap(app, channel):
    person = Person(app, channel)
    await at_step5(person)
    await person.tap("log")
    await person.tap("k:sheet")
    await person.say("รายงานผลเบิกจ่ายประจำไตรมาส")
    offered = [c.label for c in person.question.choices if c.id != CANCEL]
    assert offered == tools("s5.tools_sheet")
    await person.tap("Google Sheets")
    assert [c.id for c in person.question.choices][:2] == ["o:faster", "o:resources"]
    await person.tap("o:faster")  # the result is a tap too
    [evidence] = await entries(app, "evidence")
    assert evidence.data["tool"] == "Google Sheets"
    assert evidence.data["outcome"] == "faster"


async def test_a_typed_tool_is_taken_as_written(app, channel):
    person = Person(app, channel)
    await at_step5(person)
    await person.tap("log")
    await person.tap("k:word")
    await person.say("หนังสือเวียนประจำเดือน")
    await person.say("Excel 2 ไฟล์")
    await person.say("ลดเวลาจาก 2 วันเหลือครึ่งวัน")  # the result, typed
    await person.tap("o:faster")
    [evidence] = await entries(app, "evidence")
    assert evidence.data["tool"] == "Excel 2 ไฟล์"
    assert evidence.data["result"] == "ลดเวลาจาก 2 วันเหลือครึ่งวัน"


async def test_a_skill_without_its_own_tools_gets_the_general_list(app, channel, monkeypatch):
    monkeypatch.delitem(app.content.messages, "s5.tools_word")
    person = Person(app, channel)
    await at_step5(person)
    await person.tap("log")
    await person.tap("k:word")
    await person.say("หนังสือเวียนประจำเดือน")
    offered = [c.label for c in person.question.choices if c.id != CANCEL]
    assert offered == tools("s5.tools_any")
    await person.tap("ระบบงานของหน่วยงาน")
    await person.tap("o:service")
    [evidence] = await entries(app, "evidence")
    assert evidence.data["tool"] == "ระบบงานของหน่วยงาน"


@pytest.mark.parametrize("lang", ["th", "en"])
def test_every_skill_has_tools_that_fit_a_button(lang):
    for skill in CONTENT.skills:
        listed = tools(f"s5.tools_{skill.id}", lang)
        assert 2 <= len(listed) <= 6, skill.id
        assert all(len(tool) <= 20 for tool in listed), listed
    assert all(len(tool) <= 20 for tool in tools("s5.tools_any", lang))


# ---- praise that fits -----------------------------------------------------------


async def log_evidence(person: Person, task: str, result: str) -> list:
    await person.tap("log")
    await person.tap("k:word")
    await person.say(task)
    await person.say("Word")
    if result.startswith("o:"):
        return await person.tap(result)
    await person.say(result)
    return await person.tap("o:faster")


async def test_evidence_praise_fits_the_entry(app, channel):
    person = Person(app, channel)
    await at_step5(person)
    replies = await log_evidence(person, "ส่งงาน", "ดีขึ้น")  # thin
    assert replies[0].text == t(app, "s5.saved", count=1)
    assert "เป็นหลักฐานที่ดีมาก" not in replies[0].text
    replies = await log_evidence(person, "หนังสือเวียนประจำเดือน", "o:faster")  # a tapped category
    assert replies[0].text == t(app, "s5.saved", count=2)
    replies = await log_evidence(person, "หนังสือเวียนประจำเดือน", "ลดเวลาจาก 2 วันเหลือครึ่งวัน")
    assert replies[0].text == t(app, "s5.saved_warm", count=3)
    replies = await log_evidence(
        person, "รายงานผลเบิกจ่ายประจำไตรมาส", "ผู้บริหารเห็นภาพรวมงบประมาณได้ทันทีไม่ต้องรอ"
    )
    assert replies[0].text == t(app, "s5.saved_warm", count=4)
    replies = await log_evidence(person, "ส่งงาน", "ลดเวลาจาก 2 วันเหลือครึ่งวัน")  # thin task
    assert replies[0].text == t(app, "s5.saved", count=5)


async def test_learning_praise_fits_the_entry(app, channel):
    person = Person(app, channel)
    await at_step4(person)
    for what, learned in (("ดูคลิป", "ได้"), ("ฝึกทำสารบัญอัตโนมัติ", "สร้างสารบัญจากหัวเรื่อง 3 ระดับได้")):
        await person.tap("log")
        await person.tap("k:word")
        await person.say(what)
        await person.tap("o:30")
        await person.say(learned)
    saved = [r.text for r in person.replies if r.text.startswith(t(app, "s4.saved", count=1)[:8])]
    assert saved == [t(app, "s4.saved", count=1), t(app, "s4.saved_warm", count=2)]


# ---- answers with no words --------------------------------------------------------


@pytest.mark.parametrize("typed", NO_WORDS)
async def test_an_entry_field_without_words_is_asked_again(app, channel, typed):
    person = Person(app, channel)
    await at_step5(person)
    await person.tap("log")
    await person.tap("k:word")
    replies = await person.say(typed)
    assert replies[0].text == t(app, "common.need_words")
    assert await entries(app, "evidence") == []
    await person.say("หนังสือเวียน")
    assert person.question.text == t(app, "s5.ask_tool")
    replies = await person.say(typed)  # the tool too
    assert replies[0].text == t(app, "common.need_words")


async def test_minutes_are_still_numbers(app, channel):
    person = Person(app, channel)
    await at_step4(person)
    await person.tap("log")
    await person.tap("k:word")
    await person.say("ฝึกทำสารบัญ")
    await person.say("45")
    await person.say("ทำสารบัญได้เอง")
    [learning] = await entries(app, "learning")
    assert learning.data["minutes"] == 45


@pytest.mark.parametrize("typed", NO_WORDS)
async def test_a_name_without_letters_is_asked_again(app, channel, typed):
    person = Person(app, channel)
    await person.follow()
    await person.tap(1)  # accept
    replies = await person.say(typed)
    assert replies[0].text == t(app, "common.need_words")
    await person.say("สมชาย 2")  # still at the name question: this is the name
    assert person.question.text == t(app, "onboard.ask_agency")


async def test_an_emoji_platform_name_is_not_offered(app, channel):
    person = Person(app, channel, display_name="😀😀")
    await person.follow()
    await person.tap(1)
    assert "name:platform" not in [c.id for c in person.question.choices]
    named = Person(app, channel, display_name="Somchai 😀")
    await named.follow()
    await named.tap(1)
    assert "name:platform" in [c.id for c in named.question.choices]
