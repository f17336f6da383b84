"""Each person's part of their agency's figures, kept so that a summary reads
sums instead of working out every person's rounds again (storage.facts).

A person's facts are worked out for one report period (`period_end`, the
moment it ends; `ReportTotals.period_start` its start), from the same queries
the reports read, when the period is first kept. The database itself marks a
person's facts out of date: triggers on the tables the figures come from (the
person, their rounds, steps, assessments and answers; migration 0017) add the
person to `reportstale` whenever one of those rows is written or deleted, or
the person is added, so no code path can change a figure and forget to say so.
The minute's job, or the next summary, works everyone listed out again.

Their sums per agency and period are kept too (`ReportTotals`), and moved by
the difference each of those makes, so a summary reads one row, however many
people the agency has.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel


class ReportStale(SQLModel, table=True):
    """A person whose facts are out of date (written by the database's triggers)."""

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")


class ReportFact(SQLModel, table=True):
    """One person in one report period: their cell of the tally (when they are in the
    period's report) and their first round in the nudged-versus-hold-out comparison."""

    __table_args__ = (Index("ix_reportfact_agency_period", "agency_id", "period_end"),)

    person_id: int = Field(foreign_key="person.id", primary_key=True, ondelete="CASCADE")
    period_end: datetime = Field(primary_key=True)
    agency_id: int = Field(foreign_key="agency.id")
    unit_id: int | None = None
    personnel_group: str = Field(default="", max_length=16)
    reported: bool  # in the period's report (a round under way during it)
    step: int | None = None  # the step the current round had reached by the end
    is_open: bool = False
    completed: bool = False  # a round completed within the period
    joined: bool = False  # had joined by the end (counted in the comparison)
    holdout: bool = False
    # The first step of the person's first round not finished by the end: 7 when the
    # round was completed, 0 when it had not begun, None when there is no round.
    beyond: int | None = None


class ReportFactSkill(SQLModel, table=True):
    """One before rating of a person's reported round, with the same round's after
    rating of that skill when there is one."""

    __table_args__ = (Index("ix_reportfactskill_agency_period", "agency_id", "period_end"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    period_end: datetime
    agency_id: int = Field(foreign_key="agency.id")
    skill_id: str = Field(max_length=32)
    pre: int
    post: int | None = None


class ReportFactSpan(SQLModel, table=True):
    """How long a person's first round took over one step it had finished by the end
    of the period, in tenths of a day."""

    __table_args__ = (Index("ix_reportfactspan_agency_period", "agency_id", "period_end"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    period_end: datetime
    agency_id: int = Field(foreign_key="agency.id")
    holdout: bool
    step: int
    tenths: int


class ReportTotals(SQLModel, table=True):
    """The sums of an agency's facts for one report period (storage.facts.Totals).
    A period without a row has not been worked out yet: its first summary does."""

    agency_id: int = Field(foreign_key="agency.id", primary_key=True)
    period_end: datetime = Field(primary_key=True)
    period_start: datetime
    figures: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
