"""Reminder and nudge tables: the nudges that are due, and what each person's
nudges have led to so far.

A nudge is a database row before it is anything else, so a restart or a
second instance neither loses nor repeats one. The unique key (person, kind,
slot) makes it impossible to plan the same nudge twice; `slot` is the local
date and time of the person's reminder slot, e.g. "2026-12-08T07:30".
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models.core import NEVER_REUSED
from storage.timeutil import utcnow

# Nudge.status values. A planned row ends as exactly one of the other three.
PLANNED, SENT, SKIPPED, CANCELLED = "planned", "sent", "skipped", "cancelled"


class Nudge(SQLModel, table=True):
    """One nudge of one kind for one person in one reminder slot.

    `skipped` means it was due but could not go in time (downtime past the
    grace period, quiet hours); `cancelled` means it no longer applied when it
    fell due (the person paused, came back, finished, changed their time).
    `reason` says which. `outbox_id` is the outbox row that carried it; several
    nudges of one slot share one row, so LINE spends one push on them.
    """

    __table_args__ = (
        UniqueConstraint("person_id", "kind", "slot", name="uq_nudge_person_kind_slot"),
        Index("ix_nudge_due", "status", "due_at", "id"),
        Index("ix_nudge_person_status", "person_id", "status"),
        NEVER_REUSED,
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id")
    kind: str = Field(max_length=16)
    slot: str = Field(max_length=32)
    due_at: datetime
    status: str = Field(default=PLANNED, max_length=16)
    reason: str | None = Field(default=None, max_length=32)
    claimed_by: str | None = Field(default=None, max_length=64)
    outbox_id: int | None = Field(default=None)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None


class NudgeCounter(SQLModel, table=True):
    """What one person's nudges have led to, and the per-person claim lock.

    Senders lock this row (FOR UPDATE SKIP LOCKED on PostgreSQL) before they
    touch the person's due nudges, so all nudges of one slot are claimed by one
    sender and leave as one message. `ignored` counts the "inactive" nudges
    sent since the person last wrote; writing resets it. `last_due_at` is the
    slot of the last message sent: nothing for that slot or an earlier one is
    ever sent again. `goals_nudged` maps goal id to the target date that was
    announced, so a goal is announced once per date.

    The reminder ladder: `unanswered` counts the slot messages sent in a row
    with no answer (writing resets it, and `ladder_told_at`); at
    `Thresholds.max_unanswered` reminders pause themselves and the person is
    told once, at `ladder_told_at`. `last_checkin_due` is the slot of the last
    check-in sent (its follow-up belongs to it); `comeback_for` is the plan
    day whose miss was last answered with a come-back nudge.
    """

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    ignored: int = Field(default=0)
    last_due_at: datetime | None = None
    last_sent_at: datetime | None = None
    last_inactive_due: datetime | None = None
    last_stuck_due: datetime | None = None
    goals_nudged: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    answered: int = Field(default=0)
    last_answered_at: datetime | None = None
    unanswered: int = Field(default=0)
    last_checkin_due: datetime | None = None
    ladder_told_at: datetime | None = None
    comeback_for: date | None = None


class PushMonth(SQLModel, table=True):
    """One platform's monthly pushes as the nudge planner last saw them, for /summary.

    `quota` and `used` are the platform's own figures (used: as last read, plus
    the pushes sent since), `planned` the nudge messages planned and not yet
    sent this month for people on that platform, `dropped` how many planned
    messages this month were set aside (status "skipped", reason "quota")
    because the month's pushes would not stretch to them.
    """

    channel: str = Field(max_length=16, primary_key=True)
    month: str = Field(max_length=7, primary_key=True)  # local month, "2026-12"
    quota: int
    used: int
    planned: int = Field(default=0)
    dropped: int = Field(default=0)
    updated_at: datetime = Field(default_factory=utcnow)


class BestHourCount(SQLModel, table=True):
    """One person's check-ins at one candidate hour (handlers.reminders.best_hour):
    answered within the window, and not. The agency's sums are the prior."""

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    at: time = Field(primary_key=True)
    successes: int = Field(default=0)
    failures: int = Field(default=0)


class BestHourDay(SQLModel, table=True):
    """The hour the coach chose for one person and local day, and how it went.

    `at` None is "not today". `notice`: that day's message tells the person
    their reminders moved to `at` (`told` once one did). `due_at` is the slot
    a message was sent for; `answered_at` the person's first message after it;
    `settled` once it was added to the person's `BestHourCount`.
    """

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    day: date = Field(primary_key=True)
    at: time | None = None
    reason: str = Field(default="", max_length=16)
    notice: bool = Field(default=False)
    told: bool = Field(default=False)
    due_at: datetime | None = None
    answered_at: datetime | None = None
    settled: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow)
