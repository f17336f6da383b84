"""Time helpers: the database stores aware UTC datetimes, people live in their own zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    """Now, as an aware UTC datetime (the form every `*_at` column takes)."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime; naive input is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def to_local(moment: datetime, tz_name: str) -> datetime:
    """`moment` seen in the time zone `tz_name`."""
    return as_utc(moment).astimezone(ZoneInfo(tz_name))
