"""The report for OCSC: the XLSX read back cell by cell, and the `dlcoach report`
and `dlcoach admin invite` commands."""

from __future__ import annotations

import asyncio
import csv
import io
import shutil
import subprocess
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import cli
from documents.xlsx import FONT_NAME, workbook
from handlers.reports.summary import agency_summary
from handlers.reports.workbook import report_sheets
from storage.models import Agency, InviteCode
from tests.drivers.chat import Person, t
from tests.drivers.journey import onboard
from tests.drivers.working_group import fixture_agency, in_group, inbox, outbox_rows

TODAY = "23 พฤศจิกายน 2569"  # the fake clock's day, Buddhist Era
YESTERDAY = "22 พฤศจิกายน 2569"


async def fixture_workbook(app, *, names: bool = True, lang: str = "th"):
    ids = await fixture_agency(app)
    async with app.sessions() as session:
        agency = (await session.exec(select(Agency).where(Agency.code == "FIX"))).one()
        rows, figures = await agency_summary(session, app.content, agency)
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
    assert sheet["A2"].value == t(app, "report.as_of", agency="กรมตัวอย่าง", date=TODAY)
    assert sheet["A3"].value == t(app, "report.note")
    assert values(sheet, 5) == [
        "จำแนกตาม",
        "ชื่อ",
        "ลงทะเบียน (คน)",
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
    assert values(sheet, 6) == [agency, "กรมตัวอย่าง", 5, 1, 0, 1, 0, 0, 1, 2, 40]
    assert values(sheet, 7) == [unit, "กองสอง", 2, 0, 0, 0, 0, 0, 1, 1, 50]
    assert values(sheet, 8) == [unit, "กองหนึ่ง", 2, 0, 0, 1, 0, 0, 0, 1, 50]
    assert values(sheet, 9) == [unit, "ไม่ระบุหน่วยงานย่อย", 1, 1, 0, 0, 0, 0, 0, 0, 0]
    assert values(sheet, 10) == [group, "นักบริหารระดับสูง", 0, 0, 0, 0, 0, 0, 0, 0, 0]
    assert values(sheet, 12) == [group, "บุคลากรด้านนโยบายและวิชาการ", 2, 0, 0, 0, 0, 0, 0, 2, 100]
    assert values(sheet, 13) == [group, "บุคลากรด้านบริการ", 2, 0, 0, 1, 0, 0, 1, 0, 0]
    assert values(sheet, 14) == [group, "ผู้เชี่ยวชาญเทคโนโลยีดิจิทัล", 1, 1, 0, 0, 0, 0, 0, 0, 0]
    assert sheet.max_row == 15
    assert sheet["B6"].font.name == FONT_NAME and sheet["A5"].font.bold


async def test_people_sheet_one_row_per_person_with_ratings(app):
    ids, book = await fixture_workbook(app)
    sheet = book[t(app, "report.sheet_people")]
    header = values(sheet, 5)
    skills = app.content.skills
    assert header[:12] == [
        "หมายเลข",
        "ชื่อ-สกุล",
        "หน่วยงานย่อย",
        "กลุ่มบุคลากร",
        "รอบที่",
        "ขั้นปัจจุบัน",
        "สถานะ",
        "วันที่เริ่ม",
        "วันที่ทำครบ",
        "บันทึกการเรียนรู้",
        "บันทึกการนำไปใช้",
        "ระดับที่เพิ่มขึ้นรวม",
    ]
    assert header[12] == "ก่อน: " + skills[0].short.get("th")
    assert header[12 + len(skills)] == "หลัง: " + skills[0].short.get("th")
    first = values(sheet, 6)
    assert first[:12] == [
        ids[0],
        "ก",
        "กองหนึ่ง",
        "บุคลากรด้านนโยบายและวิชาการ",
        1,
        6,
        "ทำครบ",
        YESTERDAY,
        TODAY,
        0,
        0,
        2,
    ]
    pre, post = first[12 : 12 + len(skills)], first[12 + len(skills) :]
    assert pre[:3] == [2, 3, None] and post[:3] == [4, 3, None]
    second = values(sheet, 7)
    assert second[:9] == [
        ids[1],
        "ข",
        "กองหนึ่ง",
        "บุคลากรด้านบริการ",
        1,
        3,
        "กำลังทำ",
        "2 พฤศจิกายน 2569",
        None,
    ]
    assert second[11] is None  # never re-rated: no growth figure
    no_unit = values(sheet, 9)
    assert no_unit[2] == "ไม่ระบุหน่วยงานย่อย" and no_unit[3] == "ผู้เชี่ยวชาญเทคโนโลยีดิจิทัล"
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
    assert book.sheetnames == ["Summary", "People", "Skills"]
    people = book["People"]
    assert people["B5"].value == "Name" and people["B6"].value is None
    assert people["H6"].value == "22 November 2026"


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
    assert book.worksheets[1]["B6"].value == "ก"
    assert book.worksheets[0]["C6"].value == 5

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
    assert [e.detail["format"] for e in exports] == ["xlsx", "csv"]


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
    async with app.sessions() as session:
        agency = (await session.exec(select(Agency).where(Agency.code == "FIX"))).one()
        rows, figures = await agency_summary(session, app.content, agency)
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
    assert lines[5][:4] == [str(ids[0]), "ก", "กองหนึ่ง", "บุคลากรด้านนโยบายและวิชาการ"]
    assert lines[5][8] == TODAY
