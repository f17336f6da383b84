"""What people type instead of tapping: times, dates and time ranges.

Lenient on purpose: "8:30", "08.30", "20.00" followed by a word are all a time; a date may be
written in the Buddhist Era (as Thai people do) or the Common Era.
"""

from __future__ import annotations

import re
from datetime import date, time

_TIME = re.compile(r"^\s*(\d{1,2})\s*[:.]\s*(\d{2})")
_DATE = re.compile(r"^\s*(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4})\s*$")
# Two times joined by anything that is not a digit ("-", "to", or the Thai word for it).
_RANGE = re.compile(r"^\s*(\d{1,2}\s*[:.]\s*\d{2})\D+?(\d{1,2}\s*[:.]\s*\d{2})")
BUDDHIST_ERA_FROM = 2400  # a typed year above this is in the Buddhist Era


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
