"""What people type instead of tapping: times, dates, time ranges and numbers.

Lenient on purpose: "8:30", "08.30", "20.00" followed by a word are all a time; a date may be
written in the Buddhist Era (as Thai people do) or the Common Era; a number in Thai digits
is a number.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection
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
    """'8:30', '08.30', '20.00' with a suffix, or the time told the Thai way
    ('สองทุ่ม', 'บ่าย 3 โมง', 'ตีห้า', see `_THAI_CLOCK`) -> a time; anything else -> None."""
    match = _TIME.match(ascii_digits(text))
    if not match:
        return _thai_clock(text)
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


# ---- the Thai clock -------------------------------------------------------------------
# Thai tells the hour by the part of the day, and that is the structure of the
# language rather than wording of the bot, so it lives here and not in content/:
#   ตีหนึ่ง..ตีห้า        01-05 (the night hours are "struck")
#   หกโมงเช้า..สิบเอ็ดโมง  06-11; the older โมงเช้า..ห้าโมงเช้า counts from 7 (07-11)
#   เที่ยง (วัน)          12; เที่ยงคืน is 00
#   บ่ายโมง..บ่ายสี่โมง    13-16 (บ่าย + the hour after noon, โมง optional)
#   สี่โมงเย็น..หกโมงเย็น  16-18
#   หนึ่งทุ่ม (ทุ่ม)..ห้าทุ่ม 19-23; หกทุ่ม is midnight
#   ... ครึ่ง is half past; "N นาที" adds minutes; "N นาฬิกา" / "N น." is the 24-hour clock.
# A bare "N โมง" is the morning for 6-12 ("7 โมง"); 1-5 could be morning or evening,
# so it is refused rather than guessed. Numbers are digits (Thai digits too) or words.
_THAI_NUMBERS = {
    "หนึ่ง": 1,
    "สอง": 2,
    "สาม": 3,
    "สี่": 4,
    "ห้า": 5,
    "หก": 6,
    "เจ็ด": 7,
    "แปด": 8,
    "เก้า": 9,
    "สิบ": 10,
    "สิบเอ็ด": 11,
    "สิบสอง": 12,
}
_N = r"(?P<n>\d{1,2}|" + "|".join(sorted(_THAI_NUMBERS, key=len, reverse=True)) + ")"
# (pattern, hour from n, numbers allowed, n when omitted)
_THAI_CLOCK: tuple[tuple[re.Pattern[str], Callable[[int], int], range, int | None], ...] = (
    (re.compile(f"ตี{_N}"), lambda n: n, range(1, 6), None),
    (re.compile(f"{_N}?ทุ่ม"), lambda n: (18 + n) % 24, range(1, 7), 1),
    (re.compile(f"บ่าย{_N}?(?:โมง)?(?:เย็น)?"), lambda n: 12 + n, range(1, 6), 1),
    (re.compile(f"{_N}โมงเย็น"), lambda n: 12 + n, range(1, 7), None),
    (re.compile(f"{_N}?โมงเช้า"), lambda n: n + 6 if n <= 5 else n, range(1, 12), 1),
    (re.compile(f"{_N}โมง"), lambda n: n, range(6, 13), None),
    (re.compile(_N + r"(?:นาฬิกา|น\.?)"), lambda n: n, range(24), None),
)
_NOON, _MIDNIGHT = "เที่ยง", "เที่ยงคืน"
_HALF, _MINUTES = "ครึ่ง", re.compile(r"(\d{1,2})นาที$")
_FILLER = ("เวลา", "ตอน")  # "ตอนสองทุ่ม", "เวลาบ่ายสาม"
_EXACT = ("ตรง", "วัน")  # "สองทุ่มตรง", "เที่ยงวัน"


def _thai_clock(text: str) -> time | None:
    """A time told the Thai way (see `_THAI_CLOCK`), else None."""
    told = ascii_digits("".join(text.split()))  # Thai has no spaces: "บ่าย 3 โมง" is "บ่าย3โมง"
    for filler in _FILLER:
        told = told.removeprefix(filler)
    minute = 0
    if told.endswith(_HALF):
        told, minute = told.removesuffix(_HALF), 30
    elif (match := _MINUTES.search(told)) is not None:
        told, minute = told[: match.start()], int(match.group(1))
    for exact in _EXACT:
        told = told.removesuffix(exact)
    hour = _thai_hour(told)
    if hour is None or minute > 59:
        return None
    return time(hour, minute)


def _thai_hour(told: str) -> int | None:
    """The hour of a Thai clock phrase without its minutes, else None."""
    if told == _MIDNIGHT:
        return 0
    if told == _NOON:
        return 12
    for pattern, hour, allowed, default in _THAI_CLOCK:
        match = pattern.fullmatch(told)
        if match is None:
            continue
        word = match.group("n")
        n = default if word is None else _THAI_NUMBERS.get(word) or whole_number(word)
        return hour(n) if n in allowed else None
    return None


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
