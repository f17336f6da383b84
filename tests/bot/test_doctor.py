"""`dlcoach doctor` against the fake platforms: all well, then each broken setting
failing with its own message and fix (exit 1), and warnings that do not fail."""

from __future__ import annotations

import sqlite3

import pytest

from bot.channels.line.richmenu import draw_all, install
from bot.channels.telegram.webhook import set_webhook
from bot.config import Settings
from bot.doctor import examine, report
from content.loader import load_content
from storage.db import make_engine
from storage.migrate import upgrade
from tests.bot.channels.test_line import SECRET, TOKEN
from tests.bot.channels.test_telegram import TOKEN as TELEGRAM_TOKEN
from tests.bot.channels.test_telegram import server as server  # noqa: F401 - the fixture
from tests.bot.test_cli_webhooks import PUBLIC, dlcoach
from tests.fakes.line_api import FakeLineServer

HOOK = f"{PUBLIC}/webhooks/telegram"


@pytest.fixture
async def line():
    async with FakeLineServer(access_token=TOKEN, channel_secret=SECRET, quota=500) as fake:
        fake.webhook_endpoint = f"{PUBLIC}/webhooks/line"
        yield fake


@pytest.fixture
async def healthy(tmp_path, line, server):  # noqa: F811 - the telegram fake
    """A migrated database, LINE pointed at the bot, Telegram's webhook registered."""
    env = {
        "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
        "LINE_CHANNEL_SECRET": SECRET,
        "LINE_API_BASE_URL": line.base_url,
        "DLCOACH_PUBLIC_URL": PUBLIC,
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_API_BASE_URL": server.base_url,
        "TELEGRAM_WEBHOOK_URL": HOOK,
        "TELEGRAM_WEBHOOK_SECRET": "s3cret",
    }
    settings = settings_of(tmp_path, env)
    engine = make_engine(settings.database_url)
    await upgrade(engine)
    await engine.dispose()
    await set_webhook(settings)
    await install(settings, draw_all(load_content(), "th"))
    return env


def settings_of(tmp_path, env: dict[str, str]) -> Settings:  # noqa: ANN001
    """The settings `env` gives, with the database the command line uses here."""
    values = {"database_url": f"sqlite:///{tmp_path / 'cli.db'}"}
    return Settings(_env_file=None, **{**values, **{k.lower(): v for k, v in env.items()}})


async def doctor(tmp_path, env: dict[str, str]) -> tuple[int, list[str]]:  # noqa: ANN001
    """The command as an operator runs it (a subprocess): exit code and lines."""
    code, out, err = await dlcoach(tmp_path, env, "doctor", "--lang", "en")
    assert "Traceback" not in out + err, err
    return code, out.splitlines()


async def checked(tmp_path, env: dict[str, str]) -> tuple[int, list[str]]:  # noqa: ANN001
    """The same checks in this process (the command's exit code: 1 on any failure),
    for the many broken settings a subprocess each would make slow."""
    settings = settings_of(tmp_path, env)
    findings, content = await examine(settings)
    failed = sum(f.status == "fail" for f in findings)
    summary = content.t("doctor.summary_fail", "en", count=failed) if content and failed else ""
    return (1 if failed else 0), ["", *report(findings, content, "en"), summary]


def line_of(lines: list[str], start: str) -> tuple[str, str]:
    """The check's line that begins with `start` (after its mark) and its fix."""
    for i, line in enumerate(lines):
        if line[2:].startswith(start):
            return line, lines[i + 1].strip() if i + 1 < len(lines) else ""
    raise AssertionError(f"no line {start!r} in {lines}")


