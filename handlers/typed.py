"""What people type instead of tapping: times, dates, time ranges and numbers.

Lenient on purpose: "8:30", "08.30", "20.00" followed by a word are all a time; a date may be
written in the Buddhist Era (as Thai people do) or the Common Era; a number in Thai digits
is a number.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, time
from functools import lru_cache

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


def parse_time(text: str, clock: ClockWords | None = None) -> time | None:
    """'8:30', '08.30', '20.00' with a suffix -> a time; with the words of the Thai
    clock (content/), also 'two in the evening' the Thai way (see `ClockWords`);
    anything else -> None."""
    match = _TIME.match(ascii_digits(text))
    if not match:
        return _thai_clock(text, clock) if clock is not None else None
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


@dataclass(frozen=True)
class ClockWords:
    """The words of the Thai clock, from content/ (common.clock_*). Thai tells the
    hour by the part of the day; the rules are the language's, so they live here
    (the words in romanised Thai):

        night N            01-05   (tee ha: the night hours are struck)
        N hour morning     06-11   (jet mong chao; the older count from seven:
                                    mong chao 07 .. ha mong chao 11)
        N hour             06-12   (7 mong, sip mong; 1-5 could be morning or
                                    evening, so they are refused, not guessed)
        noon / midnight    12 / 00 (thiang, thiang khuen)
        afternoon N hour?  13-17   (bai mong, bai song, bai 3 mong)
        N hour evening     13-18   (hok mong yen)
        N? evening-hour    19-24   (thum, song thum; hok thum is midnight)
        N oclock           00-23   (19 nalika, 19 n.)

    then `half` is half past, or "N minutes"; `filler` before (ton: "at") and
    `exact` after (trong: "sharp") are dropped. N is digits (Thai digits too) or a
    number word, `numbers[0]` meaning one."""

    numbers: tuple[str, ...]
    night: tuple[str, ...]
    evening: tuple[str, ...]
    afternoon: tuple[str, ...]
    hour: tuple[str, ...]
    morning: tuple[str, ...]
    late: tuple[str, ...]
    noon: tuple[str, ...]
    midnight: tuple[str, ...]
    half: tuple[str, ...]
    minutes: tuple[str, ...]
    oclock: tuple[str, ...]
    filler: tuple[str, ...]
    exact: tuple[str, ...]


# One rule of the Thai clock: its pattern, the hour from N, the N allowed, N when omitted.
_ClockRule = tuple[re.Pattern[str], Callable[[int], int], range, int | None]


def _any(words: tuple[str, ...]) -> str:
    """A regex matching any of `words`, the longest first."""
    return "(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + ")"


@lru_cache(maxsize=8)
def _clock_rules(words: ClockWords) -> tuple[_ClockRule, ...]:
    """The patterns of the Thai clock (see `ClockWords`), built once per word set."""
    n = r"(?P<n>\d{1,2}|" + _any(words.numbers) + ")"
    hour, night, evening = _any(words.hour), _any(words.night), _any(words.evening)
    afternoon, morning, late = _any(words.afternoon), _any(words.morning), _any(words.late)
    return (
        (re.compile(f"{night}{n}"), lambda h: h, range(1, 6), None),
        (re.compile(f"{n}?{evening}"), lambda h: (18 + h) % 24, range(1, 7), 1),
        (re.compile(f"{afternoon}{n}?(?:{hour})?(?:{late})?"), lambda h: 12 + h, range(1, 6), 1),
        (re.compile(f"{n}{hour}{late}"), lambda h: 12 + h, range(1, 7), None),
        (re.compile(f"{n}?{hour}{morning}"), lambda h: h + 6 if h <= 5 else h, range(1, 12), 1),
        (re.compile(f"{n}{hour}"), lambda h: h, range(6, 13), None),
        (re.compile(f"{n}{_any(words.oclock)}"), lambda h: h, range(24), None),
    )


def _thai_clock(text: str, words: ClockWords) -> time | None:
    """A time told the Thai way (see `ClockWords`), else None."""
    told = ascii_digits("".join(text.split()))  # Thai has no spaces between words
    for filler in words.filler:
        told = told.removeprefix(filler)
    minute = 0
    half = next((w for w in words.half if told.endswith(w)), None)
    minutes = re.search(r"(\d{1,2})" + _any(words.minutes) + "$", told)
    if half is not None:
        told, minute = told.removesuffix(half), 30
    elif minutes is not None:
        told, minute = told[: minutes.start()], int(minutes.group(1))
    for exact in words.exact:
        told = told.removesuffix(exact)
    hour = _thai_hour(told, words)
    if hour is None or minute > 59:
        return None
    return time(hour, minute)


def _thai_hour(told: str, words: ClockWords) -> int | None:
    """The hour of a Thai clock phrase without its minutes, else None."""
    if told in words.midnight:
        return 0
    if told in words.noon:
        return 12
    for pattern, hour, allowed, default in _clock_rules(words):
        match = pattern.fullmatch(told)
        if match is None:
            continue
        word = match.group("n")
        if word is None:
            n = default
        elif word in words.numbers:
            n = words.numbers.index(word) + 1
        else:
            n = whole_number(word)
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
