"""What the working group does from chat: chase (/inactive, /nudge), write to
staff (/broadcast, /feedback and the answer back), hear them (/idea, /ideas),
recognise (/exemplary, certificates), and hand over the report (/export)."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import load_workbook
from PIL import Image
from pypdf import PdfReader
from sqlmodel import select

from documents.render import render
from handlers.messages import Reply
from handlers.reports.figures import summarise
from handlers.reports.summary import agency_charts
from storage.models import (
    Award,
    Certificate,
    Feedback,
    Idea,
    Journey,
    Nudge,
    ReminderPreference,
)
from storage.reports import person_rows
from tests.drivers.chat import Person, t
from tests.drivers.journey import onboard, step1, step2, whole_journey
from tests.drivers.working_group import (
    SKILLS,
    THIS_YEAR,
    Staff,
    audit_rows,
    in_group,
    inbox,
    make_admin,
    make_agency,
    numbers,
    outbox_rows,
    person_id,
    place,
)


def assert_png(data: bytes, size: tuple[int, int]) -> None:
    """A PNG of exactly `size` that is not one flat colour."""
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.size == size
    colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 50


# ---- chasing -----------------------------------------------------------------------------


async def test_inactive_lists_who_has_not_moved_on_by_unit(app, channel):
    await make_agency(app, "CHASE", "กรมติดตาม", ["กองก", "กองข"])
    ids = await place(
        app,
        "CHASE",
        [
            Staff("นิ่งนาน", "กองข", "g3", 2, idle_days=30),
            Staff("เพิ่งทำ", "กองข", "g3", 4, idle_days=2),
            Staff("นิ่งกลาง", "กองก", "g4", 3, idle_days=15),
            Staff("ทำครบ", "กองก", "g4", 6, completed=True, idle_days=40),
        ],
    )
    admin = await make_admin(app, channel, "member", agency_code="CHASE")
    text = (await admin.say("/inactive"))[0].text
    assert text.startswith(t(app, "admin.inactive", days=14, count=2, lines="")[:20])
    lines = text.splitlines()
    first, second = (
        lines.index(t(app, "admin.unit_heading", unit="กองก")),
        lines.index(t(app, "admin.unit_heading", unit="กองข")),
    )
    assert first < second
    nums = await numbers(app, ids)
    assert f"#{nums[2]} นิ่งกลาง · " + t(app, "admin.idle_detail", step=3, days=15) in lines
    assert f"#{nums[0]} นิ่งนาน · " + t(app, "admin.idle_detail", step=2, days=30) in lines
    assert "เพิ่งทำ" not in text and "ทำครบ" not in text
    text = (await admin.say("/inactive 1"))[0].text
    assert "เพิ่งทำ" in text
    assert (await admin.say("/inactive abc"))[0].text == t(app, "admin.days_invalid")
    listed = await audit_rows(app, "admin.inactive")
    assert sorted(listed[0].detail["people"]) == sorted([ids[0], ids[2]])


async def test_nudge_goes_through_the_reminders_quoting_each_plan_once_a_day(app, channel, clock):
    await make_agency(app, "NUDGE", "กรมกระตุ้น", ["กองก"])
    plan = "เมื่อดื่มกาแฟตอนเช้า ฉันจะฝึก Excel 10 นาที"
    ids = await place(
        app,
        "NUDGE",
        [
            Staff("มีแผน", "กองก", "g3", 4, idle_days=20, plan=plan),
            Staff("ยังไม่มีแผน", "กองก", "g3", 2, idle_days=20),
            Staff("ปิดเตือน", "กองก", "g3", 4, idle_days=20),
            Staff("พักไว้", "กองก", "g3", 4, idle_days=20),
            Staff("บล็อก", "กองก", "g3", 4, idle_days=20, account_active=False),
            Staff("ขยัน", "กองก", "g3", 4, idle_days=1),
        ],
    )
    async with app.sessions() as session, session.begin():
        session.add(ReminderPreference(person_id=ids[2], enabled=False))
        session.add(ReminderPreference(person_id=ids[3], paused_until=date(2026, 11, 30)))
    admin = await make_admin(app, channel, "member", agency_code="NUDGE")

    async def nudges() -> dict:
        rows = await outbox_rows(app, "nudge")
        return {row.chat_id: row for row in rows if row.chat_id.startswith("p")}

    nums = await numbers(app, ids)
    preview = (await admin.say("/nudge"))[-1]
    assert preview.text.startswith(t(app, "admin.nudge_preview", days=14, going=2)[:30])
    assert f"#{nums[0]} มีแผน" in preview.text and f"#{nums[1]} ยังไม่มีแผน" in preview.text
    assert f"#{nums[4]} บล็อก · " + t(app, "admin.skip_unreachable") in preview.text
    assert f"#{nums[2]} ปิดเตือน · " + t(app, "admin.skip_settings") in preview.text
    assert "ขยัน" not in preview.text  # moved on yesterday: not lagging
    assert await outbox_rows(app, "nudge") == []  # nothing before the confirmation
    replies = await admin.tap("ng:send")
    assert replies[0].text == t(app, "admin.nudged", sent=2, lagging=5, days=14, skipped=3)
    sent = await nudges()
    assert set(sent) == {f"p{ids[0]}", f"p{ids[1]}"}
    with_plan = Reply.from_json(sent[f"p{ids[0]}"].payload[0])
    assert plan in with_plan.text and "กรมกระตุ้น" in with_plan.text
    assert not with_plan.essential
    assert [c.id for c in with_plan.choices] == ["go:continue", "go:remind"]
    without = Reply.from_json(sent[f"p{ids[1]}"].payload[0])
    assert app.content.step(2).what_you_do.get("th") in without.text
    async with app.sessions() as session:
        recorded = (await session.exec(select(Nudge).order_by(Nudge.id))).all()
    assert [(n.person_id, n.kind, n.slot, n.status) for n in recorded] == [
        (ids[0], "admin", "admin:2026-11-23", "sent"),
        (ids[1], "admin", "admin:2026-11-23", "sent"),
    ]
    assert recorded[0].outbox_id == sent[f"p{ids[0]}"].id
    # again the same day: nobody is nudged twice
    preview = (await admin.say("/nudge"))[-1]
    assert f"#{nums[0]} มีแผน · " + t(app, "admin.skip_today") in preview.text
    replies = await admin.tap("ng:send")
    assert replies[0].text == t(app, "admin.nudged", sent=0, lagging=5, days=14, skipped=5)
    assert len(await outbox_rows(app, "nudge")) == 2
    clock.advance(days=1)
    await admin.say("/nudge")
    await admin.tap("ng:send")
    assert len(await outbox_rows(app, "nudge")) == 4
    assert [a.detail["people"] for a in await audit_rows(app, "admin.nudge")][0] == ids[:2]


# ---- writing to staff -------------------------------------------------------------------------


async def test_broadcast_confirms_the_count_then_sends_to_active_staff_only(app, channel):
    admin = await make_admin(app, channel, "head")
    staff = [Person(app, channel) for _ in range(2)]
    for person in staff:
        await onboard(person, name="บุคลากร")
    [gone] = await place(app, "DEMO", [Staff("เลิกติดตาม", None, "g3", 1, account_active=False)])
    replies = await admin.say("/broadcast ประชุมคณะทำงานวันศุกร์นี้ 10 โมง")
    confirm = replies[-1]
    assert confirm.text == t(
        app, "admin.broadcast_confirm", count=3, text="ประชุมคณะทำงานวันศุกร์นี้ 10 โมง"
    )
    assert await outbox_rows(app, "broadcast") == []
    replies = await admin.tap("bc:send")
    rows = await outbox_rows(app, "broadcast")
    assert len(rows) == 3 and f"p{gone}" not in {r.chat_id for r in rows}
    # the head is staff too: their own copy comes first, then the confirmation
    assert "ประชุมคณะทำงานวันศุกร์นี้ 10 โมง" in replies[0].text
    assert replies[1].text == t(app, "admin.broadcast_sent", count=3)
    got = await inbox(staff[0])
    assert "ประชุมคณะทำงานวันศุกร์นี้ 10 โมง" in got[0].text
    [done] = await audit_rows(app, "admin.broadcast")
    assert done.detail["recipients"] == 3
    # back on the question the admin was on before the broadcast
    assert admin.question.question_seq is not None and admin.question.choices


async def test_broadcast_can_be_cancelled(app, channel):
    admin = await make_admin(app, channel, "head")
    await admin.say("/ประกาศ ทดสอบ")
    replies = await admin.tap("x:cancel")
    assert replies == [Reply(text=t(app, "admin.cancelled"))]  # alone: no journey question
    replies = await admin.say("/broadcast")  # alone: it asks for the text
    assert replies[-1].text == t(app, "admin.broadcast_ask")
    replies = await admin.say("ประชุมพรุ่งนี้")
    assert replies[-1].text == t(app, "admin.broadcast_confirm", count=1, text="ประชุมพรุ่งนี้")
    replies = await admin.say("ยกเลิก")  # a cancel word, typed
    assert replies == [Reply(text=t(app, "admin.cancelled"))]
    assert await outbox_rows(app, "broadcast") == []


async def test_an_admin_command_answers_alone(app, channel):
    admin = await make_admin(app, channel, "member")
    before = admin.question
    for command in ("/summary", "/inactive", "/ideas", "/admin"):
        replies = await admin.say(command)
        assert all(r.question_seq is None for r in replies), command
        assert t(app, "s1.skills", skills="")[:15] not in "".join(r.text for r in replies)
    replies = await admin.say("/continue")  # the journey waits until the admin asks for it
    assert replies[-1].text == before.text


async def test_feedback_reaches_the_person_who_can_answer_back(app, channel):
    admin = await make_admin(app, channel, "member", name="ผู้ประสานงาน")
    staff = Person(app, channel)
    await onboard(staff, name="สมหญิง รักเรียน")
    await step1(staff)
    before = staff.question
    [number] = await numbers(app, [await person_id(app, staff)])
    replies = await admin.say(f"/feedback #{number} บันทึกการเรียนรู้ดีมาก ทำต่อนะ")
    assert replies[0].text == t(app, "admin.feedback_sent", number=number, name="สมหญิง รักเรียน")
    [message] = await inbox(staff)
    assert "บันทึกการเรียนรู้ดีมาก ทำต่อนะ" in message.text and "ผู้ประสานงาน" in message.text
    assert message.choices[0].id.startswith("fb:")
    await staff.tap(message.choices[0].id)
    assert staff.question.text == t(app, "feedback.ask_reply")
    await staff.say("ขอบคุณครับ จะพยายามต่อ")
    assert staff.replies[-2].text == t(app, "feedback.reply_sent")
    assert staff.question.text == before.text  # back where they were
    [answer] = await inbox(admin)
    assert answer.text == t(
        app,
        "feedback.reply_message",
        number=number,
        name="สมหญิง รักเรียน",
        text="ขอบคุณครับ จะพยายามต่อ",
    )
    await staff.say("/reply อีกเรื่องหนึ่ง")
    [again] = await inbox(admin)
    assert "อีกเรื่องหนึ่ง" in again.text
    async with app.sessions() as session:
        thread = (await session.exec(select(Feedback).order_by(Feedback.id))).all()
    assert [f.reply_to_id for f in thread] == [None, thread[0].id, thread[0].id]
    assert len(await audit_rows(app, "admin.feedback")) == 1


async def test_reply_with_nothing_to_answer(app, channel):
    person = Person(app, channel)
    await onboard(person)
    assert (await person.say("/reply hello"))[0].text == t(app, "feedback.nothing_to_reply")


async def test_feedback_to_someone_unreachable_is_not_pretended(app, channel):
    admin = await make_admin(app, channel, "member")
    [gone] = await place(app, "DEMO", [Staff("บล็อกแล้ว", None, "g3", 2, account_active=False)])
    replies = await admin.say(f"/feedback {gone} สวัสดี")
    assert replies[0].text == t(app, "admin.unreachable", number=gone)
    assert await outbox_rows(app, "feedback") == []


# ---- hearing staff ------------------------------------------------------------------------------


async def test_ideas_from_anyone_at_any_time_and_the_admins_list(app, channel):
    staff = Person(app, channel)
    await onboard(staff, name="นักคิด")
    await step1(staff)
    before = staff.question
    await staff.say("/idea อยากให้มีหลักสูตร Excel ขั้นสูง")
    assert t(app, "idea.thanks") in staff.text()
    assert staff.question.text == before.text
    await staff.say("/ความเห็น")
    assert staff.question.text == t(app, "idea.ask")
    await staff.say("ขอเวลาเรียนในเวลางานสัปดาห์ละชั่วโมง")
    admin = await make_admin(app, channel, "member")
    text = (await admin.say("/ideas"))[0].text
    assert "อยากให้มีหลักสูตร Excel ขั้นสูง" in text and "ขอเวลาเรียนในเวลางาน" in text
    assert text.index("ขอเวลาเรียน") < text.index("อยากให้มี")  # newest first
    assert "23 พฤศจิกายน 2569" in text
    async with app.sessions() as session:
        assert len((await session.exec(select(Idea))).all()) == 2
    assert len((await audit_rows(app, "admin.ideas"))[0].detail["ideas"]) == 2


async def test_the_tip_of_a_completed_round_reaches_the_working_group(app, channel):
    staff = Person(app, channel)
    await whole_journey(staff)  # its tip: "use heading styles, the contents build themselves"
    admin = await make_admin(app, channel, "member")
    [number] = await numbers(app, [await person_id(app, staff)])
    text = (await admin.say("/ideas"))[0].text
    assert (
        t(
            app,
            "admin.tip_line",
            date="23 พฤศจิกายน 2569",
            number=number,
            name="สมชาย ใจดี",
            text="ใช้สไตล์หัวเรื่อง แล้วสารบัญจะทำตัวเอง",
        )
        in text
    )
    async with app.sessions() as session:
        [tip] = (await session.exec(select(Idea))).all()
    assert tip.kind == "tip"


# ---- recognising ----------------------------------------------------------------------------------


async def test_exemplary_lists_the_largest_growth_first(app, channel):
    await make_agency(app, "STAR", "กรมดาว", ["กองก"])
    ids = await place(
        app,
        "STAR",
        [
            Staff("โตน้อย", "กองก", "g3", 6, True, {"computer": 2}, {"computer": 3}),
            Staff(
                "โตมาก",
                "กองก",
                "g3",
                6,
                True,
                {"computer": 1, "sheet": 1},
                {"computer": 4, "sheet": 3},
            ),
            Staff("ยังไม่ครบ", "กองก", "g3", 5, False, {"computer": 1}),
        ],
    )
    admin = await make_admin(app, channel, "member", agency_code="STAR")
    text = (await admin.say("/exemplary"))[0].text
    nums = await numbers(app, ids)
    assert text.index(f"#{nums[1]} โตมาก") < text.index(f"#{nums[0]} โตน้อย")
    assert "ยังไม่ครบ" not in text
    assert "+5" in text


async def test_completing_the_journey_sends_a_thai_certificate(app, channel):
    person = Person(app, channel)
    await whole_journey(person)
    [certificate] = [r for r in person.replies if r.document]
    assert certificate.document_name == "dlcoach-certificate.pdf"
    text = PdfReader(io.BytesIO(certificate.document)).pages[0].extract_text()
    assert "สมชาย ใจดี" in text
    assert t(app, "demo.agency_name") in text
    assert "23 พฤศจิกายน 2569" in text
    assert "โปรแกรมประมวลผลคำ" in text  # a focus skill of step 3
    says = [r.text for r in person.replies]
    assert says.index(t(app, "s6.complete", name="สมชาย ใจดี", round=1)) < says.index(
        certificate.text
    )
    async with app.sessions() as session:
        assert len((await session.exec(select(Certificate))).all()) == 1


async def test_a_certificate_failure_does_not_break_completion(app, channel, monkeypatch):
    from documents import render as renderers

    def broken(**_):  # noqa: ANN003
        raise RuntimeError("no fonts today")

    monkeypatch.setitem(renderers.RENDERERS, "certificate", broken)
    person = Person(app, channel)
    await whole_journey(person)
    assert not any(r.document for r in person.replies)
    assert t(app, "s6.complete", name="สมชาย ใจดี", round=1) in person.text()
    assert person.question.text == t(app, "done.ask")
    async with app.sessions() as session:
        [journey] = (await session.exec(select(Journey))).all()
        assert journey.completed_at is not None
        assert (await session.exec(select(Certificate))).all() == []


# ---- the report ------------------------------------------------------------------------------------


async def test_export_sends_the_xlsx_report_as_a_document(app, channel):
    admin = await make_admin(app, channel, "head")
    replies = await admin.say("/export ชื่อ")  # names, for use inside the agency
    [document] = [r for r in replies if r.document]
    assert document.document_name == "dlcoach-report-DEMO.xlsx"
    book = load_workbook(io.BytesIO(document.document))
    assert book.sheetnames == [
        t(app, "report.sheet_summary"),
        t(app, "report.sheet_people"),
        t(app, "report.sheet_goals"),
        t(app, "report.sheet_evidence"),
        t(app, "report.sheet_skills"),
        t(app, "arms.sheet"),
    ]
    assert book.worksheets[1]["B6"].value == "หัวหน้าคณะทำงาน"
    assert replies[0].text == t(app, "admin.export_ready_names", count=1)
    [exported] = await audit_rows(app, "admin.export")
    assert exported.detail == {
        "agency": "DEMO",
        "format": "xlsx",
        "people": 1,
        "names": True,
        "fiscal_year": 2570,
    }
    replies = await admin.say("/export twenty")
    assert replies[0].text == t(app, "admin.year_invalid")


async def test_the_export_leaves_names_out_and_is_for_the_head_unless_allowed(app, channel):
    head = await make_admin(app, channel, "head")
    [document] = [r for r in await head.say("/export") if r.document]
    book = load_workbook(io.BytesIO(document.document))
    assert book.worksheets[1]["A6"].value == 1 and book.worksheets[1]["B6"].value is None
    assert book.worksheets[0]["A1"].value == t(app, "report.title")
    member = await make_admin(app, channel, "member", name="สมาชิก")
    replies = await member.say("/export")
    assert replies == [Reply(text=t(app, "admin.export_head_only"))]
    [refused] = await audit_rows(app, "admin.refused")
    assert refused.detail["reason"] == "export_for_head"
    assert (await head.say("/exportaccess on"))[0].text == t(app, "admin.export_access_on")
    assert any(r.document for r in await member.say("/export"))
    assert (await member.say("/exportaccess off"))[0].text == t(app, "admin.head_only")


# ---- the working-group chat ---------------------------------------------------------------------


async def test_bindgroup_in_a_group_chat_and_completion_notices(app, channel):
    head = await make_admin(app, channel, "head")
    replies = await in_group(app, channel, head.user, "hello everyone")
    assert replies == []  # ordinary talk in a group is ignored
    replies = await in_group(app, channel, head.user, "/bindgroup@dlcoach_bot")
    assert replies[0].text.startswith("✅") and "ศุกร์" in replies[0].text
    [reply_row] = [r for r in await outbox_rows(app, "reply") if r.chat_id == "G-1"][-1:]
    assert reply_row.account_id is None  # a group reply is no one's account
    replies = await in_group(app, channel, head.user, "/notify on")
    assert replies[0].text == t(app, "admin.notify_on")
    [bound] = await audit_rows(app, "admin.bindgroup")
    assert bound.detail["agency"] == "DEMO"

    staff = Person(app, channel)
    await whole_journey(staff)
    [notice] = await outbox_rows(app, "push")
    assert notice.chat_id == "G-1"
    assert "สมชาย ใจดี" in Reply.from_json(notice.payload[0]).text

    replies = await head.say("/notify off")
    assert replies[0].text == t(app, "admin.notify_off")
    again = Person(app, channel)
    await whole_journey(again)
    assert len(await outbox_rows(app, "push")) == 1


async def test_bindgroup_in_private_explains_where_to_type_it(app, channel):
    head = await make_admin(app, channel, "head")
    replies = await head.say("/bindgroup")
    assert replies[0].text == t(app, "admin.bind_in_group")
    replies = await head.say("/notify on")
    assert replies[0].text == t(app, "admin.not_bound")


async def test_a_member_cannot_bind_the_group(app, channel):
    member = await make_admin(app, channel, "member")
    replies = await in_group(app, channel, member.user, "/bindgroup")
    assert replies[0].text == t(app, "admin.head_only")


# ---- charts -------------------------------------------------------------------------------------------


async def test_progress_shows_the_radar_chart(app, channel):
    person = Person(app, channel)
    await onboard(person)
    replies = await person.say("/progress")
    assert not any(r.image_png for r in replies)  # nothing rated yet
    await step1(person)
    await step2(person)
    replies = await person.say("/progress")
    [chart] = [r.image_png for r in replies if r.image_png]
    assert_png(chart, (800, 800))


async def test_agency_charts_are_the_right_size_and_not_blank(app):
    await make_agency(app, "CHART", "กรมแผนภูมิ", ["กองก"])
    await place(
        app,
        "CHART",
        [
            Staff(
                "ก", "กองก", "g3", 6, True, {"computer": 2, "sheet": 1}, {"computer": 4, "sheet": 3}
            ),
            Staff("ข", "กองก", "g3", 3, False, {"computer": 1}),
        ],
    )
    async with app.sessions() as session:
        rows = await person_rows(session, "CHART", THIS_YEAR, SKILLS)
    content = app.content
    figures = summarise(rows, [s.id for s in content.skills], ["g3"])
    steps, growth = [render(c.kind, c.spec) for c in agency_charts(content, "th", figures)]
    assert_png(steps, (1000, 600))
    assert_png(growth, (1000, 600))


async def test_erasing_a_person_removes_their_working_group_rows_but_not_the_binding(app, channel):
    from storage.models import AdminRole, WorkingGroupChat

    head = await make_admin(app, channel, "head")
    await in_group(app, channel, head.user, "/bindgroup")
    staff = Person(app, channel)
    await onboard(staff)
    await staff.say("/idea ขอบคุณทีมงาน")
    await head.say(f"/feedback {await person_id(app, staff)} เยี่ยมมาก")
    await inbox(staff)
    await staff.say("/reply ขอบคุณครับ")
    for person in (staff, head):
        await person.say("/deleteme")
        await person.tap("erase:yes")
    async with app.sessions() as session:
        for model in (Idea, Feedback, AdminRole):
            assert (await session.exec(select(model))).all() == []
        [chat] = (await session.exec(select(WorkingGroupChat))).all()
        assert chat.chat_id == "G-1"


async def test_an_idea_too_long_is_refused_politely(app, channel):
    person = Person(app, channel)
    await onboard(person)
    replies = await person.say("/idea " + "ก" * 2001)
    assert replies[0].text == t(app, "common.too_long", max=2000)
    async with app.sessions() as session:
        assert (await session.exec(select(Idea))).all() == []


async def test_an_admin_opens_one_persons_record_and_the_read_is_audited(app, channel):
    staff = Person(app, channel)
    await whole_journey(staff)
    staff_id = await person_id(app, staff)
    [number] = await numbers(app, [staff_id])
    admin = await make_admin(app, channel, "member")
    [record] = await admin.say(f"/person {number}")
    text = record.text
    assert text.startswith(f"📋 #{number} สมชาย ใจดี")
    assert "เมื่อเปิดคอมพิวเตอร์ตอนเช้า ฉันจะฝึกจัดหน้าเอกสาร 15 นาที" in text  # the if-then plan
    assert "โปรแกรมประมวลผลคำ: ระดับ 1 → 3" in text  # a goal
    assert "ฝึกใช้สไตล์หัวเรื่องใน Word (30 นาที)" in text  # the learning log
    assert "หนังสือเวียนประจำเดือน ด้วย Microsoft Word" in text  # the use at work
    assert "พิมพ์เอกสาร: 1 เริ่มต้น → 3 ใช้งานได้" in text  # before and after
    assert record.question_seq is None  # alone: no journey question after it
    [read] = await audit_rows(app, "admin.record_viewed")
    assert read.subject_person_id == staff_id and read.actor_person_id == await person_id(
        app, admin
    )
    assert (await admin.say("/person 999"))[0].text == t(app, "admin.person_unknown", number=999)
    assert (await admin.say("/person somebody"))[0].text == t(app, "admin.person_usage")
    stranger = Person(app, channel)
    await onboard(stranger, name="ไม่ใช่คณะทำงาน")
    replies = await stranger.say(f"/person {number}")
    assert replies[0].text == t(app, "admin.refused")
    assert len(await audit_rows(app, "admin.record_viewed")) == 1


async def test_the_inactive_list_opens_records_by_tapping(app, channel):
    await make_agency(app, "LIST", "กรมรายชื่อ", ["กองก"])
    ids = await place(
        app, "LIST", [Staff("นิ่ง", "กองก", "g3", 2, idle_days=30, plan="เมื่อ... ฉันจะ...")]
    )
    [number] = await numbers(app, ids)
    admin = await make_admin(app, channel, "member", agency_code="LIST")
    [listing] = await admin.say("/inactive")
    assert [c.id for c in listing.choices] == [f"pv:{number}"]
    assert listing.question_seq is None  # buttons that work at any time
    replies = await admin.tap_stale(listing)
    assert replies[0].text.startswith(f"📋 #{number} นิ่ง")
    assert len(await audit_rows(app, "admin.record_viewed")) == 1


async def test_exemplary_is_proposed_by_what_was_applied_and_given_by_the_head(app, channel):
    applier = Person(app, channel)
    await whole_journey(applier)  # one use at work, self-rated +6 levels in all
    [rater] = await place(
        app,
        "DEMO",
        [
            Staff(
                "ให้คะแนนตัวเองสูง",
                None,
                "g3",
                6,
                True,
                {"computer": 1, "sheet": 1, "data": 1},
                {"computer": 5, "sheet": 5, "data": 5},  # +12, against the other's +6
            )
        ],
    )
    head = await make_admin(app, channel, "head")
    applier_number, rater_number = await numbers(app, [await person_id(app, applier), rater])
    [listing] = await head.say("/exemplary")
    assert listing.text.index(f"#{applier_number} สมชาย ใจดี") < listing.text.index(
        f"#{rater_number} ให้คะแนนตัวเองสูง"
    )  # evidence at work first, even against a bigger self-rated jump
    assert [c.id for c in listing.choices] == [f"ex:{applier_number}", f"ex:{rater_number}"]
    replies = await head.tap_stale(listing, 1)
    assert replies[-1].text.startswith(
        t(app, "admin.award_confirm", number=applier_number, name="สมชาย ใจดี")[:20]
    )
    replies = await head.tap("aw:give")
    assert replies[0].text == t(app, "admin.award_given", number=applier_number, name="สมชาย ใจดี")
    [message] = [
        r for r in await inbox(applier) if r.document_name == "dlcoach-exemplary-certificate.pdf"
    ]
    assert message.document.startswith(b"%PDF")
    assert t(app, "exemplary.message", agency=t(app, "demo.agency_name")) == message.text
    replies = await head.tap_stale(listing, 1)  # again: once per round
    replies = await head.tap("aw:give")
    assert replies[0].text == t(app, "admin.award_already", number=applier_number)
    async with app.sessions() as session:
        assert len((await session.exec(select(Award))).all()) == 1
    member = await make_admin(app, channel, "member", name="สมาชิก")
    [seen] = await member.say("/exemplary")
    replies = await member.tap_stale(seen, 2)
    assert replies[0].text == t(app, "admin.head_only")  # members see, the head gives
