"""The report for OCSC: the XLSX read back cell by cell, and the `dlcoach report`
and `dlcoach admin invite` commands."""

from __future__ import annotations

import asyncio
import csv
import io
import shutil
import subprocess
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import cli
from documents.xlsx import FONT_NAME, workbook
from handlers.reports.summary import agency_summary
from handlers.reports.workbook import report_sheets
from storage.db import writing
from storage.models import Agency, InviteCode
from tests.drivers.chat import Person, t
from tests.drivers.journey import onboard, whole_journey
from tests.drivers.working_group import (
    FISCAL_YEAR,
    fixture_agency,
    in_group,
    inbox,
    make_admin,
    numbers,
    outbox_rows,
)

TODAY = "23 พฤศจิกายน 2569"  # the fake clock's day, Buddhist Era
YESTERDAY = "22 พฤศจิกายน 2569"


async def fixture_workbook(app, *, names: bool = True, lang: str = "th"):
    ids = await fixture_agency(app)
    async with app.read_sessions() as session:
        agency = (await session.exec(select(Agency).where(Agency.code == "FIX"))).one()
        rows, figures = await agency_summary(
            app.read_sessions, writing(app.sessions), app.content, agency, FISCAL_YEAR
        )
    sheets = report_sheets(
        app.content, lang, agency, rows, figures, date(2026, 11, 23), names=names
    )
    data = workbook(sheets)
    return ids, load_workbook(io.BytesIO(data))


async def invoke(*args, **kwargs):  # noqa: ANN002, ANN003
    """Run the command line in a worker thread (it runs its own event loop)."""
    return await asyncio.to_thread(CliRunner().invoke, *args, **kwargs)


def values(sheet, row: int) -> list:
    return [cell.value for cell in sheet[row]]


async def test_summary_sheet_by_unit_and_personnel_group(app):
    _, book = await fixture_workbook(app)
    sheet = book[t(app, "report.sheet_summary")]
    assert sheet["A1"].value == t(app, "report.title")
    assert sheet["A2"].value == t(
        app,
        "report.as_of",
        agency="กรมตัวอย่าง",
        fiscal_year="ปีงบประมาณ 2570 (ตุลาคม 2569 ถึงกันยายน 2570)",
        date=TODAY,
    )
    assert sheet["A3"].value == t(app, "report.note")
    assert values(sheet, 5) == [
        "จำแนกตาม",
        "ชื่อ",
        "ลงทะเบียน (คน)",
        "บุคลากรทั้งหมด (คน)",
        "ร้อยละที่ลงทะเบียน",
        "ขั้นที่ 1",
        "ขั้นที่ 2",
        "ขั้นที่ 3",
        "ขั้นที่ 4",
        "ขั้นที่ 5",
        "ขั้นที่ 6",
        "ทำครบ 6 ขั้น (คน)",
        "ร้อยละที่ทำครบ",
    ]
    agency, unit, group = "ทั้งหน่วยงาน", "หน่วยงานย่อย", "กลุ่มบุคลากร"
    assert values(sheet, 6) == [agency, "กรมตัวอย่าง", 5, None, None, 1, 0, 1, 0, 0, 1, 2, 40]
    assert values(sheet, 7) == [unit, "กองสอง", 2, None, None, 0, 0, 0, 0, 0, 1, 1, 50]
    assert values(sheet, 8) == [unit, "กองหนึ่ง", 2, None, None, 0, 0, 1, 0, 0, 0, 1, 50]
    assert values(sheet, 9) == [unit, "ไม่ระบุหน่วยงานย่อย", 1, None, None, 1, 0, 0, 0, 0, 0, 0, 0]
    assert values(sheet, 10) == [group, "กลุ่ม 1 ผู้บริหารระดับสูง", 0, None, None, 0, 0, 0, 0, 0, 0, 0, 0]
    assert values(sheet, 12) == [
        group,
        "กลุ่ม 3 ผู้ทำงานด้านนโยบายและงานวิชาการ",
        2,
        None,
        None,
        0,
        0,
        0,
        0,
        0,
        0,
        2,
        100,
    ]
    assert values(sheet, 13) == [
        group,
        "กลุ่ม 4 ผู้ทำงานด้านบริการ",
        2,
        None,
        None,
        0,
        0,
        1,
        0,
        0,
        1,
        0,
        0,
    ]
    assert values(sheet, 14) == [
        group,
        "กลุ่ม 5 ผู้ปฏิบัติงานเฉพาะด้านเทคโนโลยีดิจิทัล",
        1,
        None,
        None,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    ]
    assert sheet.max_row == 15
    assert sheet["B6"].font.name == FONT_NAME and sheet["A5"].font.bold


