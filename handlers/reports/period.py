"""Which span a report covers: a Thai government fiscal year, in the agency's time zone."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from content.loader import Content
from documents.thaidate import BUDDHIST_ERA_OFFSET, fiscal_year, fiscal_year_days
from handlers.typed import whole_number
from storage.reports import Period
from storage.timeutil import as_utc, to_local


def current_fiscal_year(now: datetime, tz: str) -> int:
    """The fiscal year (Buddhist Era) that `now` falls in, where the agency is."""
    return fiscal_year(to_local(now, tz).date())


def fiscal_period(year_be: int, tz: str) -> Period:
    """Fiscal year `year_be`, from midnight on 1 October to midnight on the next 1 October."""
    first, after = fiscal_year_days(year_be)
    zone = ZoneInfo(tz)
    return Period(
        start=as_utc(datetime.combine(first, time(0), tzinfo=zone)),
        end=as_utc(datetime.combine(after, time(0), tzinfo=zone)),
    )


def fiscal_year_label(content: Content, lang: str, year_be: int) -> str:
    """The fiscal year's name (always its Buddhist Era year, as agencies use it) with
    the months it spans, their years in the reader's era."""
    end = year_be if lang != "en" else year_be - BUDDHIST_ERA_OFFSET
    return content.t("report.fiscal_year", lang, year=year_be, start=end - 1, end=end)


def parse_fiscal_year(text: str) -> int | None:
    """A fiscal year as people write it: 2570 (Buddhist Era) or 2027 (the year it ends, CE)."""
    year = whole_number(text)
    if year is None:
        return None
    if 2400 < year < 2700:
        return year
    if 1900 < year < 2200:
        return year + BUDDHIST_ERA_OFFSET
    return None
