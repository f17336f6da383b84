"""The README's Thai transcript of steps 2 and 3 is what a person really sees.

The test drives the walkthrough's answers, prints each turn as the terminal
does (`> what the person typed or tapped`, then the bot's messages with their
`[n]` choices), and checks that every line of the README's transcript appears
in that output in the same order; "…" lines in the README stand for what it
leaves out (the nine rating questions are alike)."""

from __future__ import annotations

import re

from bot.channels.console import numbered
from bot.channels.text import without_pages
from handlers.messages import Reply
from tests.drivers.chat import Person
from tests.drivers.journey import onboard, step1, step2, step3
from tests.drivers.paths import ROOT

BLOCK = re.compile(r"<!-- transcript:steps-2-3 -->\n```text\n(.*?)\n```", re.S)


def printed(replies: list[Reply]) -> list[str]:
    """The replies as the terminal prints them (it opens no pages)."""
    lines: list[str] = []
    for reply in map(without_pages, replies):
        lines.extend(reply.text.splitlines())
        lines.extend(f"[{n}] {c.label}" for n, c in numbered(reply.choices))
    return lines


class Recorder:
    """Stands in for a Person in the journey walks and keeps the printed conversation."""

    def __init__(self, person: Person) -> None:
        self.person = person
        self.lines: list[str] = []

    @property
    def question(self) -> Reply:
        return self.person.question

    async def tap(self, which: str | int) -> None:
        question = self.person.question
        choice = (
            question.choices[which - 1]
            if isinstance(which, int)
            else next(c for c in question.choices if which in (c.id, c.label))
        )
        self.lines.append(f"> {choice.label}")
        self.lines.extend(printed(await self.person.tap(which)))

    async def say(self, text: str) -> None:
        self.lines.append(f"> {text}")
        self.lines.extend(printed(await self.person.say(text)))


def readme_transcript() -> list[str]:
    match = BLOCK.search((ROOT / "README.md").read_text(encoding="utf-8"))
    assert match, "README.md has no transcript:steps-2-3 block"
    return [line for line in match.group(1).splitlines() if line.strip() not in ("", "…")]


async def test_the_readme_transcript_is_what_the_bot_says(app, channel):
    person = Person(app, channel)
    await onboard(person)
    recorder = Recorder(person)
    await step1(recorder)  # type: ignore[arg-type]
    last_turn = max(i for i, line in enumerate(recorder.lines) if line.startswith("> "))
    recorder.lines = recorder.lines[last_turn:]  # the reason given, then step 2 opens
    await step2(recorder)  # type: ignore[arg-type]
    await step3(recorder)  # type: ignore[arg-type]

    spoken = [line for line in recorder.lines if line.strip()]
    wanted = readme_transcript()
    position = 0
    for line in wanted:
        assert line in spoken[position:], f"README line not said (in this order): {line!r}"
        position = spoken.index(line, position) + 1
    assert len(wanted) >= 20  # a transcript, not a token line
