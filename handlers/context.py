"""What a handler works with: the person, their state, the content, the clock,
a database session, and the replies it is building."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from content.loader import Content
from handlers.messages import Card, Choice, Incoming, Reply
from storage.models import ChannelAccount, ConversationState, Journey, Person


@dataclass(frozen=True)
class Answer:
    """A person's answer to the current question, normalised.

    `choice` is the id of the tapped (or typed-as-label) choice, else None;
    `text` is what they typed, stripped.
    """

    text: str
    choice: str | None = None


@dataclass
class Ctx:
    """One turn of the conversation (a unit of work for the handlers)."""

    session: AsyncSession
    content: Content
    now: datetime
    incoming: Incoming
    lang: str
    person: Person | None = None
    account: ChannelAccount | None = None
    conv: ConversationState | None = None
    replies: list[Reply] = field(default_factory=list)
    # The deployment's settings (bot.config.Settings) when the app passes them:
    # typed loosely because handlers never import the bot package.
    settings: Any = None

    # ---- saying things -------------------------------------------------

    def t(self, key: str, **values: object) -> str:
        """A message from content/ in the person's language."""
        return self.content.t(key, self.lang, **values)

    def say(self, text: str, *, card: Card | None = None, image_png: bytes | None = None) -> None:
        """Add a message without buttons."""
        self.replies.append(Reply(text=text, card=card, image_png=image_png))

    def send_document(self, text: str, document: bytes, name: str) -> None:
        self.replies.append(Reply(text=text, document=document, document_name=name))

    def ask(self, text: str, choices: list[Choice] | tuple[Choice, ...] = (), **kw: Any) -> None:
        """Ask a question: numbers it, remembers its choices for label matching."""
        seq = None
        if self.conv is not None:
            self.conv.question_seq += 1
            seq = self.conv.question_seq
            data = dict(self.conv.data)
            data["_choices"] = [[c.id, c.label] for c in choices]
            self.conv.data = data
        self.replies.append(Reply(text=text, choices=tuple(choices), question_seq=seq, **kw))

    # ---- conversation data ----------------------------------------------

    @property
    def data(self) -> dict[str, Any]:
        """The current state's scratch data (read-only view; use `set_data`)."""
        assert self.conv is not None
        return self.conv.data

    def set_data(self, **values: Any) -> None:
        assert self.conv is not None
        data = dict(self.conv.data)
        data.update(values)
        self.conv.data = data

    def last_choices(self) -> list[Choice]:
        if self.conv is None:
            return []
        return [Choice(cid, label) for cid, label in self.conv.data.get("_choices", [])]

    # ---- the journey ------------------------------------------------------

    async def journey(self) -> Journey:
        """The person's current (latest) journey round."""
        assert self.person is not None
        result = await self.session.exec(
            select(Journey)
            .where(Journey.person_id == self.person.id)
            .order_by(Journey.round_no.desc())  # type: ignore[attr-defined]
            .limit(1)
        )
        journey = result.first()
        if journey is None:
            journey = Journey(
                person_id=self.person.id,
                round_no=1,
                current_step=1,
                started_at=self.now,
                step_started_at=self.now,
            )
            self.session.add(journey)
            await self.session.flush()
        return journey
