"""Content files: valid, complete in both languages, and the code never hard-codes Thai."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from content.loader import CONTENT_DIR, ContentError, load_content
from tests.drivers.paths import ROOT

THAI = re.compile(r"[\u0E00-\u0E7F]")
KEY_CALL = re.compile(r"""\.t\(\s*f?["']([a-z0-9_.{}]+)["']""")


def test_default_content_loads(content):
    assert [s.number for s in content.steps.steps] == [1, 2, 3, 4, 5, 6]
    assert len(content.skills) == 9
    assert len(content.groups.personnel_groups) == 6
    assert all(content.resources_for(s.id) for s in content.skills)


def test_no_thai_in_python_code():
    offenders = []
    for package in ("bot", "jobs", "handlers", "documents", "content", "storage"):
        for path in (ROOT / package).rglob("*.py"):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if THAI.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}")
    assert offenders == []


def test_every_message_key_used_in_code_exists(content):
    missing = []
    for package in ("bot", "handlers"):
        for path in (ROOT / package).rglob("*.py"):
            for key in KEY_CALL.findall(path.read_text(encoding="utf-8")):
                if "{" in key:  # built with an f-string: check the fixed prefix is used
                    prefix = key.split("{", 1)[0]
                    if not any(k.startswith(prefix) for k in content.messages):
                        missing.append(f"{path.name}: {key}")
                elif key not in content.messages:
                    missing.append(f"{path.name}: {key}")
    assert missing == []


def test_placeholders_match_between_languages(content):
    field = re.compile(r"{(\w+)}")
    for key, text in content.messages.items():
        assert set(field.findall(text.th)) == set(field.findall(text.en)), key


@pytest.fixture
def content_copy(tmp_path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


def test_broken_file_names_file_and_field(content_copy):
    skills = content_copy / "skills.yaml"
    text = skills.read_text(encoding="utf-8")
    skills.write_text(text.replace("scale_labels:", "scale_labelz:", 1), encoding="utf-8")
    with pytest.raises(ContentError) as error:
        load_content(content_copy)
    assert "skills.yaml" in str(error.value) and "scale_labels" in str(error.value)


def test_missing_translation_is_an_error(content_copy):
    core = content_copy / "messages" / "core.yaml"
    text = core.read_text(encoding="utf-8")
    core.write_text(text.replace("    en: Accept\n", "", 1), encoding="utf-8")
    with pytest.raises(ContentError) as error:
        load_content(content_copy)
    assert "core.yaml" in str(error.value) and "consent.accept.en" in str(error.value)


def test_not_yaml_is_an_error(content_copy):
    (content_copy / "steps.yaml").write_text("steps: [unclosed", encoding="utf-8")
    with pytest.raises(ContentError, match="steps.yaml: not valid YAML"):
        load_content(content_copy)


def test_duplicate_message_key_across_files(content_copy):
    (content_copy / "messages" / "zz.yaml").write_text(
        "messages:\n  help:\n    th: ช่วย\n    en: help\n", encoding="utf-8"
    )
    with pytest.raises(ContentError, match="zz.yaml: messages.help: defined in another file"):
        load_content(content_copy)


def test_cli_stops_with_a_clear_error(content_copy, tmp_path):
    import subprocess
    import sys

    (content_copy / "groups.yaml").write_text("personnel_groups: []\napproaches: []\n")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "db", "upgrade"],
        env={
            "PATH": "/usr/bin:/bin",
            "DLCOACH_CONTENT_DIR": str(content_copy),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        },
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 2
    assert "groups.yaml" in result.stderr and "personnel_groups" in result.stderr


def thai_texts() -> list[tuple[str, str]]:
    """Every Thai text of the content files, with where it is (file and key path)."""
    import yaml

    found: list[tuple[str, str]] = []

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "th" and isinstance(value, str):
                    found.append((where, value))
                else:
                    walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}.{index}")

    for path in sorted(CONTENT_DIR.rglob("*.yaml")):
        walk(yaml.safe_load(path.read_text(encoding="utf-8")), path.name)
    return found


# คุณ as a pronoun (not in ขอบคุณ, คุณค่า, คุณภาพ, คุณสมบัติ, and not before a name)
PRONOUN_KHUN = re.compile(r"(?<!ขอบ)คุณ(?!\{name\}|ค่า|ภาพ|สมบัติ)")
PARTICLES = ("ครับ", "ค่ะ", "นะคะ")


def test_one_voice_in_thai():
    """ท่าน is the pronoun everywhere; คุณ only before a name; no gendered particles."""
    texts = thai_texts()
    assert len(texts) > 300, "the walk found the content's Thai texts"
    khun = [(where, text) for where, text in texts if PRONOUN_KHUN.search(text)]
    assert khun == []
    particles = [(w, t) for w, t in texts if any(p in t for p in PARTICLES)]
    assert particles == []
    spaced = [(w, t) for w, t in texts if "คุณ {" in t]
    assert spaced == [], "no space between คุณ and the name"


THAI_LETTER = r"[\u0e01-\u0e4f]"
SPACED_PLACEHOLDER = re.compile(rf"{THAI_LETTER} \{{skill\}} {THAI_LETTER}")


def test_no_stray_spaces_around_names_inside_thai_phrases():
    """Thai writes no spaces inside a phrase: a skill name set off by
    spaces in mid-sentence reads as a gap ("ด้าน {skill} ภายใน"); the name leads
    the line instead ("{skill}: ...")."""
    texts = thai_texts()
    spaced = [(where, text) for where, text in texts if SPACED_PLACEHOLDER.search(text)]
    assert spaced == []


def test_dimension_names_are_parallel(content):
    """The four dimensions read as one list: every Thai name is the same form (การ...)."""
    names = [d.name.get("th") for d in content.skills_file.dimensions]
    assert names == ["การใช้", "การเข้าใจ", "การสร้าง", "การเข้าถึง"]
