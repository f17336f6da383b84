"""deploy/: the systemd units load cleanly, the example environment file is read by
the settings as written, the proxy points at the instances the README starts,
and backup.sh makes a dump that restores (and prunes old ones) against a real
PostgreSQL server."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from storage.db import async_url, make_engine
from storage.migrate import upgrade
from storage.models import Agency

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
UNITS = ("dlcoach@.service", "dlcoach-backup.service", "dlcoach-backup.timer")


def env_file(path: Path) -> dict[str, str]:
    """KEY=value lines, as systemd's EnvironmentFile reads them (comments skipped)."""
    pairs = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key] = value
    return pairs


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_the_systemd_units_verify_without_a_warning(tmp_path):
    for name in UNITS:
        unit = (DEPLOY / name).read_text().replace("/opt/dlcoach", str(ROOT))
        (tmp_path / name.replace("@.", "@8081.")).write_text(unit)
    assert (ROOT / ".venv/bin/dlcoach").exists()
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *sorted(str(p) for p in tmp_path.iterdir())],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_the_service_runs_serve_on_its_instance_port_with_the_environment_file():
    unit = (DEPLOY / "dlcoach@.service").read_text()
    assert "ExecStart=/opt/dlcoach/.venv/bin/dlcoach serve --host 127.0.0.1 --port %i" in unit
    assert "EnvironmentFile=/etc/dlcoach/dlcoach.env" in unit
    timer = (DEPLOY / "dlcoach-backup.timer").read_text()
    assert "Persistent=true" in timer and "OnCalendar=" in timer


def test_the_example_environment_is_read_by_the_settings_as_written(monkeypatch):
    example = env_file(DEPLOY / "dlcoach.env.example")
    known = {name.upper() for name in Settings.model_fields}
    backup = {"DLCOACH_BACKUP_KEEP_DAYS", "DLCOACH_BACKUP_DIR"}
    assert set(example) - known - backup == set()
    for name in list(os.environ):
        if name.startswith(("DLCOACH_", "LINE_", "TELEGRAM_", "DATABASE_URL")):
            monkeypatch.delenv(name)
    for key, value in example.items():
        monkeypatch.setenv(key, value)
    settings = Settings(_env_file=None)
    assert settings.database_url.startswith("postgresql://")
    assert settings.dlcoach_public_url.startswith("https://")
    assert settings.dlcoach_demo_agency is False and settings.dlcoach_log_json is True
    # Empty platform secrets leave the platform off instead of half set up.
    assert not settings.line_channel_secret


def test_the_proxy_sends_to_the_instances_the_readme_starts():
    caddy = (DEPLOY / "Caddyfile").read_text()
    upstreams = re.search(r"reverse_proxy ([0-9.: ]+) \{", caddy).group(1).split()
    ports = sorted(upstream.rsplit(":", 1)[1] for upstream in upstreams)
    readme = (DEPLOY / "README.md").read_text()
    started = re.search(r"systemctl enable --now ((?:dlcoach@\d+ ?)+)", readme).group(1)
    assert sorted(name.split("@")[1] for name in started.split()) == ports
    assert len(ports) >= 2
    assert "health_uri /healthz" in caddy
    assert "respond @metrics 404" in caddy
    assert (ROOT / "README.md").read_text().count("deploy/README.md") >= 1


def run_backup(backup_dir: Path, database_url: str, **extra: str) -> subprocess.CompletedProcess:
    environment = {
        "PATH": os.environ["PATH"],
        "DATABASE_URL": database_url,
        "DLCOACH_BACKUP_DIR": str(backup_dir),
        **extra,
    }
    return subprocess.run(
        [str(DEPLOY / "backup.sh")], env=environment, capture_output=True, text=True, timeout=120
    )


def aged(path: Path, days: float) -> Path:
    path.write_bytes(b"old dump")
    moment = time.time() - days * 86400
    os.utime(path, (moment, moment))
    return path


@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="needs pg_dump and pg_restore")
async def test_backup_dumps_a_database_that_restores_and_prunes_old_dumps(tmp_path, postgres_url):
    engine = make_engine(postgres_url)
    await upgrade(engine)
    async with AsyncSession(engine) as session:
        session.add(Agency(code="BKUP", name="Backed up"))
        await session.commit()
    await engine.dispose()
    backups = tmp_path / "backups"
    backups.mkdir()
    old = aged(backups / "dlcoach-20260101T000000Z.dump", 30)
    recent = aged(backups / "dlcoach-20261201T000000Z.dump", 3)

    driver_url = async_url(postgres_url)  # the +asyncpg form dlcoach may be given
    result = await asyncio.to_thread(run_backup, backups, driver_url, DLCOACH_BACKUP_KEEP_DAYS="14")
    assert result.returncode == 0, result.stderr
    made = sorted(set(backups.glob("dlcoach-*.dump")) - {recent})
    assert len(made) == 1 and not old.exists() and recent.exists()
    assert oct(made[0].stat().st_mode & 0o777) == "0o600"
    assert not list(backups.glob(".*partial"))

    # Restore into a database of its own and find the row.
    restored = f"dlcoach_restore_{os.getpid()}"
    admin = create_async_engine(async_url(postgres_url), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{restored}"'))
            await connection.execute(text(f'CREATE DATABASE "{restored}"'))
        target = make_url(postgres_url).set(database=restored).render_as_string(False)
        restore = await asyncio.to_thread(
            subprocess.run,
            ["pg_restore", "--no-owner", f"--dbname={target}", str(made[0])],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert restore.returncode == 0, restore.stderr
        check = create_async_engine(async_url(target))
        async with check.connect() as connection:
            names = (await connection.execute(text("SELECT name FROM agency"))).scalars().all()
        await check.dispose()
        assert names == ["Backed up"]
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{restored}"'))
        await admin.dispose()


@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="needs pg_dump and pg_restore")
def test_a_failed_backup_exits_non_zero_and_leaves_no_partial_dump(tmp_path):
    unreachable = "postgresql://dlcoach@127.0.0.1:9/dlcoach"  # nothing listens on port 9
    result = run_backup(tmp_path, unreachable)
    assert result.returncode != 0 and "127.0.0.1" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_backup_refuses_a_sqlite_database_with_the_way_to_back_it_up(tmp_path):
    result = run_backup(tmp_path / "b", "sqlite:///dlcoach.db")
    assert result.returncode == 2 and "sqlite3 .backup" in result.stderr
    assert not (tmp_path / "b").exists()
