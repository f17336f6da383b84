"""`dlcoach serve` basics: health, first-run migration, and a clean stop."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time

import httpx

from bot.server import build_web
from tests.drivers.chat import make_app
from tests.drivers.web import serve
from tests.storage.test_read_only import WAIT_MS, hold_write_lock


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_answers_health_and_creates_the_database(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "LINE_"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'serve.db'}"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        answer = None
        while time.monotonic() < deadline:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert answer is not None, "server did not start"
        assert answer.status_code == 200
        # With no platform credentials the web chat is the one channel: /try works at once.
        assert answer.json() == {"status": "ok", "database": "ok", "channels": ["web"]}
        page = httpx.get(f"http://127.0.0.1:{port}/try", timeout=5)
        assert page.status_code == 200 and "dlcoach_try=" in page.headers["set-cookie"]
        assert (tmp_path / "serve.db").exists()
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=20)
    # uvicorn re-raises the signal after a graceful shutdown
    assert process.returncode in (0, -15), output
    assert "Application shutdown complete" in output
    assert "Traceback" not in output


def test_a_plain_http_public_url_is_refused_at_start():
    import pytest
    from pydantic import ValidationError

    from bot.config import Settings

    with pytest.raises(ValidationError, match="must be an https:// address"):
        Settings(_env_file=None, dlcoach_public_url="http://bot.example.go.th")
    assert Settings(_env_file=None, dlcoach_public_url="https://bot.example.go.th")


async def test_health_and_media_do_not_wait_for_the_write_lock(tmp_path):
    path = tmp_path / "busy.db"
    app = await make_app(f"sqlite:///{path}", dlcoach_sqlite_busy_ms=WAIT_MS)
    try:
        async with serve(build_web(app), lifespan="off") as base, httpx.AsyncClient() as client:
            holder = await asyncio.to_thread(hold_write_lock, str(path))
            try:
                began = time.monotonic()
                health = await client.get(f"{base}/healthz", timeout=10)
                assert await app.media.fetch("no-such-file") is None
                took = time.monotonic() - began
            finally:
                holder.rollback()
                holder.close()
        assert health.status_code == 200, health.text
        assert took < WAIT_MS / 1000 / 2, f"waited {took:.2f}s for the write lock"
    finally:
        await app.close()