async def test_people_sheet_one_row_per_person_with_ratings(app):
    ids, book = await fixture_workbook(app)
    sheet = book[t(app, "report.sheet_people")]
    header = values(sheet, 5)
    skills = app.content.skills
    assert header[:14] == [
        "หมายเลข",
        "ชื่อ-สกุล",
        "หน่วยงานย่อย",
        "กลุ่มบุคลากร",
        "สถานะ",
        "รอบที่ทำครบ",
        "วันที่ทำครบ",
        "รอบที่กำลังทำ",
        "ขั้นปัจจุบัน",
        "วันที่เริ่ม",
        "บันทึกการเรียนรู้",
        "เวลาเรียนรู้ (นาที)",
        "บันทึกการนำไปใช้",
        "ระดับที่เพิ่มขึ้นรวม",
    ]
    assert header[14] == "ก่อน: " + skills[0].short.get("th")
    assert header[14 + len(skills)] == "หลัง: " + skills[0].short.get("th")
    nums = await numbers(app, ids)
    first = values(sheet, 6)
    assert first[:14] == [
        nums[0],
        "ก",
        "กองหนึ่ง",
        "กลุ่ม 3 ผู้ทำงานด้านนโยบายและงานวิชาการ",
        "ทำครบ",
        1,
        TODAY,
        None,
        None,
        None,
        0,
        0,
        0,
        2,
    ]
    pre, post = first[14 : 14 + len(skills)], first[14 + len(skills) :]
    assert pre[:3] == [2, 3, None] and post[:3] == [4, 3, None]
    second = values(sheet, 7)
    assert second[:10] == [
        nums[1],
        "ข",
        "กองหนึ่ง",
        "กลุ่ม 4 ผู้ทำงานด้านบริการ",
        "กำลังทำ",
        None,
        None,
        1,
        3,
        "2 พฤศจิกายน 2569",
    ]
    assert second[13] is None  # never re-rated: no growth figure
    no_unit = values(sheet, 9)
    assert no_unit[2] == "ไม่ระบุหน่วยงานย่อย" and no_unit[3] == "กลุ่ม 5 ผู้ปฏิบัติงานเฉพาะด้านเทคโนโลยีดิจิทัล"
    assert sheet.max_row == 10


async def test_skills_sheet_before_and_after(app):
    _, book = await fixture_workbook(app)
    sheet = book[t(app, "report.sheet_skills")]
    assert values(sheet, 5) == [
        "ทักษะ",
        "มิติ",
        "ประเมินก่อน (คน)",
        "เฉลี่ยก่อนพัฒนา",
        "ประเมินทั้งก่อนและหลัง (คน)",
        "เฉลี่ยก่อน (กลุ่มเดียวกัน)",
        "เฉลี่ยหลังพัฒนา",
        "เปลี่ยนแปลงเฉลี่ย",
    ]
    computer, internet = app.content.skill("computer"), app.content.skill("internet")
    dimension = {d.id: d.name.th for d in app.content.skills_file.dimensions}
    assert values(sheet, 6) == [
        computer.name.th,
        dimension[computer.dimension],
        4,
        2.0,
        3,
        2.33,
        3.33,
        1.0,
    ]
    assert values(sheet, 7) == [
        internet.name.th,
        dimension[internet.dimension],
        2,
        2.5,
        2,
        2.5,
        3.5,
        1.0,
    ]
    assert values(sheet, 8)[2:] == [0, None, 0, None, None, None]
    assert sheet.max_row == 5 + len(app.content.skills)


