"""The foundation tables: who people are, where they are in the journey, what
they answered, and what the bot still has to send.

Naming: `*_at` columns are aware UTC datetimes; `skill_id` and `group_id` are
the short ids from content/ (never labels), so renaming a skill in content/
does not orphan stored answers.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.timeutil import utcnow

# On SQLite, the tables whose ids outlive their rows elsewhere (in audit rows,
# counters, dedupe and retry keys, published file ids) use AUTOINCREMENT, so an
# id is never handed out twice: a newcomer never inherits an erased person's
# id, nor a new message the retry key or files of a deleted one. (PostgreSQL
# sequences never go back anyway.)
NEVER_REUSED = {"sqlite_autoincrement": True}


def plain_person_id() -> dict[str, Any]:
    """Column options marking a person's id kept without a foreign key (a record that
    must outlive the person, e.g. the audit log's actor): erasure empties it."""
    return {"info": {"plain_person_id": True}}


class Agency(SQLModel, table=True):
    """A government agency (a "suan ratchakan") that runs the coach for its staff."""

    __table_args__ = (UniqueConstraint("join_code", name="uq_agency_join_code"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=255)
    timezone: str = Field(default="Asia/Bangkok", max_length=64)
    nudge_on_weekends: bool = Field(default=False)
    nudge_on_holidays: bool = Field(default=False)
    # Joining needs this code (typed, or in an invite link); an `open_join` agency
    # (the demo) is also offered as a button.
    join_code: str | None = Field(default=None, max_length=16)
    open_join: bool = Field(default=False)
    # Members of the working group (not only its head) may export the report.
    members_may_export: bool = Field(default=False)
    # The number the next person to join gets (people are numbered per agency).
    next_number: int = Field(default=1)
    # The hold-out group: the share of people (in percent) who get only the check-ins
    # they chose, and the agency's own seed that draws them (storage.arms).
    holdout_percent: int = Field(default=10)
    holdout_seed: str = Field(default_factory=lambda: secrets.token_hex(16), max_length=64)
    # When the weekly summary goes to the working-group chat (local; Monday is 0);
    # None: the deployment's DLCOACH_WEEKLY_DAY / DLCOACH_WEEKLY_TIME.
    weekly_day: int | None = None
    weekly_time: time | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Unit(SQLModel, table=True):
    """A division or office inside an agency, used to group reports."""

    __table_args__ = (UniqueConstraint("agency_id", "name", name="uq_unit_agency_name"),)

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    name: str = Field(max_length=255)


class Person(SQLModel, table=True):
    """A member of staff who consented to use the coach."""

    __table_args__ = (
        UniqueConstraint("agency_id", "agency_number", name="uq_person_agency_number"),
        NEVER_REUSED,
    )

    id: int | None = Field(default=None, primary_key=True)
    display_name: str | None = Field(default=None, max_length=200)
    agency_id: int | None = Field(default=None, foreign_key="agency.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    personnel_group: str | None = Field(default=None, max_length=16)
    # The person's number in their agency's reports and admin commands (#12).
    agency_number: int | None = None
    # In the agency's hold-out group (drawn on joining it, see storage.arms).
    holdout: bool = Field(default=False)
    lang: str = Field(default="th", max_length=8)
    timezone: str = Field(default="Asia/Bangkok", max_length=64)
    consent_version: str = Field(max_length=32)
    consent_at: datetime = Field(default_factory=utcnow)
    onboarded_at: datetime | None = None
    last_active_at: datetime = Field(default_factory=utcnow)
    created_at: datetime = Field(default_factory=utcnow)


class StaffMember(SQLModel, table=True):
    """One line of an agency's staff list (imported): everyone the development is for.

    `person_id` is set when the member of staff joins with their staff code, so
    the working group sees who has not joined yet.
    """

    __table_args__ = (
        UniqueConstraint("agency_id", "staff_code", name="uq_staffmember_agency_code"),
    )

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    personnel_group: str | None = Field(default=None, max_length=16)
    staff_code: str | None = Field(default=None, max_length=64)
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class Headcount(SQLModel, table=True):
    """How many staff an agency has in one unit and personnel group (the denominator
    of coverage). Entered by hand, or counted from an imported staff list."""

    __table_args__ = (
        UniqueConstraint("agency_id", "unit_id", "personnel_group", name="uq_headcount_cell"),
    )

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    personnel_group: str | None = Field(default=None, max_length=16)
    count: int = Field(ge=0)


class ChannelAccount(SQLModel, table=True):
    """One person's identity on one platform (LINE user id, Telegram user id, console name)."""

    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_account_channel_external"),
        NEVER_REUSED,
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    channel: str = Field(max_length=16)
    external_id: str = Field(max_length=128)
    chat_id: str = Field(max_length=128)
    active: bool = Field(default=True)
    inactive_reason: str | None = Field(default=None, max_length=64)
    last_incoming_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    # The menu last sent to this chat (`handlers.messages.Menu.key`): a turn that
    # ends elsewhere sends the new one with its reply. NULL: none sent yet, or the
    # platform's menus were replaced since (`dlcoach line richmenu`).
    menu: str | None = Field(default=None, max_length=48)


class ConsentRefusal(SQLModel, table=True):
    """The only trace kept of someone who declined the privacy notice: a hash, not the id."""

    id: int | None = Field(default=None, primary_key=True)
    account_hash: str = Field(max_length=64, index=True)
    refused_at: datetime = Field(default_factory=utcnow)


class ConversationState(SQLModel, table=True):
    """Where a person is in the conversation.

    `flow_version` is the version of the state table that wrote the row; when
    the flow changes, rows written by an older flow are re-entered at the start
    of their step instead of breaking. `question_seq` numbers every question
    asked, so a tap on an old button can be recognised as stale.
    """

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    flow_version: int = Field(default=1)
    state: str = Field(max_length=64)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    question_seq: int = Field(default=0)
    updated_at: datetime = Field(default_factory=utcnow)


class Journey(SQLModel, table=True):
    """One round of the six steps; a person may do several rounds."""

    __table_args__ = (
        UniqueConstraint("person_id", "round_no", name="uq_journey_person_round"),
        NEVER_REUSED,
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    round_no: int = Field(default=1)
    current_step: int = Field(default=1)
    step_started_at: datetime = Field(default_factory=utcnow)
    started_at: datetime = Field(default_factory=utcnow)
    completed_at: datetime | None = None


class JourneyStep(SQLModel, table=True):
    """When a round entered each step, so a report for a past period shows the step
    a person was at then, not the one they are at today."""

    __table_args__ = (UniqueConstraint("journey_id", "step", name="uq_journeystep_journey_step"),)

    id: int | None = Field(default=None, primary_key=True)
    journey_id: int = Field(foreign_key="journey.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    step: int
    entered_at: datetime = Field(default_factory=utcnow)


class StepEntry(SQLModel, table=True):
    """Something a person wrote in a step: a reason, a plan, a learning log,
    evidence of applying a skill at work, a reflection or a tip to share."""

    __table_args__ = (Index("ix_stepentry_journey_kind", "journey_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    journey_id: int = Field(foreign_key="journey.id")
    person_id: int = Field(foreign_key="person.id", index=True)
    step: int
    kind: str = Field(max_length=32)
    skill_id: str | None = Field(default=None, max_length=32)
    text: str = Field(default="")
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class Goal(SQLModel, table=True):
    """A focus skill chosen in step 3, with its target level, date and learning approach."""

    __table_args__ = (UniqueConstraint("journey_id", "skill_id", name="uq_goal_journey_skill"),)

    id: int | None = Field(default=None, primary_key=True)
    journey_id: int = Field(foreign_key="journey.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    skill_id: str = Field(max_length=32)
    start_level: int
    target_level: int | None = None
    target_date: date | None = None
    approach: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=utcnow)


class Assessment(SQLModel, table=True):
    """A self-assessment of the nine skills: `pre` in step 2, `post` in step 6."""

    __table_args__ = (UniqueConstraint("journey_id", "kind", name="uq_assessment_journey_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    journey_id: int = Field(foreign_key="journey.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    kind: str = Field(max_length=8)
    started_at: datetime = Field(default_factory=utcnow)
    completed_at: datetime | None = None


class AssessmentAnswer(SQLModel, table=True):
    """One self-rating of one skill; answering again replaces it."""

    __table_args__ = (
        UniqueConstraint("assessment_id", "skill_id", name="uq_answer_assessment_skill"),
    )

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", index=True)
    skill_id: str = Field(max_length=32)
    level: int
    answered_at: datetime = Field(default_factory=utcnow)


class ReminderPreference(SQLModel, table=True):
    """When a person wants to be nudged, in their own local time."""

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    enabled: bool = Field(default=True)
    time_local: time | None = None
    weekdays: str = Field(default="0,1,2,3,4", max_length=32)
    paused_until: date | None = None
    quiet_start: time | None = None
    quiet_end: time | None = None
    updated_at: datetime = Field(default_factory=utcnow)
    # False: the person let the coach choose (handlers.reminders.best_hour), and
    # `time_local` is the hour it settled on so far
    time_fixed: bool = Field(default=True)


class OutboxMessage(SQLModel, table=True):
    """A message waiting to be delivered, written in the same transaction as
    the state it reports. `payload` holds platform-neutral replies; the
    channel renders them at send time."""

    __table_args__ = (
        Index("ix_outbox_due", "status", "channel", "next_attempt_at"),
        # The claim's "oldest unsent row of this chat" check; without it the
        # claim slows down with the square of the rows waiting (e.g. a wave of
        # nudges). chat_id first, so it never replaces ix_outbox_due for the claim.
        Index("ix_outbox_chat", "chat_id", "channel", "id"),
        NEVER_REUSED,
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=128)
    account_id: int | None = Field(default=None, foreign_key="channelaccount.id", index=True)
    kind: str = Field(default="reply", max_length=16)
    payload: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    reply_token: str | None = Field(default=None, max_length=255)
    reply_token_expires_at: datetime | None = None
    dedupe_key: str | None = Field(default=None, max_length=128, unique=True)
    status: str = Field(default="pending", max_length=16)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow)
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = None
    last_error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    # How many platform messages of this row already went out (a row can need
    # several), so a retry resumes after them instead of repeating them.
    sent_parts: int | None = None


class ProcessedEvent(SQLModel, table=True):
    """Platform event ids already handled, so a redelivery is handled once."""

    channel: str = Field(max_length=16, primary_key=True)
    event_id: str = Field(max_length=128, primary_key=True)
    processed_at: datetime = Field(default_factory=utcnow)


class AuditLog(SQLModel, table=True):
    """Who did or saw what with personal data (PDPA audit trail)."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor_person_id: int | None = Field(
        default=None, index=True, sa_column_kwargs=plain_person_id()
    )
    action: str = Field(max_length=64)
    subject_person_id: int | None = Field(
        default=None, index=True, sa_column_kwargs=plain_person_id()
    )
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
