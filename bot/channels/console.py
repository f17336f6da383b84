"""The terminal channel of `dlcoach chat`: same core, same database as the others.

Choices print one per line as `[n] label`; typing the number or the label
picks it. A label that starts with a number of its own ("3 Capable") is printed
under that number whenever its place in the list would say another one, so a
typed 3 always means the label that says 3. Pictures and documents are saved to files and their paths printed.
The chat loop itself is `bot.terminal`.
"""

from __future__ import annotations

import itertools
import re
import sys
import tempfile
import uuid
from pathlib import Path
from typing import TextIO

from bot.channels.base import Channel, OutboundMessage, Progress, no_progress
from bot.channels.text import without_pages
from handlers.messages import Choice, Incoming

CHANNEL = "console"
_OWN_NUMBER = re.compile(r"(\d+)(?:\s|$)")  # "3 Capable", not "08:15" or "3.5"


def own_number(label: str) -> int | None:
    """The number a label starts with, as a word of its own; None if it has none."""
    match = _OWN_NUMBER.match(label.strip())
    return int(match.group(1)) if match and len(match.group(1)) < 6 else None


def numbered(choices: tuple[Choice, ...]) -> list[tuple[int, Choice]]:
    """Each choice with the number printed before it, in printing order.

    By position, unless a label starts with a number other than its position
    (targets "2 Basic" to "5 Can teach others", or "1 hour" third in a list):
    then every such label is printed under its own number, the other choices
    take the smallest numbers left free, and the list prints in number order."""
    own = [own_number(c.label) for c in choices]
    taken = [n for n in own if n is not None]
    mismatch = any(n is not None and n != place for place, n in enumerate(own, start=1))
    if not mismatch or len(taken) != len(set(taken)) or 0 in taken:
        return list(enumerate(choices, start=1))
    free = (n for n in itertools.count(1) if n not in taken)
    pairs = [(n if n is not None else next(free), c) for n, c in zip(own, choices, strict=True)]
    return sorted(pairs, key=lambda pair: pair[0])


class ConsoleChannel(Channel):
    """Prints replies for one terminal user and turns typed lines into `Incoming`."""

    name = CHANNEL

    def __init__(self, user: str, out: TextIO | None = None, files_dir: Path | None = None) -> None:
        self.user = user
        self.out = out or sys.stdout
        self.files_dir = files_dir or Path(tempfile.gettempdir()) / "dlcoach-chat"
        self.choices: dict[int, Choice] = {}
        self.question_seq: int | None = None
        self.notes: dict[str, str] = {}

    async def send(self, message: OutboundMessage, progress: Progress = no_progress) -> None:
        for reply in map(without_pages, message.replies):
            self._print(reply.text)
            if reply.image_png is not None:
                path = self._save(reply.image_png, f"chart-{message.outbox_id}.png")
                self._print(self.notes.get("image", "[image] {path}").format(path=path))
            if reply.document is not None:
                path = self._save(reply.document, reply.document_name or "document")
                self._print(self.notes.get("document", "[file] {path}").format(path=path))
            if reply.choices:
                pairs = numbered(reply.choices)
                self.choices = dict(pairs)
                self.question_seq = reply.question_seq
                for number, choice in pairs:
                    self._print(f"[{number}] {choice.label}")
        self.out.flush()

    def _print(self, text: str) -> None:
        self.out.write(text + "\n")

    def _save(self, data: bytes, name: str) -> Path:
        self.files_dir.mkdir(parents=True, exist_ok=True)
        path = self.files_dir / f"{self.user}-{Path(name).name}"
        path.write_bytes(data)
        return path

    def incoming(self, line: str) -> Incoming:
        """A typed line: a printed choice number or a label becomes that choice, else text."""
        text = line.strip()
        choice = None
        if text.isdecimal() and len(text) < 6 and int(text) in self.choices:
            choice = self.choices[int(text)].id
        else:
            choice = next(
                (
                    c.id
                    for c in self.choices.values()
                    if c.label.strip().casefold() == text.casefold()
                ),
                None,
            )
        base = {
            "channel": CHANNEL,
            "user_id": self.user,
            "chat_id": self.user,
            "event_id": uuid.uuid4().hex,
        }
        if choice is not None:
            return Incoming(
                kind="choice", choice=choice, question_seq=self.question_seq, text=text, **base
            )
        return Incoming(kind="text", text=text, **base)

    def opening(self) -> Incoming:
        """What starting a chat means: like following the bot on a platform."""
        return Incoming(
            channel=CHANNEL,
            user_id=self.user,
            chat_id=self.user,
            kind="follow",
            event_id=uuid.uuid4().hex,
        )