async def test_english_headings_and_numbers_only(app):
    _, book = await fixture_workbook(app, names=False, lang="en")
    assert book.sheetnames == [
        "Summary",
        "People",
        "Goals",
        "Applied at work",
        "Skills",
        "Hold-out",
    ]
    assert book["Summary"]["A2"].value.startswith(
        "กรมตัวอย่าง · Fiscal year 2570 (October 2026 to September 2027) · as of"
    )
    people = book["People"]
    assert people["B5"].value == "Name" and people["B6"].value is None
    assert people["G6"].value == "23 November 2026"  # completed on
    assert people["J7"].value == "2 November 2026"  # the round under way began


async def journey_workbook(app, channel, *, new_round: bool = False):
    person = Person(app, channel)
    await whole_journey(person)
    if new_round:
        await person.tap("new")
    async with app.read_sessions() as session:
        agency = (await session.exec(select(Agency).where(Agency.code == "DEMO"))).one()
        rows, figures = await agency_summary(
            app.read_sessions, writing(app.sessions), app.content, agency, FISCAL_YEAR
        )
    sheets = report_sheets(app.content, "th", agency, rows, figures, date(2026, 11, 23))
    return rows, figures, load_workbook(io.BytesIO(workbook(sheets)))


async def test_goals_and_what_was_applied_at_work_are_in_the_workbook(app, channel):
    rows, _, book = await journey_workbook(app, channel)
    [row] = rows
    goals = book[t(app, "report.sheet_goals")]
    assert values(goals, 5) == [
        "หมายเลข",
        "ชื่อ-สกุล",
        "รอบที่",
        "ทักษะที่มุ่งพัฒนา",
        "ระดับตั้งต้น",
        "ระดับเป้าหมาย",
        "วันที่ตั้งเป้า",
        "วิธีเรียนรู้",
        "ผลเมื่อประเมินซ้ำ",
    ]
    on_the_job = app.content.approach("onthejob").label.get("th")
    # word: 1 -> target 3, re-rated 3 (reached); media: 1 -> target 3, re-rated 2
    assert values(goals, 6) == [
        row.person_id,
        "สมชาย ใจดี",
        1,
        "โปรแกรมประมวลผลคำ",
        1,
        3,
        "22 กุมภาพันธ์ 2570",
        on_the_job,
        "ถึงเป้าหมาย",
    ]
    assert values(goals, 7)[3] == "การสร้างสื่อและตกแต่งภาพดิจิทัล"
    assert values(goals, 7)[8] == "ยังไม่ถึงเป้าหมาย"
    assert goals.max_row == 7
    applied = book[t(app, "report.sheet_evidence")]
    assert values(applied, 5) == [
        "หมายเลข",
        "ชื่อ-สกุล",
        "หน่วยงานย่อย",
        "รอบที่",
        "วันที่บันทึก",
        "ทักษะ",
        "งานที่นำไปใช้",
        "เครื่องมือ",
        "ผลที่ได้",
        "ตอบเป้าหมายด้าน",
    ]
    faster = app.content.outcome("faster").label.get("th")
    assert values(applied, 6) == [
        row.person_id,
        "สมชาย ใจดี",
        "กองบริหารทรัพยากรบุคคล",
        1,
        TODAY,
        "โปรแกรมประมวลผลคำ",
        "หนังสือเวียนประจำเดือน",
        "Microsoft Word",
        faster,
        faster,
    ]
    assert applied.max_row == 6
    people = book[t(app, "report.sheet_people")]
    assert values(people, 6)[10:13] == [1, 30, 1]  # one learning log of 30 minutes, one use


async def test_a_new_round_keeps_the_completed_one_in_the_report(app, channel):
    rows, figures, book = await journey_workbook(app, channel, new_round=True)
    assert (figures.total.enrolled, figures.total.completed, figures.total.percent_completed) == (
        1,
        1,
        100,
    )
    assert figures.total.by_step[1] == 1 and figures.total.in_progress == 1
    people = book[t(app, "report.sheet_people")]
    assert values(people, 6)[4:10] == ["ทำครบแล้ว และเริ่มรอบใหม่", 1, TODAY, 2, 1, TODAY]
    summary = book[t(app, "report.sheet_summary")]
    assert values(summary, 6)[2:] == [1, None, None, 1, 0, 0, 0, 0, 0, 1, 100]