async def test_a_healthy_setup_passes_with_every_check_named(tmp_path, healthy) -> None:
    code, lines = await doctor(tmp_path, healthy)
    assert code == 0, lines
    assert lines[-1] == "Ready: nothing to fix"
    marks = [line[0] for line in lines[1:-1]]
    assert marks and set(marks) == {"✓"}, lines
    for start in (
        "Content is valid (skills: 9)",
        "Time zone Asia/Bangkok",
        "The database schema is up to date",
        "LINE accepts the token",
        "The menus under the LINE chat are installed (7 menus)",
        "Push messages this month: 0 used of 500",
        f"LINE posts to {PUBLIC}/webhooks/line",
        "Telegram accepts the token (@",
        f"Telegram posts to {HOOK}",
    ):
        line_of(lines, start)


@pytest.mark.parametrize(
    ("change", "failed", "fix"),
    [
        ({"LINE_CHANNEL_ACCESS_TOKEN": "wrong"}, "LINE refuses the token", "Issue a new"),
        ({"LINE_CHANNEL_SECRET": ""}, "LINE is only half set up", "Both LINE_CHANNEL_SECRET"),
        ({"LINE_API_BASE_URL": "http://127.0.0.1:9"}, "LINE refuses the token", "Issue a new"),
        ({"DLCOACH_PUBLIC_URL": ""}, "DLCOACH_PUBLIC_URL is not set", "Set DLCOACH_PUBLIC_URL"),
        ({"DLCOACH_PUBLIC_URL": "https://other.example"}, "LINE posts to", "Run dlcoach line"),
        ({"TELEGRAM_BOT_TOKEN": "9:wrong"}, "Telegram refuses the token", "Get the token"),
        ({"TELEGRAM_WEBHOOK_URL": HOOK + "x"}, "Telegram posts to", "Run dlcoach telegram"),
        ({"TELEGRAM_WEBHOOK_URL": ""}, "A webhook is still set", "Run dlcoach telegram"),
        ({"DLCOACH_TIMEZONE": "Mars/Olympus"}, "Unknown time zone", "Set DLCOACH_TIMEZONE"),
        (
            {"DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none"},
            "The database cannot be reached",
            "Check DATABASE_URL",
        ),
    ],
)
async def test_each_broken_setting_fails_with_its_fix(
    tmp_path, healthy, change, failed, fix
) -> None:
    code, lines = await checked(tmp_path, {**healthy, **change})
    assert code == 1, lines
    line, under = line_of(lines, failed)
    assert line.startswith("✗") and under.startswith(fix), (line, under)
    assert lines[-1] == "1 thing to fix before staff start", lines


async def test_a_database_newer_than_the_program_fails(tmp_path, healthy) -> None:
    with sqlite3.connect(tmp_path / "cli.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    code, lines = await checked(tmp_path, healthy)
    line, under = line_of(lines, "The database is newer than this program")
    assert code == 1 and line.startswith("✗") and under.startswith("Run dlcoach db upgrade")


async def test_warnings_do_not_fail(tmp_path, healthy, line) -> None:
    line.quota_used = 480  # of 500: past the 0.9 share at which nudges wait
    line.rich_menu_aliases.pop("dlcoach-grow")  # a menu someone deleted in the console
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    code, lines = await doctor(fresh, {**healthy, "DATABASE_URL": f"sqlite:///{fresh}/new.db"})
    assert code == 0, lines
    assert line_of(lines, "Push messages this month: 480 of 500 used")[0].startswith("!")
    assert line_of(lines, "The database file")[0].startswith("!")
    menus, fix = line_of(lines, "The menus under the LINE chat are not installed (dlcoach-grow)")
    assert menus.startswith("!") and fix == "Run dlcoach line richmenu"
    assert not (fresh / "new.db").exists()  # the doctor only looks


async def test_broken_content_is_named_in_plain_words(tmp_path, healthy) -> None:
    empty = tmp_path / "content"
    empty.mkdir()
    code, lines = await doctor(tmp_path, {**healthy, "DLCOACH_CONTENT_DIR": str(empty)})
    assert code == 1, lines
    assert lines[0].startswith("✗ content:") and "content" in lines[0][10:], lines
