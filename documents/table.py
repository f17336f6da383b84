"""CSV files that Excel opens with Thai intact: UTF-8 with a byte-order mark.

A text cell that a spreadsheet would read as a formula (it starts with =, +,
-, @, a tab or a carriage return) is written with a leading apostrophe, as
OWASP's CSV-injection guidance recommends, so a staff name can never run in
the working group's spreadsheet. Numbers are written as they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """The CSV of `header` and `rows` (None is written as an empty cell)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow([neutral(value) for value in header])
    for row in rows:
        writer.writerow([neutral(value) for value in row])
    return buffer.getvalue().encode("utf-8-sig")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutral(value: object) -> object:
    """`value` as a CSV cell that no spreadsheet evaluates (None is empty)."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