async def test_the_fiscal_year_decides_who_is_in_the_report(app, channel, clock):
    rows, _, _ = await journey_workbook(app, channel)  # completed in November 2026: FY 2570
    async with app.read_sessions() as session:
        agency = (await session.exec(select(Agency).where(Agency.code == "DEMO"))).one()
        last_year, _ = await agency_summary(
            app.read_sessions, writing(app.sessions), app.content, agency, 2569
        )
        next_year, _ = await agency_summary(
            app.read_sessions, writing(app.sessions), app.content, agency, 2571
        )
    assert last_year == [] and next_year == []  # began in FY 2570, finished in FY 2570
    clock.set(datetime(2027, 10, 5, 3, 0, tzinfo=UTC))  # FY 2571 began on 1 October 2027
    person = Person(app, channel)
    await onboard(person, name="ปีหน้า")
    async with app.read_sessions() as session:
        this_year, figures = await agency_summary(
            app.read_sessions, writing(app.sessions), app.content, agency, 2571
        )
        before, _ = await agency_summary(
            app.read_sessions, writing(app.sessions), app.content, agency, 2570
        )
    assert [r.name for r in this_year] == ["ปีหน้า"] and figures.total.completed == 0
    assert [r.name for r in before] == ["สมชาย ใจดี"]


# ---- the command line ------------------------------------------------------------------------


async def test_report_command_writes_xlsx_and_csv(app, sqlite_url, tmp_path):
    ids = await fixture_agency(app)
    out = tmp_path / "fix.xlsx"
    result = await invoke(
        cli,
        ["report", "--agency", "FIX", "--format", "xlsx", "--out", str(out)],
        env={"DATABASE_URL": sqlite_url},
    )
    assert result.exit_code == 0, result.output
    assert "wrote 5 people" in result.stdout
    book = load_workbook(out)
    assert book.worksheets[1]["B6"].value is None  # numbers only, by default
    assert book.worksheets[0]["C6"].value == 5
    assert book.worksheets[0]["A1"].value == t(app, "report.title")  # data, not an OCSC form
    result = await invoke(
        cli,
        ["report", "--agency", "FIX", "--format", "xlsx", "--out", str(out), "--with-names"],
        env={"DATABASE_URL": sqlite_url},
    )
    assert load_workbook(out).worksheets[1]["B6"].value == "ก"

    out_csv = tmp_path / "fix.csv"
    result = await invoke(
        cli,
        ["report", "--agency", "FIX", "--format", "csv", "--out", str(out_csv), "--no-names"],
        env={"DATABASE_URL": sqlite_url},
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(out_csv.read_text(encoding="utf-8-sig").splitlines()))
    assert [r[0] for r in rows[1:]] == [str(i) for i in ids]
    assert all(r[1] == "" for r in rows[1:])
    result = await invoke(
        cli,
        ["report", "--agency", "FIX", "--out", str(out_csv), "--fiscal-year", "2569"],
        env={"DATABASE_URL": sqlite_url},
    )
    assert result.exit_code == 0 and "wrote 0 people" in result.stdout  # all began in 2570
    result = await invoke(
        cli,
        ["report", "--agency", "FIX", "--out", str(out_csv), "--fiscal-year", "next"],
        env={"DATABASE_URL": sqlite_url},
    )
    assert result.exit_code == 2 and "--fiscal-year" in result.output

    result = await invoke(
        cli, ["report", "--format", "xlsx", "--out", str(out)], env={"DATABASE_URL": sqlite_url}
    )
    assert result.exit_code != 0 and "--agency" in result.output
    result = await invoke(
        cli,
        ["report", "--agency", "NOPE", "--format", "xlsx", "--out", str(out)],
        env={"DATABASE_URL": sqlite_url},
    )
    assert result.exit_code == 1
    from tests.drivers.working_group import audit_rows

    exports = await audit_rows(app, "report.export")
    assert [e.detail["format"] for e in exports] == ["xlsx", "xlsx", "csv", "csv"]
    assert [e.detail["fiscal_year"] for e in exports] == [2570, 2570, 2570, 2569]
    assert [e.detail["names"] for e in exports] == [False, True, False, False]


