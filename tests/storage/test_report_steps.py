"""The step a report gives for a round is the one it had reached by the period's end:
the round's step now when it began that step before the end, else the highest step
the step log has before the end, else (a round from before the log was kept) its
step now. Checked on both databases, and /summary's grouped count agrees."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import delete, select

from handlers.reports.period import fiscal_period
from handlers.reports.summary import agency_figures
from storage.db import transaction, writing
from storage.models import Agency, JourneyStep
from storage.reports import person_rows
from tests.drivers.bulk import SKILLS
from tests.drivers.chat import make_app
from tests.drivers.seed import Seeded, add_person
from tests.drivers.working_group import make_agency

LAST_YEAR = 2570  # 1 October 2026 - 30 September 2027
BEGUN = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)  # in fiscal year 2570
IN_PERIOD = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)  # in fiscal year 2570
AFTER = datetime(2027, 11, 2, 2, 0, tzinfo=UTC)  # in fiscal year 2571


def _spec(agency_id: int, name: str, step: int, step_started_at: datetime) -> Seeded:
    return Seeded(
        name=name,
        agency_id=agency_id,
        joined_at=BEGUN,
        last_active_at=step_started_at,
        step=step,
        step_started_at=step_started_at,
        started_at=BEGUN,
    )


async def test_a_past_period_shows_the_step_reached_by_its_end(database_url, clock):
    clock.set(datetime(2027, 11, 20, 3, 0, tzinfo=UTC))
    app = await make_app(database_url, clock)
    try:
        agency_id = await make_agency(app, "PAST", "กรมทดสอบ", [])
        async with transaction(app.sessions) as session:
            # Step 2 begun in the period and still there: step 2.
            await add_person(session, _spec(agency_id, "stays", 2, IN_PERIOD))
            # Step 4 begun after the period; the log has step 3 in it: step 3.
            moved = await add_person(session, _spec(agency_id, "moved", 4, AFTER))
            journey_id = (
                await session.exec(
                    select(JourneyStep.journey_id).where(JourneyStep.person_id == moved)
                )
            ).first()
            session.add(
                JourneyStep(journey_id=journey_id, person_id=moved, step=3, entered_at=IN_PERIOD)
            )
            # Step 5 begun after the period, and no log at all: its step now, 5.
            unlogged = await add_person(session, _spec(agency_id, "unlogged", 5, AFTER))
            await session.exec(delete(JourneyStep).where(JourneyStep.person_id == unlogged))
        period = fiscal_period(LAST_YEAR, "Asia/Bangkok")
        async with app.read_sessions() as session:
            rows = await person_rows(session, "PAST", period, SKILLS)
            agency = (await session.exec(select(Agency).where(Agency.code == "PAST"))).one()
        figures = await agency_figures(writing(app.sessions), app.content, agency, LAST_YEAR)
        assert {row.name: row.current_step for row in rows} == {
            "stays": 2,
            "moved": 3,
            "unlogged": 5,
        }
        by_step = figures.total.by_step
        assert [by_step[step] for step in (1, 2, 3, 4, 5, 6)] == [0, 1, 1, 0, 1, 0]
    finally:
        await app.close()
