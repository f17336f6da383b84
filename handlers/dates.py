"""Dates in the reader's language, with the month names from content/.

The formatting itself is `documents.thaidate.format_date` (the only one);
this is how handlers and reports call it.
"""

from __future__ import annotations

from datetime import date

from content.loader import Content
from documents.thaidate import format_date, format_month, month_names


def date_text(content: Content, lang: str, day: date, *, short: bool = False) -> str:
    """The day, month name and Buddhist Era year in Thai ("03/12/2569" when short),
    "3 December 2026" ("3 Dec 2026") in English."""
    return format_date(day, lang, month_names(content.t("date.months", lang)), short=short)


def month_text(content: Content, lang: str, day: date) -> str:
    """The month and year of `day` ("<Thai month> 2569", "November 2026")."""
    return format_month(day, lang, month_names(content.t("date.months", lang)))
