"""Load what the reminder rules and texts need about many people at once.

A planner or sender works on hundreds of people per transaction, so every
table is read once per batch (a handful of queries selecting only the columns
needed), never once per person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.reminders.rules import (
    RECALL,
    Facts,
    GoalFact,
    Learned,
    LearnedHour,
    Prefs,
    RecallFacts,
    parse_weekdays,
)
from storage.batches import id_batches
from storage.best_hour import load_days
from storage.models import (
    Agency,
    Goal,
    Journey,
    Nudge,
    NudgeCounter,
    Person,
    ReminderPreference,
    StepEntry,
)
from storage.models.nudges import SENT
from storage.progress import last_progress


@dataclass(frozen=True)
class Story:
    """The person's own words that a nudge quotes: their plan and latest logs."""

    name: str
    lang: str
    plan: str | None
    last_learning: str | None
    last_evidence: str | None
    reason: str | None = None  # why it matters to them (step 1 of the current round)


async def _rows(session: AsyncSession, statement: Any) -> list[Any]:
    return list((await session.exec(statement)).all())


def _prefs(row: Any) -> Prefs | None:
    if row is None:
        return None
    return Prefs(
        enabled=row.enabled,
        time_local=row.time_local,
        weekdays=parse_weekdays(row.weekdays),
        paused_until=row.paused_until,
        quiet_start=row.quiet_start,
        quiet_end=row.quiet_end,
    )


async def _latest_journeys(session: AsyncSession, ids: list[int]) -> dict[int, Any]:
    rows = await _rows(
        session,
        select(
            Journey.id,
            Journey.person_id,
            Journey.current_step,
            Journey.step_started_at,
            Journey.completed_at,
        )
        .where(Journey.person_id.in_(ids))
        .order_by(Journey.person_id, Journey.round_no.desc()),
    )
    latest: dict[int, Any] = {}
    for journey in rows:
        latest.setdefault(journey.person_id, journey)
    return latest


async def _goals(session: AsyncSession, journey_ids: list[int]) -> dict[int, list[GoalFact]]:
    rows = await _rows(
        session,
        select(
            Goal.journey_id,
            Goal.id,
            Goal.skill_id,
            Goal.target_level,
            Goal.target_date,
            Goal.approach,
        )
        .where(Goal.journey_id.in_(journey_ids))
        .order_by(Goal.id),
    )
    goals: dict[int, list[GoalFact]] = {}
    for row in rows:
        goals.setdefault(row.journey_id, []).append(
            GoalFact(row.id, row.skill_id, row.target_level, row.target_date, row.approach)
        )
    return goals


def learned_words(text: str | None, data: dict | None) -> str:
    """What a learning entry says was learned, else the activity it names."""
    learned = str((data or {}).get("learned") or "").strip()
    return learned or (text or "").strip()


async def _recalls(
    session: AsyncSession, ids: list[int], journeys: dict[int, Any]
) -> dict[int, RecallFacts]:
    """Per person: the learning entries of their current round (if it is open) that
    no recall sent so far asked about, newest first, and the last recall's slot."""
    open_rounds = {j.id: pid for pid, j in journeys.items() if j.completed_at is None}
    if not open_rounds:
        return {}
    asked: set[int] = set()
    last_due: dict[int, Any] = {}
    for row in await _rows(
        session,
        select(Nudge.person_id, Nudge.detail, Nudge.due_at).where(
            Nudge.person_id.in_(ids), Nudge.kind == RECALL, Nudge.status == SENT
        ),
    ):
        entry = (row.detail or {}).get("entry")
        if isinstance(entry, int):
            asked.add(entry)
        if row.person_id not in last_due or row.due_at > last_due[row.person_id]:
            last_due[row.person_id] = row.due_at
    entries: dict[int, list[Learned]] = {}
    for row in await _rows(
        session,
        select(
            StepEntry.id,
            StepEntry.journey_id,
            StepEntry.skill_id,
            StepEntry.text,
            StepEntry.data,
            StepEntry.created_at,
        )
        .where(StepEntry.journey_id.in_(list(open_rounds)), StepEntry.kind == "learning")
        .order_by(StepEntry.id.desc()),
    ):
        if row.id in asked:
            continue
        what = learned_words(row.text, row.data)
        if what:  # an entry with no words has nothing to ask about
            entries.setdefault(open_rounds[row.journey_id], []).append(
                Learned(row.id, row.created_at, row.skill_id, what)
            )
    return {
        pid: RecallFacts(tuple(entries.get(pid, ())), last_due.get(pid))
        for pid in set(entries) | set(last_due)
    }


