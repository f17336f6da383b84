"""`dlcoach doctor`: the configuration checked as it will run, against the real
database and platforms, before staff arrive.

Each check gives ok, warn (works, but not as it should) or fail (something would
break), with the fix for anything not ok; the command exits 1 when any check
fails. Texts are in content/messages/doctor.yaml: the key of a check's outcome is
`doctor.<check>.<ok|warn|fail>` and its fix `doctor.<check>.fix`. Nothing here
writes: the database is only read, and the platforms only asked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from linebot.v3.messaging import AsyncApiClient, AsyncMessagingApi
from sqlalchemy import make_url

from bot.channels.line import richmenu
from bot.channels.line.api import api_configuration
from bot.channels.line.endpoint import read_endpoint
from bot.channels.line.quota import QuotaMeter
from bot.channels.telegram.webhook import standalone_bot
from bot.config import Settings
from content.loader import Content, ContentError, load_content
from handlers.clock import SystemClock
from handlers.reminders.rules import thai_holidays_named
from storage.db import make_engine
from storage.migrate import revisions

Status = Literal["ok", "warn", "fail"]
TIMEOUT = 15.0  # seconds for any one check (a platform that hangs is a failure)
MARKS = {"ok": "✓", "warn": "!", "fail": "✗"}


@dataclass(frozen=True)
class Finding:
    """One check's outcome: which check, how it went, and the values its text names."""

    check: str
    status: Status
    values: dict[str, Any] = field(default_factory=dict)


def _ok(check: str, **values: Any) -> Finding:
    return Finding(check, "ok", values)


def _warn(check: str, **values: Any) -> Finding:
    return Finding(check, "warn", values)


def _fail(check: str, **values: Any) -> Finding:
    return Finding(check, "fail", values)


# ---- the checks ---------------------------------------------------------------------------


def check_content(settings: Settings) -> tuple[Finding, Content | None]:
    try:
        content = load_content(settings.dlcoach_content_dir)
    except ContentError as error:
        return _fail("content", error=str(error)), None
    return _ok("content", skills=len(content.skills)), content


