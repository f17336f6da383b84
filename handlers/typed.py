"""What people type instead of tapping: times, dates, time ranges and numbers.

Lenient on purpose: "8:30", "08.30", "20.00" followed by a word are all a time; a date may be
written in the Buddhist Era (as Thai people do) or the Common Era; a number in Thai digits
is a number.
"""

from __future__ import annotations

import re
from datetime import date, time

_TIME = re.compile(r"^\s*(\d{1,2})\s*[:.]\s*(\d{2})")
_DATE = re.compile(r"^\s*(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4})\s*$")
# Two times joined by anything that is not a digit ("-", "to", or the Thai word for it).
_RANGE = re.compile(r"^\s*(\d{1,2}\s*[:.]\s*\d{2})\D+?(\d{1,2}\s*[:.]\s*\d{2})")
BUDDHIST_ERA_FROM = 2400  # a typed year above this is in the Buddhist Era
MAX_NUMBER = 2**31 - 1  # the largest number an INTEGER column holds on every database
MAX_DIGITS = 64  # longer runs of digits are no number anyone means


def whole_number(text: str, maximum: int = MAX_NUMBER) -> int | None:
    """Digits (typed, or the number in a button's id) as a number from 0 to `maximum`;
    None for anything else.

    Thai digits count ("\u0e51\u0e52" is 12); characters that only look like digits ("²", "①",
    which `str.isdigit` accepts and `int` refuses) do not, nor numbers too large to
    look up in the database (SQLite and PostgreSQL raise on those instead of finding
    nothing)."""
    text = text.strip()
    if not text.isdecimal() or len(text) > MAX_DIGITS:  # int() refuses 4,300 digits and more
        return None
    number = int(text)
    return number if number <= maximum else None


def parse_time(text: str) -> time | None:
    """'8:30', '08.30', '20.00' with a suffix -> a time; anything else -> None."""
    match = _TIME.match(text)
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def parse_date(text: str, today: date) -> date | None:
    """dd/mm/yyyy in the Buddhist Era (year > 2400) or the Common Era; must be in the future."""
    match = _DATE.match(text)
    if not match:
        return None
    day, month, year = (int(g) for g in match.groups())
    if year > BUDDHIST_ERA_FROM:
        year -= 543
    try:
        parsed = date(year, month, day)
    except ValueError:
        return None
    return parsed if parsed > today else None


def parse_range(text: str) -> tuple[time, time] | None:
    """'22:00-07:00', '22.00 - 6.30', '21:00 to 06:00' -> (start, end); else None."""
    match = _RANGE.match(text)
    if not match:
        return None
    start, end = parse_time(match.group(1)), parse_time(match.group(2))
    if start is None or end is None or start == end:
        return None
    return start, end
