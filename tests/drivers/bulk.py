"""Many people written at once with multi-row inserts: an agency of thousands placed in
seconds, for the scale guards and the report benchmark.

Each person gets what a report reads: an account, one round with its step log,
before ratings of every skill from step 3 on, goals from step 4, learning entries
from step 4, evidence from step 5, and after ratings when the round is complete.
Who is where comes from a seeded random generator, so a size always gives the
same agency.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, text, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from content.loader import load_content
from handlers.onboarding import CONSENT_VERSION
from storage.db import transaction
from storage.models import (
    Agency,
    Assessment,
    AssessmentAnswer,
    ChannelAccount,
    Goal,
    Journey,
    JourneyStep,
    Person,
    StepEntry,
    Unit,
)

_CONTENT = load_content()
SKILLS = tuple(skill.id for skill in _CONTENT.skills)
GROUPS = tuple(group.id for group in _CONTENT.groups.personnel_groups)
APPROACHES = tuple(approach.id for approach in _CONTENT.groups.approaches)
UNITS = ("กองกลาง", "กองแผนงาน", "กองการเจ้าหน้าที่", "ศูนย์เทคโนโลยีสารสนเทศ", "กองคลัง")
CHUNK = 5_000  # people written per round of inserts


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _ids(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert `rows` into `model`'s table; their new ids, in the rows' order."""
    if not rows:
        return []
    result = await session.exec(
        insert(model).returning(model.id, sort_by_parameter_order=True),  # type: ignore[arg-type]
        params=rows,
    )
    return list(result.scalars().all())


