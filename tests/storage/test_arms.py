"""The hold-out draw (seeded, stable, about the share asked for), the migration that
draws those already in an agency by the same rule, and the counts of both arms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from storage import facts
from storage.arms import holdout_draw, holdout_tally, in_holdout
from storage.db import make_engine, make_sessionmaker, transaction
from storage.migrate import upgrade
from storage.models import Agency, Journey, JourneyStep, Person
from storage.reports import Period

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def test_the_draw_is_reproducible_and_keeps_about_the_share_back():
    ids = range(1, 20_001)
    held = [i for i in ids if in_holdout("seed-a", i, 10)]
    assert held == [i for i in ids if in_holdout("seed-a", i, 10)]  # the same every time
    assert 0.09 < len(held) / len(ids) < 0.11
    assert held != [i for i in ids if in_holdout("seed-b", i, 10)]  # the seed matters
    assert all(0 <= holdout_draw("seed-a", i) < 1 for i in range(1, 100))
    # a larger share keeps back everyone a smaller one did, and more
    assert set(held) < {i for i in ids if in_holdout("seed-a", i, 20)}
    assert not any(in_holdout("seed-a", i, 0) for i in ids)


async def test_the_migration_draws_everyone_already_in_an_agency_by_the_same_rule(database_url):
    engine = make_engine(database_url)
    await upgrade(engine, "0009_erasure")
    async with engine.begin() as connection:
        for code in ("A", "B"):
            await connection.execute(
                text(
                    "INSERT INTO agency (code, name, timezone, nudge_on_weekends,"
                    " nudge_on_holidays, open_join, members_may_export, next_number, created_at)"
                    f" VALUES ('{code}', '{code}', 'Asia/Bangkok', false, false, false, false, 1,"
                    " CURRENT_TIMESTAMP)"
                )
            )
        for n in range(300):
            await connection.execute(
                text(
                    "INSERT INTO person (display_name, agency_id, lang, timezone, consent_version,"
                    " consent_at, last_active_at, created_at) VALUES (:name, :agency, 'th',"
                    " 'Asia/Bangkok', 'v', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP,"
                    " CURRENT_TIMESTAMP)"
                ),
                {"name": f"p{n}", "agency": 1 + n % 2},
            )
    await upgrade(engine)
    async with engine.connect() as connection:
        agencies = dict(
            (await connection.execute(text("SELECT id, holdout_seed FROM agency"))).all()
        )
        percents = (await connection.execute(text("SELECT holdout_percent FROM agency"))).all()
        people = (await connection.execute(text("SELECT id, agency_id, holdout FROM person"))).all()
    await engine.dispose()
    assert percents == [(10,), (10,)]
    assert len(set(agencies.values())) == 2 and all(len(s) == 32 for s in agencies.values())
    assert [bool(h) for _, _, h in people] == [
        in_holdout(agencies[agency], pid, 10) for pid, agency, _ in people
    ]
    assert 10 <= sum(bool(h) for _, _, h in people) <= 55


async def _person(session, agency_id: int, holdout: bool, onboarded: bool = True) -> int:  # noqa: ANN001
    person = Person(
        agency_id=agency_id,
        consent_version="v",
        holdout=holdout,
        onboarded_at=T0 if onboarded else None,
    )
    session.add(person)
    await session.flush()
    return person.id


async def _round(
    session,  # noqa: ANN001
    person_id: int,
    entered: list[float],
    completed: float | None = None,
    round_no: int = 1,
) -> None:
    journey = Journey(
        person_id=person_id,
        round_no=round_no,
        current_step=len(entered),
        started_at=day(entered[0]),
        completed_at=None if completed is None else day(completed),
    )
    session.add(journey)
    await session.flush()
    for step, at in enumerate(entered, start=1):
        session.add(
            JourneyStep(journey_id=journey.id, person_id=person_id, step=step, entered_at=day(at))
        )


async def test_both_arms_are_counted_from_first_rounds_as_they_stood(database_url):
    engine = make_engine(database_url)
    await upgrade(engine)
    sessions = make_sessionmaker(engine)
    until = day(10)
    async with transaction(sessions) as session:
        agency, other = Agency(code="A", name="A"), Agency(code="B", name="B")
        session.add_all([agency, other])
        await session.flush()
        one = await _person(session, agency.id, False)
        await _round(session, one, [0, 2, 5])  # finished steps 1 (2 days) and 2 (3 days)
        await _round(session, one, [6, 7, 8, 9], round_no=2)  # a later round: not counted
        two = await _person(session, agency.id, False)
        await _round(session, two, [0, 4, 12])  # step 2 finished only after `until`
        await _person(session, agency.id, False)  # joined, no round yet
        held = await _person(session, agency.id, True)
        await _round(session, held, [0, 1, 2, 3, 4, 5], completed=6.5)  # the whole round
        await _person(session, agency.id, True, onboarded=False)  # has not finished joining
        stranger = await _person(session, other.id, True)
        await _round(session, stranger, [0, 1])
        agency_id = agency.id
    period = Period(until - timedelta(days=365), until)
    async with transaction(sessions) as session:
        nudged, holdout = (await facts.refresh(session, agency_id, "A", period)).arm_counts()
        tally = await holdout_tally(session, agency_id)
    await engine.dispose()
    assert nudged.people == 3 and holdout.people == 1
    assert nudged.finished == {1: 2, 2: 1, 3: 0, 4: 0, 5: 0, 6: 0}
    assert holdout.finished == dict.fromkeys(range(1, 7), 1)
    assert nudged.days == {1: {2.0: 1, 4.0: 1}, 2: {3.0: 1}}
    assert holdout.days == {**{s: {1.0: 1} for s in range(1, 6)}, 6: {1.5: 1}}
    assert tally == (4, 1)
