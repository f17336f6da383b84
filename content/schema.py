"""The shape of the content files. Every user-visible text is a `Text` with
Thai first and English second, so a missing translation is a start-up error,
not a surprise in someone's chat."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Lang = Literal["th", "en"]
LANGS: tuple[Lang, ...] = ("th", "en")

# Ids travel inside button payloads (Telegram allows 64 bytes), so keep them short.
ShortId = Field(pattern=r"^[a-z0-9_]{1,16}$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    """One user-visible text in both languages."""

    th: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.th


class Step(Strict):
    number: int = Field(ge=1, le=6)
    id: str = ShortId
    title: Text
    summary: Text
    what_you_do: Text


class StepsFile(Strict):
    label: Text  # says that this is the project's reading of the method, not OCSC wording
    steps: list[Step]

    @field_validator("steps")
    @classmethod
    def six_steps_in_order(cls, steps: list[Step]) -> list[Step]:
        if [s.number for s in steps] != [1, 2, 3, 4, 5, 6]:
            raise ValueError("there must be exactly six steps numbered 1 to 6 in order")
        return steps


class Dimension(Strict):
    id: str = ShortId
    name: Text
    description: Text


class ScaleLevel(Strict):
    level: int = Field(ge=1, le=5)
    description: Text


BUTTON_LIMIT = 20  # LINE quick-reply labels; the strictest of the platforms


def fits_a_button(text: Text) -> Text:
    for lang in LANGS:
        if len(text.get(lang)) > BUTTON_LIMIT:
            raise ValueError(f"{lang} is longer than {BUTTON_LIMIT} characters")
    return text


class Skill(Strict):
    id: str = ShortId
    number: int = Field(ge=1, le=20)
    dimension: str
    name: Text
    short: Text  # for buttons: at most 20 characters in each language
    why: Text  # one or two sentences: why this skill matters at work
    scale: list[ScaleLevel]
    # Things to do in an if-then plan (step 3), offered as buttons: `label` is the
    # phrase the plan sentence uses, `short` the button when the label is too long.
    plan_actions: list[Option] = Field(default_factory=list)

    @field_validator("short")
    @classmethod
    def short_enough(cls, short: Text) -> Text:
        return fits_a_button(short)

    @field_validator("scale")
    @classmethod
    def five_levels(cls, scale: list[ScaleLevel]) -> list[ScaleLevel]:
        if [lv.level for lv in scale] != [1, 2, 3, 4, 5]:
            raise ValueError("the scale must have levels 1 to 5 in order")
        return scale


class SkillSource(Strict):
    """Where a part of the default skill framework comes from, shown in step 1 so
    people know which skills follow a national standard and which the agency may
    change (an agency that edits the skills edits this with them)."""

    skills: list[str] = Field(min_length=1)  # skill ids, shown in this order
    text: Text


class SkillsFile(Strict):
    disclaimer: Text  # self-ratings are indicative, not an official OCSC level
    framework: Text  # one line: the dimensions and skills are a default framework
    sources: list[SkillSource]  # every skill in exactly one, one step 1 screen each
    scale_labels: list[Text]  # names of levels 1..5, shared by every skill
    dimensions: list[Dimension]
    skills: list[Skill]

    @field_validator("scale_labels")
    @classmethod
    def five_labels(cls, labels: list[Text]) -> list[Text]:
        if len(labels) != 5:
            raise ValueError("there must be five scale labels")
        return labels

    @model_validator(mode="after")
    def consistent(self) -> SkillsFile:
        dims = {d.id for d in self.dimensions}
        ids = [s.id for s in self.skills]
        if len(ids) != len(set(ids)):
            raise ValueError("skill ids must be unique")
        for skill in self.skills:
            if skill.dimension not in dims:
                raise ValueError(f"skill {skill.id}: unknown dimension {skill.dimension!r}")
        sourced = [skill_id for source in self.sources for skill_id in source.skills]
        if sorted(sourced) != sorted(ids):
            raise ValueError("sources: every skill id must be listed once, and only skill ids")
        return self


class Resource(Strict):
    id: str = ShortId
    skill: str
    kind: Literal["course", "video", "article", "practice", "coaching"]
    title: Text
    description: Text
    url: str | None = None
    minutes: int | None = Field(default=None, ge=1)


class ResourcesFile(Strict):
    resources: list[Resource]


class Option(Strict):
    """A fixed choice offered in chat (a personnel group, a learning approach).

    `label` is its full name (reports, lists); `short`, when the label would
    not fit a button, is what the button shows (at most 20 characters)."""

    id: str = ShortId
    label: Text
    short: Text | None = None
    description: Text | None = None

    @field_validator("short")
    @classmethod
    def short_enough(cls, short: Text | None) -> Text | None:
        return None if short is None else fits_a_button(short)

    @model_validator(mode="after")
    def button_fits(self) -> Option:
        if self.short is None:
            try:
                fits_a_button(self.label)
            except ValueError as exc:
                raise ValueError(f"label: {exc}; add a short form for the button") from exc
        return self

    def button(self, lang: str) -> str:
        """What a button for this option says."""
        return (self.short or self.label).get(lang)


class PersonnelGroup(Option):
    """One of the six groups of the Cabinet resolution, with why digital skills
    matter for that group's work (step 1 shows it to the group's members)."""

    why: Text


class Approach(Option):
    """A way to learn; its `plan_actions` are suggested in the if-then plan beside
    the focus skill's own, so the plan fits how the person chose to learn."""

    plan_actions: list[Option] = Field(default_factory=list)


class PlanCue(Option):
    """A moment of the working day for an if-then plan; `weekday` (Monday is 0)
    when it comes on one day of the week only, so a missed plan day can be told."""

    weekday: int | None = Field(default=None, ge=0, le=6)


class GroupsFile(Strict):
    personnel_groups: list[PersonnelGroup]
    approaches: list[Approach]
    outcomes: list[Option]
    # Moments of a working day that an if-then plan can hang on (step 3): `label` is
    # the phrase in the plan sentence, `short` the button when the label is too long.
    plan_cues: list[PlanCue] = Field(default_factory=list)

    @field_validator("personnel_groups")
    @classmethod
    def six_groups(cls, groups: list[Option]) -> list[Option]:
        if len(groups) != 6:
            raise ValueError("there must be six personnel groups")
        return groups


class MessagesFile(Strict):
    messages: dict[str, Text]

    @field_validator("messages")
    @classmethod
    def key_format(cls, messages: dict[str, Text]) -> dict[str, Text]:
        for key in messages:
            if not key.replace("_", "").replace(".", "").isalnum():
                raise ValueError(f"bad message key {key!r}")
        return messages
