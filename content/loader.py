"""Read and validate the content files into one immutable `Content`."""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import TypeVar

import yaml
from babel import Locale
from pydantic import BaseModel, ValidationError

from content.schema import (
    GroupsFile,
    MessagesFile,
    Option,
    PersonnelGroup,
    Resource,
    ResourcesFile,
    Skill,
    SkillsFile,
    Step,
    StepsFile,
    Text,
)

CONTENT_DIR = Path(__file__).parent
Model = TypeVar("Model", bound=BaseModel)


class ContentError(Exception):
    """A content file is missing, is not YAML, or does not match the schema."""


def _read(path: Path, model: type[Model]) -> Model:
    """Parse one file, turning every problem into an error that names file and field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ContentError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        raise ContentError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ContentError(f"{path}: {problems}") from exc


@dataclass(frozen=True)
class Content:
    """Everything the bot says and offers, validated."""

    steps: StepsFile
    skills_file: SkillsFile
    resources: list[Resource]
    groups: GroupsFile
    messages: dict[str, Text]
    _skills_by_id: dict[str, Skill] = field(default_factory=dict)

    @property
    def skills(self) -> list[Skill]:
        return self.skills_file.skills

    def skill(self, skill_id: str) -> Skill:
        return self._skills_by_id[skill_id]

    def step(self, number: int) -> Step:
        return self.steps.steps[number - 1]

    def group(self, group_id: str) -> PersonnelGroup | None:
        return next((g for g in self.groups.personnel_groups if g.id == group_id), None)

    def approach(self, approach_id: str) -> Option | None:
        return next((a for a in self.groups.approaches if a.id == approach_id), None)

    def outcome(self, outcome_id: str) -> Option | None:
        return next((o for o in self.groups.outcomes if o.id == outcome_id), None)

    def resources_for(self, skill_id: str) -> list[Resource]:
        return [r for r in self.resources if r.skill == skill_id]

    def scale_label(self, level: int, lang: str) -> str:
        return self.skills_file.scale_labels[level - 1].get(lang)

    def t(self, key: str, lang: str, **values: object) -> str:
        """The message `key` in `lang`, with `{placeholders}` filled from `values`.

        A placeholder may choose a word by the number's plural category:
        `{count} {count:person|people}` gives "1 person" and "3 people" (the forms
        are CLDR's "one" then "other"; Thai has only "other", so Thai text simply
        does not use it)."""
        return _fill(self.messages[key].get(lang), values, lang)


class _Formatter(string.Formatter):
    """Leaves an unknown `{name}` visible instead of raising, so one typo in
    content/ can never crash a conversation (tests check every key is filled);
    a `one|other` format spec picks a plural form by the language's rules (Babel)."""

    def __init__(self, lang: str) -> None:
        super().__init__()
        self.lang = lang

    def get_value(self, key, args, kwargs):  # noqa: ANN001, ANN201
        if isinstance(key, str) and key not in kwargs:
            return "{" + key + "}"
        return super().get_value(key, args, kwargs)

    def format_field(self, value: object, format_spec: str) -> str:
        if "|" in format_spec:
            one, _, other = format_spec.partition("|")
            try:  # as written: "1.0" is plural in English, "1" is not
                number = abs(Decimal(str(value).replace(",", "")))
            except InvalidOperation:
                return other
            category = _locale(self.lang).plural_form(number)
            return one if category == "one" else other
        return super().format_field(value, format_spec)


@cache
def _locale(lang: str) -> Locale:
    """Babel's locale for a content language (anything but "en" is Thai, as everywhere)."""
    return Locale.parse("en" if lang == "en" else "th")


def _fill(template: str, values: dict[str, object], lang: str = "th") -> str:
    return _Formatter(lang).vformat(template, (), values)


def load_content(directory: Path | None = None) -> Content:
    """Load and cross-check every content file in `directory` (content/ by default)."""
    directory = Path(directory) if directory else CONTENT_DIR
    steps = _read(directory / "steps.yaml", StepsFile)
    skills = _read(directory / "skills.yaml", SkillsFile)
    resources = _read(directory / "resources.yaml", ResourcesFile)
    groups = _read(directory / "groups.yaml", GroupsFile)
    messages: dict[str, Text] = {}
    message_files = sorted((directory / "messages").glob("*.yaml"))
    if not message_files:
        raise ContentError(f"{directory / 'messages'}: no message files")
    for path in message_files:
        for key, text in _read(path, MessagesFile).messages.items():
            if key in messages:
                raise ContentError(f"{path}: messages.{key}: defined in another file too")
            messages[key] = text
    skill_ids = {s.id for s in skills.skills}
    for index, resource in enumerate(resources.resources):
        if resource.skill not in skill_ids:
            raise ContentError(
                f"{directory / 'resources.yaml'}: resources.{index}.skill: "
                f"unknown skill {resource.skill!r}"
            )
    return Content(
        steps=steps,
        skills_file=skills,
        resources=resources.resources,
        groups=groups,
        messages=messages,
        _skills_by_id={s.id: s for s in skills.skills},
    )