async def load_facts(
    session: AsyncSession, person_ids: Sequence[int], default_tz: str = "Asia/Bangkok"
) -> dict[int, Facts]:
    """Facts for each of `person_ids` that exists (read in batches of ids)."""
    facts: dict[int, Facts] = {}
    for ids in id_batches(person_ids):
        facts.update(await _facts(session, ids, default_tz))
    return facts


async def _facts(session: AsyncSession, ids: list[int], default_tz: str) -> dict[int, Facts]:
    people = await _rows(
        session,
        select(
            Person.id,
            Person.agency_id,
            Person.timezone,
            Person.onboarded_at,
            Person.last_active_at,
            Person.holdout,
        ).where(Person.id.in_(ids)),
    )
    prefs = {
        row.person_id: row
        for row in await _rows(
            session,
            select(
                ReminderPreference.person_id,
                ReminderPreference.enabled,
                ReminderPreference.time_local,
                ReminderPreference.weekdays,
                ReminderPreference.paused_until,
                ReminderPreference.quiet_start,
                ReminderPreference.quiet_end,
            ).where(ReminderPreference.person_id.in_(ids)),
        )
    }
    agency_ids = {p.agency_id for p in people if p.agency_id is not None}
    agencies = {
        row.id: row
        for row in await _rows(
            session,
            select(Agency.id, Agency.nudge_on_weekends, Agency.nudge_on_holidays).where(
                Agency.id.in_(agency_ids)
            ),
        )
    }
    counters = {
        row.person_id: row
        for row in await _rows(
            session,
            select(
                NudgeCounter.person_id,
                NudgeCounter.ignored,
                NudgeCounter.last_due_at,
                NudgeCounter.last_inactive_due,
                NudgeCounter.last_stuck_due,
                NudgeCounter.goals_nudged,
                NudgeCounter.unanswered,
                NudgeCounter.ladder_told_at,
                NudgeCounter.last_checkin_due,
                NudgeCounter.comeback_for,
            ).where(NudgeCounter.person_id.in_(ids)),
        )
    }
    plans = await _plan_days(session, ids)
    journeys = await _latest_journeys(session, ids)
    journey_ids = [j.id for j in journeys.values()]
    progress = await last_progress(session, journey_ids)
    goals = await _goals(session, journey_ids) if journeys else {}
    recalls = await _recalls(session, ids, journeys)
    hours = {
        pid: {d.day: LearnedHour(d.at, d.notice and not d.told) for d in days}
        for pid, days in (await load_days(session, ids)).items()
    }
    facts = {}
    for person in people:
        agency = agencies.get(person.agency_id)
        journey = journeys.get(person.id)
        counter = counters.get(person.id)
        facts[person.id] = Facts(
            person_id=person.id,
            tz=person.timezone or default_tz,
            onboarded=person.onboarded_at is not None,
            last_active_at=person.last_active_at,
            prefs=_prefs(prefs.get(person.id)),
            weekends_ok=bool(agency and agency.nudge_on_weekends),
            holidays_ok=bool(agency and agency.nudge_on_holidays),
            journey_done=journey is not None and journey.completed_at is not None,
            step=journey.current_step if journey else 1,
            progress_at=progress.get(journey.id) if journey else person.onboarded_at,
            goals=tuple(goals.get(journey.id, ())) if journey else (),
            ignored=counter.ignored if counter else 0,
            last_due_at=counter.last_due_at if counter else None,
            last_inactive_due=counter.last_inactive_due if counter else None,
            last_stuck_due=counter.last_stuck_due if counter else None,
            goals_nudged=dict(counter.goals_nudged) if counter else {},
            unanswered=counter.unanswered if counter else 0,
            ladder_told_at=counter.ladder_told_at if counter else None,
            last_checkin_due=counter.last_checkin_due if counter else None,
            plan_weekday=plans[person.id][0] if person.id in plans else None,
            plan_at=plans[person.id][1] if person.id in plans else None,
            comeback_for=counter.comeback_for if counter else None,
            holdout=bool(person.holdout),
            recall=recalls.get(person.id, RecallFacts()),
            hours=hours.get(person.id),
        )
    return facts


