"""The six steps at handler level: every step, what is stored, and bad input."""

from __future__ import annotations

from sqlmodel import select

from storage.models import (
    Assessment,
    AssessmentAnswer,
    ChannelAccount,
    ConsentRefusal,
    ConversationState,
    Goal,
    Journey,
    ReminderPreference,
    StepEntry,
)
from storage.models import (
    Person as PersonRow,
)
from tests.drivers.chat import Person, t
from tests.drivers.journey import (
    POST,
    PRE,
    onboard,
    step1,
    step2,
    step3,
    step4,
    step5,
    whole_journey,
)


async def rows(app, model, *where):
    async with app.sessions() as session:
        return list((await session.exec(select(model).where(*where))).all())


async def test_nothing_is_stored_before_consent(app, channel):
    person = Person(app, channel)
    replies = await person.follow()
    assert replies[-1].text.startswith(t(app, "consent.notice", version="พฤศจิกายน 2569")[:20])
    assert [c.label for c in replies[-1].choices][:2] == [
        t(app, "consent.accept"),
        t(app, "consent.decline"),
    ]
    await person.say("สวัสดี")
    assert await rows(app, PersonRow) == []
    assert await rows(app, ChannelAccount) == []


async def test_refusal_keeps_only_a_hash(app, channel):
    person = Person(app, channel)
    await person.follow()
    replies = await person.tap(2)
    assert replies[-1].text == t(app, "consent.declined")
    refusals = await rows(app, ConsentRefusal)
    assert len(refusals) == 1 and person.user not in refusals[0].account_hash
    assert await rows(app, PersonRow) == []


async def test_notice_can_switch_to_english_before_consent(app, channel):
    person = Person(app, channel)
    await person.follow()
    replies = await person.tap("consent:lang:en")
    assert "Privacy notice" in replies[-1].text
    await person.tap("consent:y:en")
    [stored] = await rows(app, PersonRow)
    assert stored.lang == "en"


async def test_onboarding_stores_each_answer(app, channel):
    person = Person(app, channel, display_name="Somchai")
    await onboard(person, name="สมหญิง")
    [stored] = await rows(app, PersonRow)
    assert stored.display_name == "สมหญิง"
    assert stored.agency_id is not None and stored.unit_id is not None
    assert stored.personnel_group == "g3"
    assert stored.onboarded_at is not None
    [pref] = await rows(app, ReminderPreference)
    assert pref.time_local.strftime("%H:%M") == "07:30" and pref.enabled
    assert "ขั้นที่ 1" in person.text()


async def test_bad_onboarding_answers_are_reprompted(app, channel):
    person = Person(app, channel)
    await person.follow()
    await person.tap(1)
    replies = await person.say("")
    assert replies[0].text == t(app, "common.empty")
    replies = await person.say("x" * 101)
    assert replies[0].text == t(app, "common.too_long", max=100)
    await person.say("ทดสอบ 😀")
    replies = await person.say("กระทรวงที่ไม่มีจริง")
    assert replies[0].text == t(app, "onboard.code_unknown")
    await person.say("demo")  # the agency code, typed
    await person.say("ไม่มีในรายการ")  # a button label, typed
    replies = await person.say("ผู้บริหาร?")
    assert replies[0].text == t(app, "common.pick_one")
    assert [c.id for c in replies[-1].choices][0] == "g:g1"
    await person.say("กลุ่ม 4 ผู้ทำงานด้านบริการ")  # the full name, as the question lists it
    [stored] = await rows(app, PersonRow)
    assert stored.personnel_group == "g4"
    replies = await person.say("25:99")
    assert replies[0].text == t(app, "onboard.time_invalid")
    await person.say("8.45 น.")
    [pref] = await rows(app, ReminderPreference)
    assert pref.time_local.strftime("%H:%M") == "08:45"
    [stored] = await rows(app, PersonRow)
    assert stored.display_name == "ทดสอบ 😀" and stored.unit_id is None


