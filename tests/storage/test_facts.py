"""Each person's facts, kept between summaries, stay true: whatever writes the rows
the figures come from (the bot, a dashboard, a hand-written statement), the next
summary gives what counting every person's row gives, and an erased person's
facts go with them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import transaction
from storage.facts import Totals
from storage.models import (
    Agency,
    Assessment,
    AssessmentAnswer,
    Journey,
    JourneyStep,
    Person,
    ReportFact,
    ReportFactSkill,
    ReportStale,
    ReportTotals,
    Unit,
)
from tests.drivers.bulk import seed_agency
from tests.drivers.chat import Person as Chatter
from tests.drivers.chat import RecordingChannel, make_app, t
from tests.drivers.figures import figures_agree
from tests.drivers.journey import onboard, step1, step2

PEOPLE = 240
OCTOBER = datetime(2026, 10, 1, 1, 0, tzinfo=UTC)  # the rounds begin in fiscal year 2570


async def _count(session: AsyncSession, table) -> int:  # noqa: ANN001
    return (await session.exec(select(func.count()).select_from(table))).scalar_one()


async def _some(session: AsyncSession, query, n: int) -> list[int]:  # noqa: ANN001
    return list((await session.exec(query.limit(n))).scalars().all())


async def _rerate(session: AsyncSession, rounds: int, level: int) -> None:
    """Every before rating of the first `rounds` rounds becomes `level`."""
    first = select(Assessment.id).where(Assessment.kind == "pre").order_by(Assessment.id)
    rated = await _some(session, first, rounds)
    update_ = update(AssessmentAnswer).where(AssessmentAnswer.assessment_id.in_(rated))
    await session.exec(update_.values(level=level))


async def test_the_figures_follow_rows_written_behind_the_bots_back(database_url, clock):
    app = await make_app(database_url, clock)
    await seed_agency(app.sessions, "DEMO", PEOPLE, OCTOBER)
    before = await figures_agree(app)
    async with app.read_sessions() as session:
        assert await _count(session, ReportStale) == 0
    now = clock.now()
    async with transaction(app.sessions) as session:
        demo = (await session.exec(select(Agency).where(Agency.code == "DEMO"))).scalars().one()
        in_demo = select(Person.id).where(Person.agency_id == demo.id)
        await _rerate(session, 20, 5)  # every before rating of twenty rounds becomes 5
        # An after rating taken away.
        [post] = await _some(session, select(Assessment.id).where(Assessment.kind != "pre"), 1)
        await session.exec(delete(AssessmentAnswer).where(AssessmentAnswer.assessment_id == post))
        # Rounds moved on a step, with their step log.
        moving = (
            await session.exec(
                select(Journey.id, Journey.person_id, Journey.current_step)
                .where(Journey.completed_at.is_(None), Journey.current_step < 6)
                .where(Journey.person_id.in_(in_demo))
                .order_by(Journey.id)
                .limit(15)
            )
        ).all()
        assert len(moving) == 15
        for journey_id, person_id, step in moving:
            await session.exec(
                update(Journey)
                .where(Journey.id == journey_id)
                .values(current_step=step + 1, step_started_at=now)
            )
            await session.exec(
                insert(JourneyStep).values(
                    journey_id=journey_id, person_id=person_id, step=step + 1, entered_at=now
                )
            )
        # Rounds completed.
        finishing = await _some(
            session,
            select(Journey.id).where(Journey.completed_at.is_(None), Journey.current_step == 6),
            5,
        )
        await session.exec(
            update(Journey).where(Journey.id.in_(finishing)).values(completed_at=now)
        )
        # People moved to another unit, and a unit renamed.
        units = list(
            (await session.exec(select(Unit.id).where(Unit.agency_id == demo.id))).scalars()
        )
        movers = await _some(session, in_demo.order_by(Person.id.desc()), 25)
        await session.exec(update(Person).where(Person.id.in_(movers)).values(unit_id=units[0]))
        await session.exec(update(Unit).where(Unit.id == units[-1]).values(name="กองที่ตั้งชื่อใหม่"))
        listed = await _count(session, ReportStale)
    # 20 + 1 rated, 15 moved on, up to 5 completed, 25 moved: each person listed once.
    assert 25 <= listed <= 66
    after = await figures_agree(app)
    assert after.skills != before.skills
    assert after.total.by_step != before.total.by_step
    assert "กองที่ตั้งชื่อใหม่" in after.by_unit
    async with app.read_sessions() as session:
        assert await _count(session, ReportStale) == 0
        in_agency = select(func.count()).select_from(Person).where(Person.agency_id == demo.id)
        people = (await session.exec(in_agency)).scalar_one()
        kept = select(func.count()).select_from(ReportFact).where(ReportFact.agency_id == demo.id)
        assert (await session.exec(kept)).scalar_one() == people  # one row each, for the year
    await app.close()


async def test_a_past_year_keeps_the_steps_its_rounds_had_reached(database_url, clock):
    """Rounds that moved on after a kept year ended are worked out again round by
    round (storage.reports.step_then): the year's figures stay those of its end,
    as counting every row says."""
    app = await make_app(database_url, clock)
    # Rounds begun in the last days of fiscal 2568 and the first weeks of 2569.
    await seed_agency(app.sessions, "DEMO", PEOPLE, datetime(2025, 9, 20, 1, 0, tzinfo=UTC))
    before = await figures_agree(app, year=2568)
    end = datetime(2025, 9, 30, 17, 0, tzinfo=UTC)  # 1 October 2025 in Bangkok
    # Open rounds whose step at the end is the one they are at now (entered before it).
    open_then = (
        select(Journey.id, Journey.person_id, Journey.current_step)
        .where(Journey.step_started_at < end, Journey.completed_at.is_(None))
        .where(Journey.current_step < 6)
        .order_by(Journey.id)
    )
    async with transaction(app.sessions) as session:
        moved_since = select(func.count()).where(
            Journey.started_at < end, Journey.step_started_at >= end
        )
        assert (await session.exec(moved_since)).scalar_one() > 0  # the branch is taken
        moving = (await session.exec(open_then.limit(15))).all()
        assert len(moving) >= 5
        for journey_id, person_id, step in moving:
            await session.exec(
                update(Journey)
                .where(Journey.id == journey_id)
                .values(current_step=step + 1, step_started_at=clock.now())
            )
            await session.exec(
                insert(JourneyStep).values(
                    journey_id=journey_id,
                    person_id=person_id,
                    step=step + 1,
                    entered_at=clock.now(),
                )
            )
        assert await _count(session, ReportStale) == len(moving)
    after = await figures_agree(app, year=2568)
    assert after.total == before.total  # the steps as they were when the year ended
    async with app.read_sessions() as session:
        assert await _count(session, ReportStale) == 0
    await app.close()


@pytest.mark.postgres
async def test_a_change_not_committed_during_a_summary_counts_in_the_next(postgres_url, clock):
    """On PostgreSQL a turn may be writing while a summary works facts out: what it
    had not committed then is neither lost nor half-counted."""
    app = await make_app(postgres_url, clock)
    await seed_agency(app.sessions, "DEMO", 60, OCTOBER)
    before = await figures_agree(app)
    async with app.sessions() as writer, writer.begin():
        await _rerate(writer, 1, 5)
        during = await figures_agree(app)  # the change is not committed yet
        assert during.skills == before.skills
    after = await figures_agree(app)  # committed now: counted
    assert after.skills != before.skills
    await app.close()


async def test_an_erased_person_leaves_no_facts(database_url, clock):
    app = await make_app(database_url, clock)
    channel = RecordingChannel()
    app.add_channel(channel)
    leaver = Chatter(app, channel)
    await onboard(leaver)
    for walk in (step1, step2):
        await walk(leaver)
    await figures_agree(app)
    async with app.read_sessions() as session:
        [person_id] = (await session.exec(select(Person.id))).scalars().all()
        assert await _count(session, ReportFactSkill) == 9  # their before ratings
    await leaver.say("/deleteme")
    replies = await leaver.tap("erase:yes")
    assert replies[-1].text == t(app, "privacy.erased")
    async with app.read_sessions() as session:
        for table in (ReportFact, ReportFactSkill, ReportStale):
            assert await _count(session, table) == 0, table.__tablename__
        assert await session.get(Person, person_id) is None
    after = await figures_agree(app)
    assert after.total.enrolled == 0
    await app.close()


async def test_the_minute_job_works_changes_into_the_kept_figures(database_url, clock):
    from bot.scheduler import scheduler_for

    app = await make_app(database_url, clock)
    assert "facts" in {job.id for job in scheduler_for(app).get_jobs()}
    await seed_agency(app.sessions, "DEMO", PEOPLE, OCTOBER)
    # The first tick keeps the agency's current year, before anyone asks for it.
    assert await app.facts.tick() == 0
    async with app.read_sessions() as session:
        assert await _count(session, ReportStale) == 0
        assert await _count(session, ReportFact) == PEOPLE
    before = await figures_agree(app)
    async with transaction(app.sessions) as session:
        await _rerate(session, 30, 1)
    async with app.read_sessions() as session:
        listed = await _count(session, ReportStale)
    assert listed >= 30 if database_url.startswith("postgresql") else listed == 30
    assert await app.facts.tick() == listed
    async with app.read_sessions() as session:
        assert await _count(session, ReportStale) == 0
        kept = (await session.exec(select(ReportTotals.figures))).scalars().one()
    after = await figures_agree(app)  # nothing left to work out: it reads the sums
    assert after.skills != before.skills
    assert {c.skill_id: c.sum_pre for c in Totals.of(kept).skill_cells()} == {
        s.skill_id: round(s.average_pre * s.rated_pre) for s in after.skills if s.rated_pre
    }
    await app.close()


async def test_the_minute_job_leaves_the_list_as_it_was_when_the_database_fails(app, caplog):
    await seed_agency(app.sessions, "DEMO", 20, OCTOBER)
    await app.facts.tick()  # the year is kept
    async with transaction(app.sessions) as session:
        await _rerate(session, 5, 2)
    real = app.facts.sessions

    def broken():  # noqa: ANN202
        raise ConnectionRefusedError("the database is away")

    app.facts.sessions = broken
    assert await app.facts.tick() == 0
    assert "the next tick tries again" in caplog.text
    app.facts.sessions = real
    async with app.read_sessions() as session:
        assert await _count(session, ReportStale) == 5
    assert await app.facts.tick() == 5
    await figures_agree(app)
