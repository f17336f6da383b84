"""What a handler works with in one turn: the person, their conversation state,
the content, the clock and the deployment's policy, a database session, the
replies it is building and the messages it queues for other people.

The turn that runs the handlers (`bot.turn`) writes the state, the replies and
every queued message in one transaction, so nothing is said that was not done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from content.loader import Content
from handlers.dates import date_text, month_text
from handlers.messages import Card, Choice, Incoming, Render, Reply
from handlers.policy import Policy
from storage import audit
from storage.accounts import Account, account_hash
from storage.models import ChannelAccount, ConversationState, Journey, NudgeCounter, Person
from storage.timeutil import to_local

# The person's latest round, built once: most turns read it, and building a
# statement and working out its cache key is CPU on every call.
_LATEST_JOURNEY = (
    select(Journey)
    .where(Journey.person_id == bindparam("person_id"))
    .order_by(Journey.round_no.desc())  # type: ignore[attr-defined]
    .limit(1)
)


@dataclass(frozen=True)
class Answer:
    """A person's answer to the current question, normalised.

    `choice` is the id of the tapped (or typed-as-label) choice, else None;
    `text` is what they typed, stripped.
    """

    text: str
    choice: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """A message for someone other than the sender (a person's account or a group
    chat), written to the outbox in the turn's own transaction."""

    channel: str
    chat_id: str
    account_id: int | None
    kind: str
    replies: tuple[Reply, ...]
    dedupe_key: str | None = None


