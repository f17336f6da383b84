"""The step 1 content: every personnel group says why digital skills matter for
its work, and every skill names where it comes from."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from content.loader import CONTENT_DIR, ContentError, load_content


@pytest.fixture
def content_copy(tmp_path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


def test_every_group_has_its_own_why(content):
    whys = [g.why for g in content.groups.personnel_groups]
    for lang in ("th", "en"):
        texts = [w.get(lang) for w in whys]
        assert len(set(texts)) == 6, lang


def test_a_group_without_why_is_an_error(content_copy):
    groups = content_copy / "groups.yaml"
    text = groups.read_text(encoding="utf-8")
    groups.write_text(text.replace("    why:\n", "    whx:\n", 1), encoding="utf-8")
    with pytest.raises(ContentError) as error:
        load_content(content_copy)
    assert "groups.yaml" in str(error.value) and "why" in str(error.value)


def test_every_skill_is_in_one_source(content):
    sourced = [s for source in content.skills_file.sources for s in source.skills]
    assert sorted(sourced) == sorted(s.id for s in content.skills)


def test_a_skill_missing_from_the_sources_is_an_error(content_copy):
    skills = content_copy / "skills.yaml"
    text = skills.read_text(encoding="utf-8")
    skills.write_text(text.replace("skills: [data, media]", "skills: [data]", 1), encoding="utf-8")
    with pytest.raises(ContentError, match="skills.yaml"):
        load_content(content_copy)
