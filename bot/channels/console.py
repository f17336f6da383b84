"""The terminal channel of `dlcoach chat`: same core, same database as the others.

Choices print one per line as `[n] label`; typing the number or the label
picks it. Pictures and documents are saved to files and their paths printed.
The chat loop itself is `bot.terminal`.
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from pathlib import Path
from typing import TextIO

from bot.channels.base import Channel, OutboundMessage, Progress, no_progress
from handlers.messages import Choice, Incoming

CHANNEL = "console"


class ConsoleChannel(Channel):
    """Prints replies for one terminal user and turns typed lines into `Incoming`."""

    name = CHANNEL

    def __init__(self, user: str, out: TextIO | None = None, files_dir: Path | None = None) -> None:
        self.user = user
        self.out = out or sys.stdout
        self.files_dir = files_dir or Path(tempfile.gettempdir()) / "dlcoach-chat"
        self.choices: tuple[Choice, ...] = ()
        self.question_seq: int | None = None
        self.notes: dict[str, str] = {}

    async def send(self, message: OutboundMessage, progress: Progress = no_progress) -> None:
        for reply in message.replies:
            self._print(reply.text)
            if reply.image_png is not None:
                path = self._save(reply.image_png, f"chart-{message.outbox_id}.png")
                self._print(self.notes.get("image", "[image] {path}").format(path=path))
            if reply.document is not None:
                path = self._save(reply.document, reply.document_name or "document")
                self._print(self.notes.get("document", "[file] {path}").format(path=path))
            if reply.choices:
                self.choices = reply.choices
                self.question_seq = reply.question_seq
                for number, choice in enumerate(reply.choices, start=1):
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
        """A typed line: a choice number or label becomes that choice, else text."""
        text = line.strip()
        choice = None
        if text.isdecimal() and len(text) < 6 and 1 <= int(text) <= len(self.choices):
            choice = self.choices[int(text) - 1].id
        else:
            choice = next(
                (c.id for c in self.choices if c.label.strip().casefold() == text.casefold()),
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