async def _plan_days(session: AsyncSession, ids: list[int]) -> dict[int, tuple[int, Any]]:
    """The weekday of each person's newest if-then plan, when its cue has one,
    and when that plan was written."""
    newest = await _rows(
        session,
        select(func.max(StepEntry.id))
        .where(StepEntry.person_id.in_(ids), StepEntry.kind == "plan")
        .group_by(StepEntry.person_id),
    )
    entry_ids = [row[0] for row in newest]
    if not entry_ids:
        return {}
    rows = await _rows(
        session,
        select(StepEntry.person_id, StepEntry.data, StepEntry.created_at).where(
            StepEntry.id.in_(entry_ids)
        ),
    )
    days = {}
    for row in rows:
        weekday = (row.data or {}).get("weekday")
        if isinstance(weekday, int) and 0 <= weekday <= 6:
            days[row.person_id] = (weekday, row.created_at)
    return days


async def _latest_texts(session: AsyncSession, person_ids: list[int], kind: str) -> dict[int, str]:
    """The text of each person's newest entry of `kind` (any round)."""
    newest = await _rows(
        session,
        select(func.max(StepEntry.id))
        .where(StepEntry.person_id.in_(person_ids), StepEntry.kind == kind)
        .group_by(StepEntry.person_id),
    )
    ids = [row[0] for row in newest]
    if not ids:
        return {}
    rows = await _rows(
        session, select(StepEntry.person_id, StepEntry.text).where(StepEntry.id.in_(ids))
    )
    return {row.person_id: row.text for row in rows if row.text}


async def _current_reasons(session: AsyncSession, person_ids: list[int]) -> dict[int, str]:
    """Each person's step-1 reason in their current round only: a new round that
    has not reached it yet has none, rather than last round's words."""
    journeys = await _latest_journeys(session, person_ids)
    if not journeys:
        return {}
    rows = await _rows(
        session,
        select(StepEntry.person_id, StepEntry.text)
        .where(
            StepEntry.journey_id.in_([j.id for j in journeys.values()]),
            StepEntry.kind == "reason",
        )
        .order_by(StepEntry.id),
    )
    return {row.person_id: row.text.strip() for row in rows if row.text and row.text.strip()}


async def load_stories(session: AsyncSession, person_ids: Sequence[int]) -> dict[int, Story]:
    """Each person's name, language, latest if-then plan and logs, and their reason."""
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    people = await _rows(
        session, select(Person.id, Person.display_name, Person.lang).where(Person.id.in_(ids))
    )
    plans = await _latest_texts(session, ids, "plan")
    learning = await _latest_texts(session, ids, "learning")
    evidence = await _latest_texts(session, ids, "evidence")
    reasons = await _current_reasons(session, ids)
    return {
        person.id: Story(
            name=person.display_name or "",
            lang=person.lang,
            plan=plans.get(person.id),
            last_learning=learning.get(person.id),
            last_evidence=evidence.get(person.id),
            reason=reasons.get(person.id),
        )
        for person in people
    }


async def load_plans(session: AsyncSession, person_ids: Sequence[int]) -> dict[int, str]:
    """Each person's latest if-then plan, for those who wrote one (the sentence a
    check-in quotes)."""
    plans: dict[int, str] = {}
    for ids in id_batches(person_ids):
        plans.update(await _latest_texts(session, ids, "plan"))
    return plans
