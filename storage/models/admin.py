"""The working group's tables: who may act for an agency, how they got that
right, where the group talks, and what the group and its staff send each other.

Rows that belong to a person are deleted with the person (ON DELETE CASCADE),
so erasing someone's data never has to know about these tables.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models.core import NEVER_REUSED, plain_person_id
from storage.timeutil import utcnow

ROLE_HEAD = "head"
ROLE_MEMBER = "member"
ROLES = (ROLE_HEAD, ROLE_MEMBER)


class AdminRole(SQLModel, table=True):
    """A person's seat in one agency's working group (one agency per person)."""

    __table_args__ = (UniqueConstraint("person_id", name="uq_adminrole_person"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", ondelete="CASCADE")
    agency_id: int = Field(foreign_key="agency.id", index=True)
    role: str = Field(max_length=16)
    granted_at: datetime = Field(default_factory=utcnow)


class InviteCode(SQLModel, table=True):
    """A one-time code that makes whoever redeems it an admin of `agency_id`.

    Only the SHA-256 of the normalised code is stored: the code itself is
    printed once by `dlcoach admin invite` and never kept.
    """

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True, index=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    role: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None
    # Plain ids, like the audit log's: erasing a person empties it, keeping the record.
    used_by: int | None = Field(default=None, sa_column_kwargs=plain_person_id())


class WorkingGroupChat(SQLModel, table=True):
    """The agency's working-group chat (a LINE or Telegram group), bound with /bindgroup."""

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", unique=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=128)
    lang: str = Field(default="th", max_length=8)
    # a plain id: erasing that admin empties it and keeps the binding
    bound_by: int | None = Field(default=None, sa_column_kwargs=plain_person_id())
    bound_at: datetime = Field(default_factory=utcnow)
    notify_completions: bool = Field(default=False)


IDEA, TIP = "idea", "tip"


class Idea(SQLModel, table=True):
    """What a member of staff sent the working group: an opinion or suggestion (/idea),
    or the tip they shared on completing a round (step 6)."""

    __table_args__ = (NEVER_REUSED,)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    agency_id: int = Field(foreign_key="agency.id", index=True)
    kind: str = Field(default=IDEA, max_length=8)
    text: str
    created_at: datetime = Field(default_factory=utcnow)


class Feedback(SQLModel, table=True):
    """A message between an admin and one person; `reply_to_id` threads the answers."""

    __table_args__ = (NEVER_REUSED,)

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    from_person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    to_person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    reply_to_id: int | None = Field(default=None, foreign_key="feedback.id", ondelete="SET NULL")
    text: str
    created_at: datetime = Field(default_factory=utcnow)


class WeeklyPost(SQLModel, table=True):
    """One weekly summary posted to an agency's chat; the unique key makes it once per week
    even when several instances run the scheduler."""

    __table_args__ = (UniqueConstraint("agency_id", "week", name="uq_weeklypost_agency_week"),)

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    week: str = Field(max_length=10)  # ISO year-week in the agency's time zone, e.g. 2026-W48
    posted_at: datetime = Field(default_factory=utcnow)
    outbox_id: int | None = Field(default=None, foreign_key="outboxmessage.id", ondelete="SET NULL")


class Certificate(SQLModel, table=True):
    """The record-of-completion certificate of one round (issued once per round)."""

    id: int | None = Field(default=None, primary_key=True)
    journey_id: int = Field(foreign_key="journey.id", unique=True, ondelete="CASCADE")
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    issued_at: datetime = Field(default_factory=utcnow)


class Award(SQLModel, table=True):
    """An exemplary-learner certificate, given by the head of the working group to one
    person for one completed round (once per round)."""

    __table_args__ = (UniqueConstraint("journey_id", name="uq_award_journey"),)

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    journey_id: int = Field(foreign_key="journey.id", ondelete="CASCADE")
    # a plain id: erasing that head empties it and keeps the award
    given_by: int | None = Field(default=None, sa_column_kwargs=plain_person_id())
    given_at: datetime = Field(default_factory=utcnow)


class WebSignIn(SQLModel, table=True):
    """A one-time link to the working group's dashboard, sent to an admin in chat (/web).

    Only the SHA-256 of the link's secret is kept, so the table read by anyone
    signs no one in; the link works once, for a few minutes.
    """

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    agency_id: int = Field(foreign_key="agency.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None


class WebSession(SQLModel, table=True):
    """A signed-in browser of an admin: the cookie's secret (hashed) and the
    form token that every form of the session carries (CSRF)."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    agency_id: int = Field(foreign_key="agency.id", index=True)
    form_token: str = Field(max_length=64)
    lang: str = Field(default="th", max_length=8)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