async def _put(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.exec(insert(model), params=rows)  # type: ignore[arg-type]


async def seed_agency(
    sessions: async_sessionmaker[AsyncSession],
    code: str,
    people: int,
    start: datetime,
    *,
    seed: int = 7,
    channel: str = "test",
) -> int:
    """An agency `code` (made if missing, with five units) and `people` onboarded staff
    whose rounds began within the 50 days after `start`; returns the agency's id."""
    rng = random.Random(seed)
    async with transaction(sessions) as session:
        agency_id, units = await _agency(session, code)
        first = (await session.exec(select(Agency.next_number).where(Agency.id == agency_id))).one()
        await session.exec(
            update(Agency).where(Agency.id == agency_id).values(next_number=first + people)  # type: ignore[arg-type]
        )
    numbers = list(range(first, first + people))
    for part in _chunks(numbers, CHUNK):
        async with transaction(sessions) as session:
            await _seed_part(session, rng, agency_id, units, part, start, channel)
    async with transaction(sessions) as session:
        if session.bind.dialect.name == "postgresql":
            # What autovacuum does after a bulk load: without statistics the planner
            # takes the new tables for empty and picks nested loops over them.
            await session.exec(text("ANALYZE"))  # type: ignore[call-overload]
    return agency_id


async def _agency(session: AsyncSession, code: str) -> tuple[int, list[int]]:
    found = (await session.exec(select(Agency).where(Agency.code == code))).first()
    if found is None:
        found = Agency(code=code, name=f"กรม {code}")
        session.add(found)
        await session.flush()
        for name in UNITS:
            session.add(Unit(agency_id=found.id, name=name))
        await session.flush()
    units = (await session.exec(select(Unit.id).where(Unit.agency_id == found.id))).all()
    return found.id, list(units)  # type: ignore[return-value]


def _person(rng: random.Random, number: int, units: list[int], start: datetime) -> dict[str, Any]:
    joined = start + timedelta(days=rng.randrange(50), minutes=rng.randrange(600))
    return {
        "display_name": f"บุคลากร {number}",
        "agency_number": number,
        "unit_id": rng.choice(units) if units and rng.random() < 0.9 else None,
        "personnel_group": rng.choice(GROUPS),
        "lang": "th",
        "timezone": "Asia/Bangkok",
        "consent_version": CONSENT_VERSION,
        "consent_at": joined,
        "onboarded_at": joined,
        "last_active_at": joined + timedelta(days=3),
        "created_at": joined,
    }


async def _seed_part(
    session: AsyncSession,
    rng: random.Random,
    agency_id: int,
    units: list[int],
    numbers: Sequence[int],
    start: datetime,
    channel: str,
) -> None:
    """One chunk of people and everything that hangs off them."""
    people = [_person(rng, n, units, start) | {"agency_id": agency_id} for n in numbers]
    person_ids = await _ids(session, Person, people)
    await _put(
        session,
        ChannelAccount,
        [
            {
                "person_id": pid,
                "channel": channel,
                "external_id": f"bulk{pid}",
                "chat_id": f"bulk{pid}",
                "active": True,
                "last_incoming_at": row["last_active_at"],
                "created_at": row["created_at"],
            }
            for pid, row in zip(person_ids, people, strict=True)
        ],
    )
    steps = [rng.choices((1, 2, 3, 4, 5, 6), (10, 10, 15, 25, 15, 25))[0] for _ in person_ids]
    done = [step == 6 and rng.random() < 0.8 for step in steps]
    journeys = [
        {
            "person_id": pid,
            "round_no": 1,
            "current_step": step,
            "started_at": row["created_at"],
            "step_started_at": row["created_at"] + timedelta(days=step),
            "completed_at": row["created_at"] + timedelta(days=7) if complete else None,
        }
        for pid, row, step, complete in zip(person_ids, people, steps, done, strict=True)
    ]
    journey_ids = await _ids(session, Journey, journeys)
    log: list[dict[str, Any]] = []
    pre: list[dict[str, Any]] = []
    post: list[dict[str, Any]] = []
    goals: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    for jid, row, step, complete in zip(journey_ids, journeys, steps, done, strict=True):
        pid, began = row["person_id"], row["started_at"]
        log.extend(
            {
                "journey_id": jid,
                "person_id": pid,
                "step": s,
                "entered_at": began + timedelta(days=s),
            }
            for s in range(1, step + 1)
        )
        if step >= 3:
            pre.append({"journey_id": jid, "person_id": pid, "kind": "pre", "started_at": began})
        if complete:
            post.append({"journey_id": jid, "person_id": pid, "kind": "post", "started_at": began})
        if step >= 4:
            goals.extend(_goals(rng, jid, pid, began))
            entries.extend(_entries(rng, jid, pid, began, step))
    await _put(session, JourneyStep, log)
    await _answers(session, rng, pre, low=1)
    await _answers(session, rng, post, low=2)
    await _put(session, Goal, goals)
    await _put(session, StepEntry, entries)


async def _answers(
    session: AsyncSession, rng: random.Random, assessments: list[dict[str, Any]], low: int
) -> None:
    """The assessments and a rating of every skill in each."""
    ids = await _ids(session, Assessment, assessments)
    await _put(
        session,
        AssessmentAnswer,
        [
            {
                "assessment_id": aid,
                "skill_id": skill,
                "level": rng.randint(low, 5),
                "answered_at": row["started_at"],
            }
            for aid, row in zip(ids, assessments, strict=True)
            for skill in SKILLS
        ],
    )


def _goals(rng: random.Random, jid: int, pid: int, began: datetime) -> list[dict[str, Any]]:
    return [
        {
            "journey_id": jid,
            "person_id": pid,
            "skill_id": skill,
            "start_level": 2,
            "target_level": 4,
            "target_date": date(2027, 3, 31),
            "approach": rng.choice(APPROACHES),
            "created_at": began + timedelta(days=3),
        }
        for skill in rng.sample(SKILLS, 2)
    ]


def _entries(
    rng: random.Random, jid: int, pid: int, began: datetime, step: int
) -> list[dict[str, Any]]:
    learning = [
        {
            "journey_id": jid,
            "person_id": pid,
            "step": 4,
            "kind": "learning",
            "skill_id": rng.choice(SKILLS),
            "text": "ฝึกใช้ตารางคำนวณ",
            "data": {"minutes": rng.choice((15, 30, 60, 90))},
            "created_at": began + timedelta(days=4, hours=i),
        }
        for i in range(2)
    ]
    if step < 5:
        return learning
    evidence = {
        "journey_id": jid,
        "person_id": pid,
        "step": 5,
        "kind": "evidence",
        "skill_id": rng.choice(SKILLS),
        "text": "สรุปยอดงบประมาณรายเดือน",
        "data": {"task": "สรุปยอดงบประมาณรายเดือน", "tool": "Excel", "result": "เร็วขึ้น"},
        "created_at": began + timedelta(days=5),
    }
    return [*learning, evidence]
