"""uv.lock is the install (scripts/ensure-venv): it must be the lock of the
dependencies pyproject.toml names now, or a fresh machine would get other versions
than the tests passed with."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement(text: str, extra: str | None = None) -> tuple[str, str, str | None]:
    """(name, specifier, extra) of a PEP 508 line such as "SQLAlchemy[asyncio]>=2,<3"."""
    found = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*([^;]*)", text)
    assert found, text
    specifier = ",".join(sorted(p.strip() for p in found.group(3).split(",") if p.strip()))
    return _normal(found.group(1)), specifier, extra


def test_uv_lock_locks_what_pyproject_asks_for() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    asked = {_requirement(r) for r in project["dependencies"]}
    for extra, requirements in project.get("optional-dependencies", {}).items():
        asked |= {_requirement(r, extra) for r in requirements}
    lock = tomllib.loads((ROOT / "uv.lock").read_text("utf-8"))
    [ours] = [p for p in lock["package"] if p["name"] == "dlcoach"]
    locked = set()
    for item in ours["metadata"]["requires-dist"]:
        marker = item.get("marker", "")
        extra = re.search(r"extra == '([^']+)'", marker)
        specifier = ",".join(sorted(p.strip() for p in item.get("specifier", "").split(",") if p))
        locked.add((_normal(item["name"]), specifier, extra.group(1) if extra else None))
    assert asked == locked, "pyproject.toml changed since uv.lock: run `uv lock`"
    versions = {p["name"] for p in lock["package"]}
    assert {name for name, _, _ in asked} <= versions