async def test_step1_stores_the_reason_and_moves_to_step2(app, channel):
    person = Person(app, channel)
    await onboard(person)
    await step1(person)
    [entry] = await rows(app, StepEntry)
    assert (entry.kind, entry.step, entry.text) == ("reason", 1, "ช่วยให้บริการประชาชนได้ดีขึ้น")
    [journey] = await rows(app, Journey)
    assert journey.current_step == 2


async def test_step2_rates_nine_skills_and_summarises(app, channel):
    person = Person(app, channel)
    await onboard(person)
    await step1(person)
    await person.tap("start")
    for level in PRE[:3]:
        await person.tap(f"lv:{level}")
    replies = await person.say("เก้า")
    assert replies[0].text == t(app, "assess.pick_level")
    await person.say("1")  # typed digit works for skill 4
    await person.tap("back")  # and can be corrected
    for level in PRE[3:]:
        await person.tap(f"lv:{level}")
    result = next(r for r in person.replies if r.card and r.card.title == t(app, "s2.result_title"))
    assert "2.2" in result.text  # mean of PRE = 20/9
    assert "ตารางคำนวณ" in result.text.split("จุดแข็ง:")[1].splitlines()[0]
    weakest = result.text.split("ควรพัฒนาก่อน:")[1].splitlines()[0]
    assert "พิมพ์เอกสาร" in weakest and "ภาพและสื่อดิจิทัล" in weakest
    assert any(r.image_png and r.image_png.startswith(b"\x89PNG") for r in person.replies)
    answers = await rows(app, AssessmentAnswer)
    assert sorted(a.level for a in answers) == sorted(PRE)
    [pre] = await rows(app, Assessment)
    assert pre.kind == "pre" and pre.completed_at is not None


async def test_step3_goals_and_if_then_plan(app, channel):
    person = Person(app, channel)
    await onboard(person)
    await step1(person)
    await step2(person)
    await person.tap("k:word")
    replies = await person.tap("done")
    # word was rated 1, so the target starts at 2
    assert [c.id for c in replies[-1].choices] == ["lv:2", "lv:3", "lv:4", "lv:5"]
    await person.tap("lv:3")
    replies = await person.say("31/02/2570")
    assert replies[0].text == t(app, "s3.date_invalid")
    for past in ("01/11/2569", "23/11/2569"):  # before and on today (23/11/2569)
        replies = await person.say(past)
        assert replies[0].text == t(app, "s3.date_past")
    await person.say("31/03/2570")
    await person.tap("a:coaching")
    replies = await person.say("ฉันจะ")  # a whole sentence, but too short to be a plan
    assert replies[0].text == t(app, "common.too_short", min=8)
    await person.say("เมื่อได้รับงานหนังสือเวียน ฉันจะลองใช้สไตล์ของ Word")
    [goal] = await rows(app, Goal)
    assert (goal.skill_id, goal.start_level, goal.target_level, goal.approach) == (
        "word",
        1,
        3,
        "coaching",
    )
    assert goal.target_date.isoformat() == "2027-03-31"
    plans = await rows(app, StepEntry, StepEntry.kind == "plan")
    assert plans[0].text.startswith("เมื่อได้รับงาน")
    [journey] = await rows(app, Journey)
    assert journey.current_step == 4


async def test_step3_stops_at_three_focus_skills(app, channel):
    person = Person(app, channel)
    await onboard(person)
    await step1(person)
    await step2(person)
    for skill in ("word", "media", "data"):
        replies = await person.tap(f"k:{skill}")
    assert replies[-1].text.startswith("โปรแกรมประมวลผลคำ")  # straight on to the first target
    assert len(await rows(app, Goal)) == 3


