"""Dates as Thai documents write them: Buddhist Era years, Thai month names.

The one date formatter of the project: chat messages, reports and
certificates all call `format_date`. The month names come from the content
files (`date.months`), so nothing language-specific is written here.
"""

from __future__ import annotations

from datetime import date

from babel import dates as babel_dates

BUDDHIST_ERA_OFFSET = 543


def buddhist_year(d: date) -> int:
    """The year of `d` in the Buddhist Era (CE + 543): 2026 -> 2569."""
    return d.year + BUDDHIST_ERA_OFFSET


def month_names(text: str) -> list[str]:
    """Split the comma-separated `date.months` message into its 12 names."""
    names = [name.strip() for name in text.split(",")]
    if len(names) != 12 or not all(names):
        raise ValueError(f"expected 12 comma-separated month names, got {len(names)}")
    return names


def format_date(d: date, lang: str, month_names: list[str], *, short: bool = False) -> str:
    """ "21 <month> 2569" in Thai (Buddhist Era), "21 November 2026" in English;
    `short` gives "21/11/2569" in Thai (as typed answers and forms write it) and
    "21 Nov 2026" in English, where a number-only date is read differently in
    different countries (CLDR's English forms, by Babel).

    As everywhere in the content, any language other than "en" is Thai.
    """
    if len(month_names) != 12:
        raise ValueError(f"expected 12 month names, got {len(month_names)}")
    if lang == "en":
        return babel_dates.format_date(d, "d MMM y" if short else "d MMMM y", locale="en")
    if short:
        return f"{d.day:02d}/{d.month:02d}/{buddhist_year(d)}"
    return f"{d.day} {month_names[d.month - 1]} {buddhist_year(d)}"


def format_month(d: date, lang: str, month_names: list[str]) -> str:
    """The month and year of `d`: "<month> 2569" in Thai, "November 2026" in English."""
    if lang == "en":
        return babel_dates.format_date(d, "MMMM y", locale="en")
    return f"{month_names[d.month - 1]} {buddhist_year(d)}"


def fiscal_year(d: date) -> int:
    """The Thai government fiscal year of `d`, in the Buddhist Era: it runs from
    1 October to 30 September and is named by the year it ends in
    (1 October 2026 to 30 September 2027 is fiscal year 2570)."""
    return buddhist_year(d) + (1 if d.month >= 10 else 0)


def fiscal_year_days(year_be: int) -> tuple[date, date]:
    """The first day of fiscal year `year_be` and the first day of the next one."""
    end_ce = year_be - BUDDHIST_ERA_OFFSET
    return date(end_ce - 1, 10, 1), date(end_ce, 10, 1)
