"""A report row carries the ratings and goals of its own two rounds and of no other:
the round completed within the period (whose ratings stand for the person) and the
round open at its end, never an earlier round or another agency's. Checked on both
databases, since the ratings are read for every round under way during the period
and sorted out by round."""

from __future__ import annotations

from datetime import UTC, date, datetime

from storage.db import make_engine, make_sessionmaker, transaction
from storage.migrate import upgrade
from storage.models import Agency, Assessment, AssessmentAnswer, Goal, Journey, Person
from storage.reports import Period, person_rows

PERIOD = Period(datetime(2026, 10, 1, tzinfo=UTC), datetime(2027, 10, 1, tzinfo=UTC))
SKILLS = ["s1", "s2"]


def at(year: int, month: int) -> datetime:
    return datetime(year, month, 15, 3, 0, tzinfo=UTC)


async def _round(
    session,  # noqa: ANN001
    person_id: int,
    round_no: int,
    started: datetime,
    completed: datetime | None,
    pre: list[int],
    post: list[int] | None,
    goal_skill: str,
) -> None:
    journey = Journey(
        person_id=person_id,
        round_no=round_no,
        current_step=6 if completed else 3,
        started_at=started,
        completed_at=completed,
    )
    session.add(journey)
    await session.flush()
    for kind, levels in (("pre", pre), ("post", post)):
        if levels is None:
            continue
        assessment = Assessment(journey_id=journey.id, person_id=person_id, kind=kind)
        session.add(assessment)
        await session.flush()
        for skill, level in zip(SKILLS, levels, strict=True):
            session.add(AssessmentAnswer(assessment_id=assessment.id, skill_id=skill, level=level))
    session.add(
        Goal(
            journey_id=journey.id,
            person_id=person_id,
            skill_id=goal_skill,
            start_level=pre[0],
            target_level=pre[0] + 1,
            target_date=date(2027, 6, 1),
        )
    )


async def test_each_row_has_the_ratings_and_goals_of_its_own_rounds(database_url):
    engine = make_engine(database_url)
    await upgrade(engine)
    sessions = make_sessionmaker(engine)
    async with transaction(sessions) as session:
        agency, other = Agency(code="A", name="A"), Agency(code="B", name="B")
        session.add_all([agency, other])
        await session.flush()
        three = Person(agency_id=agency.id, consent_version="v", onboarded_at=at(2025, 1))
        one = Person(agency_id=agency.id, consent_version="v", onboarded_at=at(2026, 11))
        stranger = Person(agency_id=other.id, consent_version="v", onboarded_at=at(2026, 11))
        session.add_all([three, one, stranger])
        await session.flush()
        # Finished before the period: in nobody's row.
        await _round(session, three.id, 1, at(2025, 2), at(2026, 8), [1, 1], [2, 2], "old")
        # Completed within the period: its ratings stand for the person.
        await _round(session, three.id, 2, at(2026, 9), at(2027, 3), [2, 3], [4, 5], "done")
        # Open at the period's end.
        await _round(session, three.id, 3, at(2027, 4), None, [4, 4], None, "open")
        await _round(session, one.id, 1, at(2026, 12), None, [3, 2], None, "one")
        await _round(session, stranger.id, 1, at(2026, 12), None, [5, 5], None, "stranger")
        three_id, one_id = three.id, one.id
    async with sessions() as session:
        rows = {row.person_id: row for row in await person_rows(session, "A", PERIOD, SKILLS)}
    await engine.dispose()

    assert set(rows) == {three_id, one_id}
    row = rows[three_id]
    assert row.completed is not None and row.completed.round_no == 2
    assert (row.pre, row.post) == ({"s1": 2, "s2": 3}, {"s1": 4, "s2": 5})
    assert [g.skill_id for g in row.completed.goals] == ["done"]
    assert row.current.round_no == 3 and row.is_open
    assert (row.current.pre, row.current.post) == ({"s1": 4, "s2": 4}, {})
    assert [g.skill_id for g in row.current.goals] == ["open"]
    only = rows[one_id]
    assert only.completed is None and (only.pre, only.post) == ({"s1": 3, "s2": 2}, {})
    assert [g.skill_id for g in only.current.goals] == ["one"]