async def test_step4_and_step5_logbooks(app, channel):
    person = Person(app, channel)
    await onboard(person)
    for walk in (step1, step2, step3):
        await walk(person)
    replies = await person.say("ไปขั้นที่ 5 ▶")  # not offered before the first entry
    assert replies[0].text == t(app, "common.pick_one")
    await person.tap("res")
    assert "learningportal.ocsc.go.th" in person.text() or "📚" in person.text()
    await person.tap("log")
    await person.tap("k:media")
    await person.say("ดูคลิปสอน Canva")
    replies = await person.say("ครึ่งวัน")
    assert replies[0].text == t(app, "s4.minutes_invalid")
    await person.say("45 นาที")
    await person.say("ออกแบบโปสเตอร์ประชาสัมพันธ์ได้")
    await person.tap("next")
    await step5(person)
    [learning] = await rows(app, StepEntry, StepEntry.kind == "learning")
    assert learning.skill_id == "media" and learning.data["minutes"] == 45
    assert learning.data["learned"] == "ออกแบบโปสเตอร์ประชาสัมพันธ์ได้"
    [evidence] = await rows(app, StepEntry, StepEntry.kind == "evidence")
    assert evidence.data == {
        "task": "หนังสือเวียนประจำเดือน",
        "tool": "Microsoft Word",
        "result": app.content.outcome("faster").label.get("th"),
        "outcome": "faster",
    }
    [journey] = await rows(app, Journey)
    assert journey.current_step == 6


async def test_a_result_in_own_words_is_asked_which_outcome_it_served(app, channel):
    person = Person(app, channel)
    await onboard(person)
    await step1(person)
    await step2(person)
    await step3(person)
    await step4(person)
    await person.tap("log")
    await person.tap("k:sheet")
    await person.say("รายงานผลเบิกจ่ายประจำไตรมาส")
    await person.say("Excel")
    replies = await person.say("ลดเวลาจากสองวันเหลือครึ่งวัน")
    assert replies[-1].text == t(app, "s5.ask_outcome")
    assert [c.id for c in replies[-1].choices] == [
        "o:faster",
        "o:resources",
        "o:value",
        "o:service",
        "o:other",
        "x:cancel",
    ]
    replies = await person.say("อะไรก็ได้")  # not one of them: asked again
    assert replies[0].text == t(app, "common.pick_one")
    await person.tap("o:service")
    [evidence] = await rows(app, StepEntry, StepEntry.kind == "evidence")
    assert evidence.skill_id == "sheet"
    assert evidence.data["result"] == "ลดเวลาจากสองวันเหลือครึ่งวัน"
    assert evidence.data["outcome"] == "service"
    assert t(app, "s5.saved", count=1) in person.text()
    assert person.question.text.startswith(t(app, "s5.menu", count=1)[:20])


async def test_step6_growth_reflection_tip_and_new_round(app, channel):
    person = Person(app, channel)
    await whole_journey(person)
    growth = next(r for r in person.replies if r.card and r.card.title == t(app, "s6.result_title"))
    word_row = next(row for row in growth.card.rows if row.label == "โปรแกรมประมวลผลคำ")
    assert word_row.value == "1 → 3 (+2)"
    assert growth.card.footer == t(app, "s6.goals_footer", reached=1, total=2)
    [journey] = await rows(app, Journey)
    assert journey.completed_at is not None
    kinds = sorted(e.kind for e in await rows(app, StepEntry))
    assert kinds == ["evidence", "learning", "plan", "reason", "reflection", "tip"]
    assert [c.id for c in person.question.choices] == ["new", "go:menu"]
    await person.tap("new")
    journeys = await rows(app, Journey)
    assert [j.round_no for j in journeys] == [1, 2]
    assert "ขั้นที่ 1" in person.replies[-3].text or "ขั้นที่ 1" in person.text()[-400:]
    assert sorted(a.level for a in await rows(app, AssessmentAnswer)) == sorted(PRE + POST)


