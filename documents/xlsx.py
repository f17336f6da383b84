"""Excel workbooks (XLSX) from plain sheet descriptions, with XlsxWriter.

A sheet is a dict, so it can travel in an outbox row and be drawn at delivery:
`title`, `intro` (lines above the table: [text, size, bold]), `header` (the
column headings), `rows` (values: text, numbers or None), `widths` (column
widths) and `freeze_columns` (how many columns stay in view when scrolling
sideways; the header always stays in view). Every cell uses a Sarabun-family
font (the workbook's default, so data cells carry no style of their own); the
header is bold on a light fill.

Text is always stored as text: a name such as `=HYPERLINK(...)` stays a
string, never a live formula (XlsxWriter is told not to read text as formulas,
numbers or links). The workbooks contain no formulas at all.

Written row by row (XlsxWriter's constant-memory mode), so memory stays flat
and time grows with the cells written: about a quarter less time a cell than
openpyxl's write-only mode, which matters at 100,000 people (several million
cells).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

FONT_NAME = "TH Sarabun New"
FONT_SIZE = 14
HEADER_STYLE = {"bold": True, "bg_color": "#DCE6F0", "text_wrap": True, "valign": "vcenter"}
OPTIONS = {
    "constant_memory": True,  # each row is written out as the next one starts
    "strings_to_formulas": False,
    "strings_to_numbers": False,
    "strings_to_urls": False,
    # the stylesheet's first format: what every cell without a style of its own uses
    "default_format_properties": {"font_name": FONT_NAME, "font_size": FONT_SIZE},
}


def workbook(sheets: Sequence[dict[str, Any]]) -> bytes:
    """The XLSX bytes of `sheets`, in order."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, OPTIONS)
    header = book.add_format(HEADER_STYLE)
    for spec in sheets:
        _write_sheet(book, spec, header)
    book.close()
    return buffer.getvalue()


def _write_sheet(book: Workbook, spec: dict[str, Any], header: Format) -> None:
    sheet: Worksheet = book.add_worksheet(str(spec["title"])[:31])
    for index, width in enumerate(spec.get("widths", [])):
        sheet.set_column(index, index, width)
    intro = spec.get("intro", [])
    header_row = len(intro) + (1 if intro else 0)  # an empty row after the intro
    sheet.freeze_panes(header_row + 1, int(spec.get("freeze_columns", 0)))
    for number, (text, size, is_bold) in enumerate(intro):
        style = book.add_format({"size": size, "bold": bool(is_bold)})
        sheet.write_string(number, 0, str(text), style)
    sheet.write_row(header_row, 0, [str(value) for value in spec["header"]], header)
    write_row = sheet.write_row
    for number, row in enumerate(spec["rows"], start=header_row + 1):
        write_row(number, 0, row)
