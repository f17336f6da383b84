"""The month's pushes in the agency summary: on each platform with a monthly
quota that the agency's people use, the quota, how much is used, what is still
planned, and what the planner set aside for lack of quota (read from what the
planner recorded, never from the platform)."""

from __future__ import annotations

from collections.abc import Sequence

from content.loader import Content
from handlers.messages import CardRow
from storage.models import PushMonth


def _channel_name(content: Content, lang: str, channel: str) -> str:
    key = f"admin.channel.{channel}"
    return content.t(key, lang) if key in content.messages else channel


def pushes_text(content: Content, lang: str, months: Sequence[PushMonth]) -> str:
    """The month's pushes on each platform with a quota: used, quota, still planned,
    and what was set aside for lack of quota."""
    lines = []
    for month in months:
        line = content.t(
            "admin.pushes_line",
            lang,
            channel=_channel_name(content, lang, month.channel),
            used=month.used,
            quota=month.quota,
            planned=month.planned,
        )
        if month.dropped:
            line += "\n" + content.t("admin.pushes_dropped", lang, dropped=month.dropped)
        lines.append(line)
    return "\n".join(lines)


def pushes_rows(content: Content, lang: str, months: Sequence[PushMonth]) -> list[CardRow]:
    return [
        CardRow(
            content.t(
                "admin.card_pushes", lang, channel=_channel_name(content, lang, month.channel)
            ),
            content.t(
                "admin.card_pushes_value",
                lang,
                used=month.used,
                quota=month.quota,
                planned=month.planned,
            ),
            min(1.0, month.used / month.quota) if month.quota > 0 else 1.0,
        )
        for month in months
    ]
