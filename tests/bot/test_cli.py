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