async def test_stale_button_gets_the_current_question(app, channel):
    person = Person(app, channel)
    await onboard(person)
    old = person.question
    await person.tap("next")
    replies = await person.tap_stale(old)
    assert replies[0].text == t(app, "common.stale_button")
    assert replies[-1].question_seq == person.question.question_seq
    [conv] = await rows(app, ConversationState)
    assert conv.state == "s1.what"


async def test_the_state_is_written_at_the_end_of_each_turn_with_its_time(app, channel, clock):
    """The state is kept out of the session during a turn and written once at its
    end: each turn's question and data are there afterwards, stamped with the
    turn's time."""
    person = Person(app, channel)
    await onboard(person)
    [first] = await rows(app, ConversationState)
    clock.advance(seconds=90)
    await person.tap("next")
    [second] = await rows(app, ConversationState)
    assert second.question_seq == first.question_seq + 1
    assert second.question_seq == person.question.question_seq
    assert second.updated_at == clock.now() != first.updated_at


async def test_commands_progress_help_lang_menu_and_unknown(app, channel):
    person = Person(app, channel)
    await onboard(person)
    await step1(person)
    replies = await person.say("/progress")
    assert replies[0].card is not None and "▰" in replies[0].text
    assert "ขั้นที่ 2" in replies[0].text
    replies = await person.say("/nosuch")
    assert replies[0].text == t(app, "command.unknown", command="/nosuch")
    assert replies[1].text == t(app, "help")
    replies = await person.say("/lang en")
    assert replies[0].text == t(app, "lang.changed", "en")
    assert "self-assessment" in replies[-1].text
    replies = await person.say("menu")
    assert [c.id for c in replies[-1].choices][0] == "m:continue"
    replies = await person.tap("m:continue")
    assert replies[-1].choices[0].id == "start"  # back to the step 2 intro
    replies = await person.say("/help")
    assert replies[0].text == t(app, "help", "en")


async def test_resume_mid_assessment_after_restart(sqlite_url, clock):
    from tests.drivers.chat import RecordingChannel, make_app

    first = await make_app(sqlite_url, clock)
    channel = RecordingChannel()
    first.add_channel(channel)
    person = Person(first, channel)
    await onboard(person)
    await step1(person)
    await person.tap("start")
    for level in PRE[:4]:
        await person.tap(f"lv:{level}")
    await first.close()

    second = await make_app(sqlite_url, clock)
    channel2 = RecordingChannel()
    second.add_channel(channel2)
    again = Person(second, channel2, user=person.user)
    replies = await again.follow()
    assert "ยินดีต้อนรับกลับมา" in replies[0].text
    assert "5/9" in replies[-1].text  # the fifth skill is next
    await second.close()


async def test_redelivered_event_is_handled_once(app, channel):
    person = Person(app, channel)
    await person.follow()
    first = await person._send(
        kind="choice", choice="consent:y:th", event_id="evt-1", question_seq=None, text=""
    )
    second = await person._send(
        kind="choice", choice="consent:y:th", event_id="evt-1", question_seq=None, text=""
    )
    assert first and second == []
    assert len(await rows(app, PersonRow)) == 1


async def test_a_handler_bug_apologises_and_records_nothing_half_done(app, channel, monkeypatch):
    from handlers import engine

    person = Person(app, channel)
    await onboard(person)

    async def broken(ctx, flow):
        raise RuntimeError("boom")

    monkeypatch.setattr(engine, "run", broken)
    replies = await person.say("อะไรก็ได้")
    assert replies[0].text == t(app, "common.error")


async def test_old_flow_version_restarts_the_current_step(app, channel):
    person = Person(app, channel)
    await onboard(person)
    await step1(person)
    async with app.sessions() as session, session.begin():
        conv = (await session.exec(select(ConversationState))).one()
        conv.state = "s2.removed_state"
        conv.flow_version = 0
        session.add(conv)
    replies = await person.say("สวัสดี")
    assert replies[-1].choices[0].id == "start"