async def test_admin_invite_command_then_redeem_in_chat(app, channel, clock, sqlite_url):
    result = await invoke(
        cli,
        ["admin", "invite", "--agency", "DEMO", "--role", "head", "--hours", "1"],
        env={"DATABASE_URL": sqlite_url},
    )
    assert result.exit_code == 0, result.output
    code = result.stdout.splitlines()[0].strip()
    assert len(code.replace("-", "")) == 10
    async with app.sessions() as session:
        [stored] = (await session.exec(select(InviteCode))).all()
    assert code not in stored.code_hash
    clock.set(stored.created_at)
    head = Person(app, channel)
    await onboard(head)
    replies = await head.say(f"/ผู้ดูแล {code}")
    assert replies[0].text.startswith("✅")
    replies = await in_group(app, channel, head.user, "/ผูกกลุ่ม")
    assert replies[0].text.startswith("✅")
    replies = await head.say("/export")
    assert any(r.document for r in replies)
    assert await inbox(head) == []
    assert len([r for r in await outbox_rows(app) if r.chat_id == "G-1"]) == 1

    result = await invoke(
        cli, ["admin", "invite", "--agency", "NOPE"], env={"DATABASE_URL": sqlite_url}
    )
    assert result.exit_code == 1
    result = await invoke(
        cli,
        ["admin", "invite", "--agency", "DEMO", "--role", "boss"],
        env={"DATABASE_URL": sqlite_url},
    )
    assert result.exit_code != 0


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
async def test_libreoffice_opens_the_report_with_thai_intact(app, tmp_path):
    ids = await fixture_agency(app)
    async with app.read_sessions() as session:
        agency = (await session.exec(select(Agency).where(Agency.code == "FIX"))).one()
        rows, figures = await agency_summary(
            app.read_sessions, writing(app.sessions), app.content, agency, FISCAL_YEAR
        )
    path = tmp_path / "fix.xlsx"
    sheets = report_sheets(app.content, "th", agency, rows, figures, date(2026, 11, 23))
    path.write_bytes(workbook(sheets))
    # sheet 2 (per person) as UTF-8 CSV (filter options: comma, quote, UTF-8, sheet 2)
    result = await asyncio.to_thread(
        subprocess.run,
        [
            "soffice",
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/lo-profile",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,2",
            "--outdir",
            str(tmp_path / "out"),
            str(path),
        ],
        capture_output=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    [converted] = list((tmp_path / "out").glob("*.csv"))
    lines = list(csv.reader(converted.read_text(encoding="utf-8").splitlines()))
    assert lines[4][:3] == ["หมายเลข", "ชื่อ-สกุล", "หน่วยงานย่อย"]
    [number] = await numbers(app, [ids[0]])
    assert lines[5][:4] == [str(number), "ก", "กองหนึ่ง", "กลุ่ม 3 ผู้ทำงานด้านนโยบายและงานวิชาการ"]
    assert lines[5][6] == TODAY


# ---- coverage: the headcount and the staff list -----------------------------------------------


async def test_coverage_against_an_imported_staff_list(app, channel, sqlite_url, tmp_path):
    await fixture_agency(app)
    staff_list = tmp_path / "staff.csv"
    staff_list.write_text(
        "หน่วยงานย่อย,กลุ่มบุคลากร,รหัสบุคลากร\n"
        + "".join(f"กองหนึ่ง,{g},A-{n:02d}\n" for n, g in enumerate(["g3", "g4", "g4", "g4"]))
        + "".join(f"กองสอง,กลุ่ม 3,B-{n:02d}\n" for n in range(6))
        + "กองใหม่,กลุ่ม 4 ผู้ทำงานด้านบริการ,\n",
        encoding="utf-8",
    )
    result = await invoke(
        cli,
        ["agency", "staff", "--code", "FIX", "--import", str(staff_list)],
        env={"DATABASE_URL": sqlite_url},
    )
    assert result.exit_code == 0, result.output
    assert "imported 11 staff" in result.stdout
    async with app.read_sessions() as session:
        agency = (await session.exec(select(Agency).where(Agency.code == "FIX"))).one()
        rows, figures = await agency_summary(
            app.read_sessions, writing(app.sessions), app.content, agency, FISCAL_YEAR
        )
    assert (figures.total.enrolled, figures.total.headcount, figures.total.coverage) == (5, 11, 45)
    assert figures.by_unit["กองหนึ่ง"].headcount == 4 and figures.by_unit["กองใหม่"].enrolled == 0
    assert figures.by_group["g3"].headcount == 7
    book = load_workbook(
        io.BytesIO(
            workbook(report_sheets(app.content, "th", agency, rows, figures, date(2026, 11, 23)))
        )
    )
    summary = book[t(app, "report.sheet_summary")]
    assert values(summary, 6)[2:5] == [5, 11, 45]
    by_name = {
        values(summary, r)[1]: values(summary, r)[2:5] for r in range(7, summary.max_row + 1)
    }
    assert by_name["กองหนึ่ง"] == [2, 4, 50] and by_name["กองใหม่"] == [0, 1, 0]
    not_joined = book[t(app, "report.sheet_not_joined")]
    assert values(not_joined, 5) == ["รหัสบุคลากร", "หน่วยงานย่อย", "กลุ่มบุคลากร"]
    assert values(not_joined, 6) == [
        "B00",
        "กองสอง",
        "กลุ่ม 3 ผู้ทำงานด้านนโยบายและงานวิชาการ",
    ]  # by unit
    assert not_joined.max_row == 5 + 10  # ten lines with a code, none claimed yet
    admin = await make_admin(app, channel, "member", agency_code="FIX")
    text = (await admin.say("/summary"))[0].text
    assert "ลงทะเบียน 5 จาก 11 คน (45%)" in text


async def test_a_bad_staff_list_names_the_line_and_changes_nothing(app, sqlite_url, tmp_path):
    await fixture_agency(app)
    staff_list = tmp_path / "staff.csv"
    staff_list.write_text("unit,group\nกองหนึ่ง,g3\nกองสอง,ผู้จัดการ\n", encoding="utf-8")
    result = await invoke(
        cli,
        ["agency", "staff", "--code", "FIX", "--import", str(staff_list)],
        env={"DATABASE_URL": sqlite_url},
    )
    assert result.exit_code == 2
    assert "line 3: unknown personnel group 'ผู้จัดการ'" in result.output
    result = await invoke(
        cli,
        [
            "agency",
            "headcount",
            "--code",
            "FIX",
            "--unit",
            "กองหนึ่ง",
            "--group",
            "3",
            "--count",
            "9",
        ],
        env={"DATABASE_URL": sqlite_url},
    )
    assert result.exit_code == 0 and "total\t\t9" in result.stdout
    async with app.read_sessions() as session:
        agency = (await session.exec(select(Agency).where(Agency.code == "FIX"))).one()
        _, figures = await agency_summary(
            app.read_sessions, writing(app.sessions), app.content, agency, FISCAL_YEAR
        )
    assert figures.total.headcount == 9 and figures.not_joined is None


async def test_agency_create_prints_its_join_code(sqlite_url):
    result = await invoke(
        cli,
        ["agency", "create", "--code", "NEW", "--name", "กรมใหม่"],
        env={"DATABASE_URL": sqlite_url},
    )
    assert result.exit_code == 0
    code = result.stdout.split("join code: ", 1)[1].split()[0]
    assert len(code.replace("-", "")) == 8 and f"?start={code.replace('-', '')}" in result.stdout
    result = await invoke(
        cli, ["agency", "join-code", "--code", "NEW", "--renew"], env={"DATABASE_URL": sqlite_url}
    )
    assert result.exit_code == 0 and code not in result.stdout
