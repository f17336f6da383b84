"""`dlcoach line webhook set|info` and `dlcoach telegram webhook set|info|delete`,
as a subprocess against the fake platforms (and, for LINE's test call, the bot's
own webhook running in this test)."""

from __future__ import annotations

import asyncio
import os
import sys

from tests.bot.channels.test_line import SECRET, TOKEN, line_harness
from tests.bot.channels.test_telegram import TOKEN as TELEGRAM_TOKEN
from tests.bot.channels.test_telegram import server as server  # noqa: F401 - the fixture

PUBLIC = "https://bot.example.go.th"


async def dlcoach(tmp_path, env: dict[str, str], *args: str) -> tuple[int, str, str]:  # noqa: ANN001
    """Run the command without blocking this loop (the bot under test must answer)."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "TELEGRAM_"))}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env={**keep, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", **env},
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode(), err.decode()


def line_env(h, **extra: str) -> dict[str, str]:  # noqa: ANN001
    return {
        "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
        "LINE_CHANNEL_SECRET": SECRET,
        "LINE_API_BASE_URL": h.line.base_url,
        "DLCOACH_PUBLIC_URL": PUBLIC,
        **extra,
    }


async def test_line_webhook_set_points_line_at_the_bot_and_line_tries_it(tmp_path, caplog):
    async with line_harness(tmp_path, caplog) as h:
        code, out, err = await dlcoach(
            tmp_path, line_env(h), "line", "webhook", "set", "--url", h.webhook_url
        )
        assert code == 0, err
        assert h.line.webhook_endpoint == h.webhook_url
        assert "LINE's test call: 200 OK" in out
        # Not this bot's public address: info says so and how to fix it.
        code, out, err = await dlcoach(tmp_path, line_env(h), "line", "webhook", "info")
        assert code == 1 and f"endpoint: {h.webhook_url}" in out
        assert f"expected: {PUBLIC}/webhooks/line" in err and "dlcoach line webhook set" in err


async def test_line_webhook_set_reports_a_failed_test_call_and_a_bad_token(tmp_path, caplog):
    async with line_harness(tmp_path, caplog) as h:
        h.line.channel_secret = "another-channel"  # LINE signs with a secret the bot lacks
        code, _, err = await dlcoach(
            tmp_path, line_env(h), "line", "webhook", "set", "--url", h.webhook_url
        )
        assert code == 1 and "test call failed" in err and "401" in err
        h.line.channel_secret = SECRET
        code, out, err = await dlcoach(tmp_path, line_env(h), "line", "webhook", "set")
        assert code == 1 and "COULD_NOT_CONNECT" in err  # bot.example.go.th is not here
        assert h.line.webhook_endpoint == f"{PUBLIC}/webhooks/line"
        code, out, _ = await dlcoach(tmp_path, line_env(h), "line", "webhook", "info")
        assert code == 0 and "active: yes" in out
        bad = line_env(h, LINE_CHANNEL_ACCESS_TOKEN="wrong")
        code, _, err = await dlcoach(tmp_path, bad, "line", "webhook", "info")
        assert code == 1 and "LINE refused or could not be reached" in err
        assert "Traceback" not in err
        code, _, err = await dlcoach(tmp_path, {}, "line", "webhook", "info")
        assert code == 2 and "LINE_CHANNEL_ACCESS_TOKEN is not set" in err


async def test_telegram_webhook_set_info_and_delete(server, tmp_path):  # noqa: F811
    url = f"{PUBLIC}/webhooks/telegram"
    env = {
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_API_BASE_URL": server.base_url,
        "TELEGRAM_WEBHOOK_URL": url,
        "TELEGRAM_WEBHOOK_SECRET": "s3cret-value",
    }
    code, out, err = await dlcoach(tmp_path, env, "telegram", "webhook", "info")
    assert code == 1 and "(none: long polling)" in out and "webhook set" in err
    code, out, err = await dlcoach(tmp_path, env, "telegram", "webhook", "set")
    assert code == 0, err
    assert server.webhook["url"] == url and server.webhook["secret_token"] == "s3cret-value"
    assert f"url: {url}" in out
    code, out, err = await dlcoach(tmp_path, env, "telegram", "webhook", "info")
    assert code == 0, err
    code, out, _ = await dlcoach(tmp_path, env, "telegram", "webhook", "delete")
    assert code == 0 and server.webhook == {}
    polling = {k: v for k, v in env.items() if not k.startswith("TELEGRAM_WEBHOOK")}
    code, out, err = await dlcoach(tmp_path, polling, "telegram", "webhook", "info")
    assert code == 0, err
    code, _, err = await dlcoach(tmp_path, polling, "telegram", "webhook", "set")
    assert code == 2 and "TELEGRAM_WEBHOOK_URL is not set" in err
    wrong = {**env, "TELEGRAM_BOT_TOKEN": "999:wrong"}
    code, _, err = await dlcoach(tmp_path, wrong, "telegram", "webhook", "info")
    assert code == 1 and "Telegram refused or could not be reached" in err
    assert "Traceback" not in err
