"""People placed straight in the database (fast), for tests that need many of them
at known steps: the one writer of their rows.

`Staff` (tests/drivers/working_group.py) and `Profile` (tests/drivers/reminders.py)
describe people the way those tests think of them; both become a `Seeded` here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.flow import FLOW_VERSION
from handlers.journey import STEP_ENTRY
from handlers.onboarding import CONSENT_VERSION
from storage.agencies import take_number
from storage.models import (
    Assessment,
    AssessmentAnswer,
    ChannelAccount,
    ConversationState,
    Goal,
    Journey,
    JourneyStep,
    NudgeCounter,
    Person,
    ReminderPreference,
    StepEntry,
)


@dataclass(frozen=True)
class Reminders:
    """A reminder preference row."""

    enabled: bool = True
    time_local: time | None = time(7, 30)
    weekdays: str = "0,1,2,3,4"
    paused_until: date | None = None
    quiet: tuple[time, time] | None = None


@dataclass(frozen=True)
class Seeded:
    """Everything about one placed person, with every moment given."""

    name: str
    agency_id: int
    joined_at: datetime  # consent and onboarding
    last_active_at: datetime
    step: int
    step_started_at: datetime
    started_at: datetime
    unit_id: int | None = None
    group: str | None = "g3"
    tz: str = "Asia/Bangkok"
    onboarded: bool = True
    completed: bool = False
    pre: dict[str, int] = field(default_factory=dict)
    post: dict[str, int] = field(default_factory=dict)
    plan: str | None = None
    plan_cue: str | None = None  # a plan cue id of content/groups.yaml, e.g. "friday"
    plan_weekday: int | None = None  # that cue's weekday, as step 3 stores it
    goals: tuple[tuple[str, date], ...] = ()
    channel: str = "test"
    user: str | None = None  # the platform id; None: "p<person id>"
    account_active: bool = True
    reminders: Reminders | None = None
    ignored: int = 0
    last_inactive_due: datetime | None = None
    holdout: bool = False


async def add_person(session: AsyncSession, spec: Seeded) -> int:
    """Write the person, their account, journey, state, ratings, plan, goals,
    reminder settings and nudge counter; returns the person's id."""
    person = Person(
        display_name=spec.name,
        agency_id=spec.agency_id,
        agency_number=await take_number(session, spec.agency_id),
        holdout=spec.holdout,
        unit_id=spec.unit_id,
        personnel_group=spec.group,
        lang="th",
        timezone=spec.tz,
        consent_version=CONSENT_VERSION,
        consent_at=spec.joined_at,
        onboarded_at=spec.joined_at if spec.onboarded else None,
        last_active_at=spec.last_active_at,
        created_at=spec.joined_at,
    )
    session.add(person)
    await session.flush()
    user = spec.user or f"p{person.id}"
    session.add(
        ChannelAccount(
            person_id=person.id,
            channel=spec.channel,
            external_id=user,
            chat_id=user,
            active=spec.account_active,
            last_incoming_at=spec.last_active_at,
            created_at=spec.joined_at,
        )
    )
    journey = Journey(
        person_id=person.id,
        round_no=1,
        current_step=spec.step,
        started_at=spec.started_at,
        step_started_at=spec.step_started_at,
        completed_at=spec.step_started_at if spec.completed else None,
    )
    session.add(journey)
    await session.flush()
    session.add(
        JourneyStep(journey_id=journey.id, person_id=person.id, step=1, entered_at=spec.started_at)
    )
    if spec.step > 1:
        session.add(
            JourneyStep(
                journey_id=journey.id,
                person_id=person.id,
                step=spec.step,
                entered_at=spec.step_started_at,
            )
        )
    state = "done" if spec.completed else STEP_ENTRY[spec.step]
    session.add(
        ConversationState(person_id=person.id, flow_version=FLOW_VERSION, state=state, data={})
    )
    for kind, levels in (("pre", spec.pre), ("post", spec.post)):
        await _ratings(session, journey, kind, levels, spec.step_started_at)
    before = spec.step_started_at - timedelta(days=1)
    for skill, target in spec.goals:
        session.add(
            Goal(
                journey_id=journey.id,
                person_id=person.id,
                skill_id=skill,
                start_level=2,
                target_level=4,
                target_date=target,
                approach="onthejob",
                created_at=before,
            )
        )
    if spec.plan:
        session.add(
            StepEntry(
                journey_id=journey.id,
                person_id=person.id,
                step=3,
                kind="plan",
                text=spec.plan,
                data={"cue": spec.plan_cue, "weekday": spec.plan_weekday} if spec.plan_cue else {},
                created_at=before,
            )
        )
    if spec.reminders is not None:
        prefs = spec.reminders
        session.add(
            ReminderPreference(
                person_id=person.id,
                enabled=prefs.enabled,
                time_local=prefs.time_local,
                weekdays=prefs.weekdays,
                paused_until=prefs.paused_until,
                quiet_start=prefs.quiet[0] if prefs.quiet else None,
                quiet_end=prefs.quiet[1] if prefs.quiet else None,
            )
        )
    if spec.ignored or spec.last_inactive_due:
        session.add(
            NudgeCounter(
                person_id=person.id,
                ignored=spec.ignored,
                last_inactive_due=spec.last_inactive_due,
                last_sent_at=spec.last_inactive_due,
                last_due_at=spec.last_inactive_due,
            )
        )
    await session.flush()
    return person.id  # type: ignore[return-value]


async def _ratings(
    session: AsyncSession, journey: Journey, kind: str, levels: dict[str, int], at: datetime
) -> None:
    if not levels:
        return
    assessment = Assessment(
        journey_id=journey.id, person_id=journey.person_id, kind=kind, started_at=at
    )
    session.add(assessment)
    await session.flush()
    for skill, level in levels.items():
        session.add(
            AssessmentAnswer(
                assessment_id=assessment.id, skill_id=skill, level=level, answered_at=at
            )
        )
