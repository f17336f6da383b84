"""The admin command line: agencies, units and invite codes, as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys


def dlcoach(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_agency_units_and_invite(tmp_path):
    created = dlcoach(tmp_path, "agency", "create", "--code", "DOPA", "--name", "กรมการปกครอง")
    assert created.returncode == 0 and "created agency DOPA" in created.stdout
    again = dlcoach(tmp_path, "agency", "create", "--code", "DOPA", "--name", "x")
    assert again.returncode == 1 and "already exists" in again.stderr
    units = dlcoach(
        tmp_path,
        "agency",
        "units",
        "--code",
        "DOPA",
        "--add",
        "กองคลัง",
        "--add",
        "กองการเจ้าหน้าที่",
        "--add",
        "กองคลัง",
    )
    assert units.returncode == 0
    assert units.stdout.splitlines() == sorted(["กองคลัง", "กองการเจ้าหน้าที่"])
    missing = dlcoach(tmp_path, "agency", "units", "--code", "NOPE")
    assert missing.returncode == 1 and "no agency with code NOPE" in missing.stderr
    invite = dlcoach(tmp_path, "admin", "invite", "--agency", "DOPA", "--role", "head")
    assert invite.returncode == 0
    code = invite.stdout.splitlines()[0].strip()
    assert len(code.replace("-", "")) >= 8 and code.replace("-", "").isalnum()
    upgraded = dlcoach(tmp_path, "db", "upgrade")
    assert upgraded.returncode == 0 and "up to date" in upgraded.stdout


def test_outbox_status_shows_failures_and_retry_queues_them_again(tmp_path):
    import sqlite3

    assert dlcoach(tmp_path, "db", "upgrade").returncode == 0
    with sqlite3.connect(tmp_path / "cli.db") as db:
        for status, error in (("failed", "400 bad request: text too long"), ("sent", None)):
            db.execute(
                "INSERT INTO outboxmessage (channel, chat_id, kind, payload, status, attempts,"
                " next_attempt_at, created_at, last_error, sent_parts)"
                " VALUES ('line', 'U1', 'reply', '[]', ?, 3, '2026-12-01 00:00:00',"
                " '2026-12-01 00:00:00', ?, 0)",
                (status, error),
            )
    status = dlcoach(tmp_path, "outbox", "status")
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert any(line.split()[:3] == ["line", "failed", "1"] for line in lines), status.stdout
    assert any(line.split()[:3] == ["line", "sent", "1"] for line in lines), status.stdout
    assert "#1 line reply" in status.stdout and "text too long" in status.stdout
    assert dlcoach(tmp_path, "outbox", "retry").returncode == 2  # says which
    retried = dlcoach(tmp_path, "outbox", "retry", "--id", "1")
    assert retried.returncode == 0 and retried.stdout.startswith("1 failed message(s)")
    with sqlite3.connect(tmp_path / "cli.db") as db:
        assert db.execute("SELECT status, attempts FROM outboxmessage WHERE id = 1").fetchone() == (
            "pending",
            0,
        )