def check_time(settings: Settings) -> list[Finding]:
    try:
        ZoneInfo(settings.dlcoach_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return [_fail("timezone", zone=settings.dlcoach_timezone)]
    days = thai_holidays_named(datetime.now(UTC).year, "en")
    found = [_ok("timezone", zone=settings.dlcoach_timezone)]
    found.append(_ok("holidays", count=len(days)) if days else _fail("holidays"))
    return found


def _missing_sqlite_file(database_url: str) -> str | None:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        return url.database
    return None


async def check_database(settings: Settings) -> list[Finding]:
    missing = _missing_sqlite_file(settings.database_url)
    if missing is not None:
        return [_warn("database_new", path=missing)]  # opening it would create it
    engine = make_engine(settings.database_url)
    try:
        current, heads = await revisions(engine)  # connecting proves it answers
    except Exception as error:  # noqa: BLE001 - any driver error means "cannot be used"
        return [_fail("database", error=_short(error))]
    finally:
        await engine.dispose()
    found = [_ok("database")]
    if current == heads:
        found.append(_ok("migrations", revision=", ".join(sorted(heads))))
    elif current - heads:
        found.append(_fail("migrations", revision=", ".join(sorted(current))))
    else:
        found.append(_warn("migrations", revision=", ".join(sorted(current)) or "-"))
    return found


async def check_line(settings: Settings) -> list[Finding]:
    if not (settings.line_channel_access_token or settings.line_channel_secret):
        return []
    if not (settings.line_channel_access_token and settings.line_channel_secret):
        return [_fail("line_keys")]
    async with AsyncApiClient(api_configuration(settings)) as client:
        api = AsyncMessagingApi(client)
        try:
            info = await api.get_bot_info()
        except Exception as error:  # noqa: BLE001 - a refused token or no network
            return [_fail("line_token", error=_short(error))]
        found = [_ok("line_token", name=info.display_name or "-")]
        reading = await QuotaMeter(SystemClock(), settings.dlcoach_line_quota_share).read(api)
        found.append(await _line_menus(api))
    if reading is None:
        found.append(_warn("line_quota"))
    elif reading.limit is not None and reading.share_used() >= settings.dlcoach_line_quota_share:
        found.append(_warn("line_quota_high", used=reading.used, limit=reading.limit))
    else:
        found.append(_ok("line_quota", used=reading.used, limit=reading.limit or "-"))
    if not settings.dlcoach_public_url:
        found.append(_fail("line_public_url"))
        return found
    endpoint = await read_endpoint(settings)
    if not endpoint.matches or not endpoint.active:
        found.append(
            _fail("line_webhook", url=endpoint.url or "-", expected=endpoint.expected or "-")
        )
    else:
        found.append(_ok("line_webhook", url=endpoint.url))
    return found


async def _line_menus(api: AsyncMessagingApi) -> Finding:
    """Whether the menus under the chat are installed (every alias the bot links);
    without them the bot works, with no menu to tap."""
    try:
        listed = await api.get_rich_menu_alias_list()
    except Exception as error:  # noqa: BLE001 - read failure: say so, do not fail the setup
        return _warn("line_menus", missing=_short(error))
    present = {alias.rich_menu_alias_id for alias in listed.aliases or []}
    wanted = [sheet.alias for sheet in richmenu.sheets()]
    missing = [alias for alias in wanted if alias not in present]
    if missing:
        return _warn("line_menus", missing=", ".join(missing))
    return _ok("line_menus", count=len(wanted))


async def check_telegram(settings: Settings) -> list[Finding]:
    if not settings.telegram_bot_token:
        return []
    try:
        async with standalone_bot(settings) as bot:
            name = bot.username
            info = await bot.get_webhook_info()
    except Exception as error:  # noqa: BLE001 - a refused token or no network
        return [_fail("telegram_token", error=_short(error))]
    found = [_ok("telegram_token", name=f"@{name}")]
    wanted = settings.telegram_webhook_url or ""
    if wanted and info.url == wanted:
        found.append(_ok("telegram_webhook", url=wanted))
    elif wanted:
        found.append(_fail("telegram_webhook", url=info.url or "-", expected=wanted))
    elif info.url:
        found.append(_fail("telegram_polling", url=info.url))
    else:
        found.append(_ok("telegram_polling"))
    return found


def check_channels(settings: Settings) -> list[Finding]:
    line = bool(settings.line_channel_access_token)
    if line or settings.telegram_bot_token:
        return []
    return [_warn("no_platform")]


# ---- running them -------------------------------------------------------------------------


def _short(error: BaseException) -> str:
    """An error as one short line (SDK errors carry whole HTTP responses)."""
    line = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return line[:200]


async def _bounded(check: str, work: Callable[[], Awaitable[list[Finding]]]) -> list[Finding]:
    try:
        return await asyncio.wait_for(work(), TIMEOUT)
    except TimeoutError:
        return [_fail(check, error=f"no answer within {TIMEOUT:.0f} s")]
    except Exception as error:  # noqa: BLE001 - a check never crashes the doctor
        return [_fail(check, error=_short(error))]


async def examine(settings: Settings) -> tuple[list[Finding], Content | None]:
    """Every check, in the order an operator would fix them (and the content, to
    word them with)."""
    content_finding, content = check_content(settings)
    found = [content_finding, *check_time(settings)]
    found += await _bounded("database", lambda: check_database(settings))
    found += check_channels(settings)
    found += await _bounded("line_token", lambda: check_line(settings))
    found += await _bounded("telegram_token", lambda: check_telegram(settings))
    return found, content


def report(findings: list[Finding], content: Content | None, lang: str) -> list[str]:
    """The checklist, one line per check and an indented fix under any not ok."""
    lines = []
    for finding in findings:
        key = f"doctor.{finding.check}.{finding.status}"
        values = {"error": "", **finding.values}
        if content is None:  # the content itself is broken: plain English it is
            lines.append(f"{MARKS[finding.status]} {finding.check}: {values['error']}")
            continue
        lines.append(f"{MARKS[finding.status]} {content.t(key, lang, **values)}")
        if finding.status != "ok":
            lines.append("    " + content.t(f"doctor.{finding.check}.fix", lang, **values))
    return lines
