"""Excel workbooks (XLSX) from plain sheet descriptions, with openpyxl.

A sheet is a dict, so it can travel in an outbox row and be drawn at delivery:
`title`, `intro` (lines above the table: [text, size, bold]), `header` (the
column headings), `rows` (values: text, numbers or None), `widths` (column
widths) and `freeze_columns` (how many columns stay in view when scrolling
sideways; the header always stays in view). Every cell uses a Sarabun-family
font (the workbook's default, so data cells carry no style of their own); the
header is bold on a light fill.

Text is always stored as text: a name such as `=HYPERLINK(...)` stays a
string, never a live formula (openpyxl would otherwise write any text that
starts with "=" as one). The workbooks contain no formulas at all.

Written in openpyxl's write-only mode, so memory and time grow with the rows
written, not with their square.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.indexed_list import IndexedList

FONT_NAME = "TH Sarabun New"
FONT_SIZE = 14
HEADER_FILL = PatternFill("solid", fgColor="DCE6F0")
HEADER_ALIGNMENT = Alignment(wrap_text=True, vertical="center")


def workbook(sheets: Sequence[dict[str, Any]]) -> bytes:
    """The XLSX bytes of `sheets`, in order."""
    book = Workbook(write_only=True)
    _default_font(book)
    for spec in sheets:
        _write_sheet(book, spec)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _default_font(book: Workbook) -> None:
    """Make Sarabun the font of every unstyled cell: the stylesheet's first font is the
    one cells without a style of their own use, so data rows need no per-cell style
    (styling each cell is what made large workbooks slow)."""
    book._fonts = IndexedList([Font(name=FONT_NAME, size=FONT_SIZE)])  # noqa: SLF001


def _write_sheet(book: Workbook, spec: dict[str, Any]) -> None:
    sheet = book.create_sheet(str(spec["title"])[:31])
    for index, width in enumerate(spec.get("widths", []), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    intro = spec.get("intro", [])
    header_row = len(intro) + (2 if intro else 1)
    freeze = int(spec.get("freeze_columns", 0))
    sheet.freeze_panes = f"{get_column_letter(freeze + 1)}{header_row + 1}"
    for text, size, is_bold in intro:
        cell = _text(sheet, text)
        cell.font = Font(name=FONT_NAME, size=size, bold=bool(is_bold))
        sheet.append([cell])
    if intro:
        sheet.append([])
    bold = Font(name=FONT_NAME, size=FONT_SIZE, bold=True)
    heads = []
    for value in spec["header"]:
        cell = _text(sheet, value)
        cell.font, cell.fill, cell.alignment = bold, HEADER_FILL, HEADER_ALIGNMENT
        heads.append(cell)
    sheet.append(heads)
    for row in spec["rows"]:
        sheet.append([_value(sheet, value) for value in row])


def _text(sheet: Any, value: Any) -> WriteOnlyCell:
    """A cell holding `value`; text is forced to the string type (no formulas)."""
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def _value(sheet: Any, value: Any) -> Any:
    """A data value as openpyxl appends it: plain, except text that openpyxl would
    take for a formula (it starts with "="), which becomes a cell typed as text."""
    if isinstance(value, str) and value.startswith("="):
        return _text(sheet, value)
    return value