@dataclass
class Ctx:
    """One turn of the conversation (the unit of work the handlers see)."""

    session: AsyncSession
    content: Content
    now: datetime
    incoming: Incoming
    lang: str
    policy: Policy = field(default_factory=Policy)
    # Read-only sessions on connections of their own, for the working group's
    # reports: their counts then run side by side and outside this turn's writing
    # transaction (on SQLite a turn holds the one write lock while it runs).
    reads: async_sessionmaker[AsyncSession] | None = None
    person: Person | None = None
    account: ChannelAccount | None = None
    conv: ConversationState | None = None
    # The person's nudge counter as the turn read it (None: they have none), when
    # `nudge_counter_known`: then `presence.arrive` writes it only if it changes.
    nudge_counter: NudgeCounter | None = None
    nudge_counter_known: bool = False
    # When the person last wrote before this message (set by `presence.arrive`):
    # a push sent after it is what their words may answer.
    active_before: datetime | None = None
    # The person's role in a working group ("member", "head"; "" for none) as the
    # turn read it; redeeming an invite in the turn changes it. It decides the menu.
    admin_role: str = ""
    replies: list[Reply] = field(default_factory=list)
    outgoing: list[Outgoing] = field(default_factory=list)
    # People with nudges due now (e.g. from /nudge), for the nudge sender to
    # settle as soon as this turn has committed.
    due_nudges: list[int] = field(default_factory=list)
    # The person's latest round once `journey()` has read it: a turn asks for it
    # several times (a rating asks for it three times) and only this turn can add
    # a round (see `begin_round`).
    _journey: Journey | None = field(default=None, repr=False)

    # ---- saying things -------------------------------------------------

    def t(self, key: str, **values: object) -> str:
        """A message from content/ in the person's language."""
        return self.content.t(key, self.lang, **values)

    def say(
        self,
        text: str,
        *,
        card: Card | None = None,
        image: Render | None = None,
    ) -> None:
        """Add a message without buttons (a chart to draw at delivery, optionally)."""
        self.replies.append(Reply(text=text, card=card, render=image))

    def offer(self, text: str, choices: list[Choice] | tuple[Choice, ...]) -> None:
        """A message with buttons that belong to no question (they work at any time,
        e.g. "open the record" under a list); the current question stays as it is."""
        self.replies.append(Reply(text=text, choices=tuple(choices)))

    def send_document(self, text: str, document: bytes | Render, name: str) -> None:
        """Add a document: ready bytes, or a description drawn at delivery (off the turn)."""
        if isinstance(document, Render):
            self.replies.append(Reply(text=text, render=document, document_name=name))
        else:
            self.replies.append(Reply(text=text, document=document, document_name=name))

    def ask(self, text: str, choices: list[Choice] | tuple[Choice, ...] = (), **kw: Any) -> None:
        """Ask a question: numbers it, remembers its choices for label matching."""
        seq = None
        if self.conv is not None:
            self.conv.question_seq += 1
            seq = self.conv.question_seq
            self.set_data(_choices=[[c.id, c.label] for c in choices])
        self.replies.append(Reply(text=text, choices=tuple(choices), question_seq=seq, **kw))

    # ---- messages to other people and the audit trail --------------------

    def send_to(
        self,
        account: Account,
        replies: list[Reply] | tuple[Reply, ...],
        *,
        kind: str,
        dedupe_key: str | None = None,
    ) -> None:
        """Queue a message to another person's reachable account (see `storage.accounts`)."""
        self.outgoing.append(
            Outgoing(account.channel, account.chat_id, account.id, kind, tuple(replies), dedupe_key)
        )

    def post_to_chat(
        self,
        channel: str,
        chat_id: str,
        replies: list[Reply] | tuple[Reply, ...],
        *,
        kind: str,
        dedupe_key: str | None = None,
    ) -> None:
        """Queue a message to a group chat (no one's account is behind it)."""
        self.outgoing.append(Outgoing(channel, chat_id, None, kind, tuple(replies), dedupe_key))

    def account_key(self) -> str:
        """The one-way key of the chat account writing now: it outlives the person
        (an erased and re-consented person is still the same account)."""
        return account_hash(self.incoming.channel, self.incoming.user_id)

    async def wrong_guess(self, action: str, per_account: int, per_agency: int) -> bool:
        """Record one wrong code (`action`) and say whether guessing must pause:
        `per_account` wrong codes in an hour from this chat account, or
        `per_agency` from everyone in the person's agency."""
        agency_id = self.person.agency_id if self.person is not None else None
        self.audit(action, account=self.account_key(), agency_id=agency_id)
        return await self.guessing_paused(action, per_account, per_agency)

    async def guessing_paused(self, action: str, per_account: int, per_agency: int) -> bool:
        """Whether the hour's wrong codes (`action`) reached either limit."""
        await self.session.flush()
        since = self.now - audit.GUESS_WINDOW
        mine = await audit.count_since(self.session, action, since, account=self.account_key())
        if mine >= per_account:
            return True
        agency_id = self.person.agency_id if self.person is not None else None
        if agency_id is None:
            return False
        theirs = await audit.count_since(self.session, action, since, agency_id=agency_id)
        return theirs >= per_agency

    def audit(self, action: str, subject: int | None = None, **detail: Any) -> None:
        """Record who did or saw what (the PDPA audit trail), in the turn's transaction."""
        actor = self.person.id if self.person is not None else None
        audit.record(self.session, self.now, action, actor=actor, subject=subject, **detail)

    # ---- time and dates ---------------------------------------------------

    def today(self, tz: str | None = None) -> date:
        """Today where the person lives (or in time zone `tz`)."""
        zone = tz or (self.person.timezone if self.person else None) or self.policy.timezone
        return to_local(self.now, zone).date()

    def date_text(self, day: date, *, short: bool = False) -> str:
        """A date as the person reads it: Buddhist Era and Thai month names in Thai,
        Common Era in English; `short` gives dd/mm/yyyy in Thai, "3 Dec 2026" in English."""
        return date_text(self.content, self.lang, day, short=short)

    def month_text(self, day: date) -> str:
        """The month and year of `day` as the person reads them (Thai month, BE year)."""
        return month_text(self.content, self.lang, day)

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

    def clear_scratch(self) -> None:
        """Drop the answers collected so far; keys starting with "_" belong to the engine."""
        assert self.conv is not None
        self.conv.data = {k: v for k, v in self.conv.data.items() if k.startswith("_")}

    def last_choices(self) -> list[Choice]:
        if self.conv is None:
            return []
        return [Choice(cid, label) for cid, label in self.conv.data.get("_choices", [])]

    # ---- the journey ------------------------------------------------------

    async def journey(self) -> Journey:
        """The person's current (latest) journey round, read once per turn."""
        assert self.person is not None
        if self._journey is not None and self._journey.person_id == self.person.id:
            return self._journey
        result = await self.session.exec(_LATEST_JOURNEY, params={"person_id": self.person.id})
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
        self._journey = journey
        return journey

    def begin_round(self, journey: Journey) -> None:
        """`journey` is the person's latest round from now on: just added and
        flushed, or as the turn's first read found it."""
        self._journey = journey
