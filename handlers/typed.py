"""What people type instead of tapping: times, dates, time ranges and numbers.

Lenient on purpose: "8:30", "08.30", "20.00" followed by a word are all a time; a date may be
written in the Buddhist Era (as Thai people do) or the Common Era; a number in Thai digits
is a number.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from datetime import date, time

_TIME = re.compile(r"^\s*(\d{1,2})\s*[:.]\s*(\d{2})")
_DATE = re.compile(r"^\s*(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4})\s*$")
# Two times joined by anything that is not a digit ("-", "to", or the Thai word for it).
_RANGE = re.compile(r"^\s*(\d{1,2}\s*[:.]\s*\d{2})\D+?(\d{1,2}\s*[:.]\s*\d{2})")
BUDDHIST_ERA_FROM = 2400  # a typed year above this is in the Buddhist Era
MAX_NUMBER = 2**31 - 1  # the largest number an INTEGER column holds on every database
MAX_DIGITS = 64  # longer runs of digits are no number anyone means
MINUTES_PER_DAY = 24 * 60
# A number (a decimal point allowed) and the words after it, up to the next number.
_AMOUNT = re.compile(r"(-?)\s*(\d+(?:[.,]\d+)?)([^\d-]*)")


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


def parse_date(text: str) -> date | None:
    """dd/mm/yyyy in the Buddhist Era (year > 2400) or the Common Era -> the date;
    None when it is no real date. Whether it must lie ahead is the caller's to say,
    so a date in the past can be told as such rather than as not understood."""
    match = _DATE.match(text)
    if not match:
        return None
    day, month, year = (int(g) for g in match.groups())
    if year > BUDDHIST_ERA_FROM:
        year -= 543
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_range(text: str) -> tuple[time, time] | None:
    """'22:00-07:00', '22.00 - 6.30', '21:00 to 06:00' -> (start, end); else None."""
    match = _RANGE.match(text)
    if not match:
        return None
    start, end = parse_time(match.group(1)), parse_time(match.group(2))
    if start is None or end is None or start == end:
        return None
    return start, end


def ascii_digits(text: str) -> str:
    """Thai (and other) decimal digits as 0-9, so "\u0e51.\u0e55" reads as "1.5"."""
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


def parse_minutes(
    text: str,
    *,
    hour_words: Collection[str],
    minute_words: Collection[str],
    half_words: Collection[str],
) -> int | None:
    """How long something took, in whole minutes from 1 to a day; None when not understood.

    "45", "45 min", "1.5 hours" and "1 hour 30 min" (90), "3 hrs" (180), "2 hours
    and a half" (150), and the same in Thai. A bare number is minutes, or the minutes
    after an hour. Reading digits only, as before, turned "1.5 hours" into 15 and
    "1 hour 30 min" into 130. Zero, negative, fractional minutes and unknown units are refused
    rather than guessed. The unit words come from content/ (both languages)."""
    text = ascii_digits(" ".join(text.split()).casefold())
    amounts = list(_AMOUNT.finditer(text))
    if not 1 <= len(amounts) <= 2:
        return None
    by_length = sorted((*hour_words, *minute_words), key=len, reverse=True)
    total, seen_hours = 0.0, False
    for match in amounts:
        if match.group(1):
            return None  # a minus sign
        amount = float(match.group(2).replace(",", "."))
        after = match.group(3).strip()
        unit = next((w for w in by_length if after.startswith(w)), None)
        if unit is None and after:
            return None  # "30 days": a unit we do not know is not taken as minutes
        if unit in hour_words:
            if seen_hours:
                return None
            seen_hours = True
            total += amount * 60
            rest = after.removeprefix(unit).strip(" .")
            if any(rest.startswith(half) for half in half_words):
                total += 30
        elif amount.is_integer():
            total += amount
        else:
            return None  # "1.5 min" is no whole number of minutes
    minutes = round(total)
    whole = abs(minutes - total) < 1e-6  # 1.1 hours is 66 minutes, up to float error
    return minutes if whole and 0 < minutes <= MINUTES_PER_DAY else None
