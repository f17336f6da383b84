"""Joining an agency takes its join code (typed, or in an invite link), not a pick
from every agency in the database; people are numbered per agency; a staff list
lets a person claim their line with their staff code."""

from __future__ import annotations

from sqlmodel import select

from jobs.staff_list import StaffLine, import_staff_list
from storage.agencies import shown
from storage.db import transaction
from storage.models import Agency, AuditLog, StaffMember
from storage.models import Person as PersonRow
from tests.drivers.chat import Person, RecordingChannel, make_app, t
from tests.drivers.working_group import make_agency


async def real_agency(app, code: str = "REAL") -> Agency:
    await make_agency(app, code, "กรมของจริง", ["กองแผน", "กองคลัง"])
    async with transaction(app.sessions) as session:
        agency = (await session.exec(select(Agency).where(Agency.code == code))).one()
        agency.join_code = "ABCD2345"
        session.add(agency)
    return agency


async def joined(app, person: Person) -> PersonRow:
    async with app.sessions() as session:
        rows = (await session.exec(select(PersonRow))).all()
    return next(r for r in rows if r.display_name == person.display_name)


async def start(person: Person, name: str) -> list:
    person.display_name = name
    await person.follow()
    await person.tap(1)  # accept
    return await person.tap("name:platform")


async def test_only_open_agencies_are_offered_and_a_join_code_is_needed(app, channel):
    await real_agency(app)
    person = Person(app, channel)
    replies = await start(person, "สมศรี")
    question = replies[-1]
    assert question.text == t(app, "onboard.ask_agency")
    assert [c.label for c in question.choices] == [t(app, "demo.agency_name")]  # not "REAL"
    replies = await person.say("REAL")  # another agency's short code is no join code
    assert replies[0].text == t(app, "onboard.code_unknown")
    replies = await person.say("abcd-2345")  # case and dashes do not matter
    assert replies[0].text == t(app, "onboard.joined", agency="กรมของจริง")
    assert replies[-1].text == t(app, "onboard.ask_unit")
    stored = await joined(app, person)
    assert stored.agency_number == 1  # the first person of this agency, whatever the ids


async def test_people_are_numbered_in_their_own_agency(app, channel):
    await real_agency(app)
    demo_people = [Person(app, channel) for _ in range(2)]
    for index, person in enumerate(demo_people):
        await start(person, f"เดโม{index}")
        await person.tap(1)  # the demo agency
    real = Person(app, channel)
    await start(real, "ของจริง")
    await real.say("ABCD2345")
    assert [(await joined(app, p)).agency_number for p in (*demo_people, real)] == [1, 2, 1]


async def test_an_invite_link_carries_the_code_through_the_privacy_notice(app, channel):
    await real_agency(app)
    person = Person(app, channel, display_name="ลิงก์")
    replies = await person.say("/start ABCD2345")  # what a t.me/...?start=ABCD2345 link sends
    assert replies[-1].text == t(app, "consent.notice", version="พฤศจิกายน 2569")
    async with app.sessions() as session:
        assert (await session.exec(select(PersonRow))).all() == []  # nothing kept before consent
    await person.tap(1)
    replies = await person.tap("name:platform")
    assert replies[0].text == t(app, "onboard.joined", agency="กรมของจริง")
    assert (await joined(app, person)).agency_id is not None


async def test_guessing_codes_is_slowed_down(app, channel):
    person = Person(app, channel)
    await start(person, "เดา")
    for attempt in range(4):
        replies = await person.say(f"WRONG{attempt}X")
        assert replies[0].text == t(app, "onboard.code_unknown")
    replies = await person.say("WRONG9X")
    assert replies[0].text == t(app, "onboard.code_wait")
    async with app.sessions() as session:
        failed = (
            await session.exec(select(AuditLog).where(AuditLog.action == "onboard.code_failed"))
        ).all()
    assert len(failed) == 5


async def test_erasing_and_consenting_again_does_not_reset_the_guess_limit(database_url, clock):
    app = await make_app(database_url, clock)
    channel = RecordingChannel()
    app.add_channel(channel)
    person = Person(app, channel)
    await start(person, "เดา")
    for attempt in range(3):
        await person.say(f"WRONG{attempt}X")
    await person.say("/deleteme")
    replies = await person.tap("erase:yes")
    assert replies[-1].text == t(app, "privacy.erased")
    await start(person, "เดาใหม่")  # the same LINE/Telegram account, a new person here
    replies = await person.say("WRONG3X")
    assert replies[0].text == t(app, "onboard.code_unknown")
    replies = await person.say("WRONG4X")
    assert replies[0].text == t(app, "onboard.code_wait"), "5 wrong codes from one account"
    other = Person(app, channel)  # another account is not held up by it
    await start(other, "คนอื่น")
    replies = await other.say("WRONG5X")
    assert replies[0].text == t(app, "onboard.code_unknown")
    await app.close()


async def test_a_staff_code_claims_a_line_of_the_staff_list(app, channel):
    agency = await real_agency(app)
    async with transaction(app.sessions) as session:
        agency = (await session.exec(select(Agency).where(Agency.code == "REAL"))).one()
        await import_staff_list(
            session,
            agency,
            [
                StaffLine("กองแผน", "g3", "S-001"),
                StaffLine("กองคลัง", "g4", "S-002"),
            ],
        )
    person = Person(app, channel)
    await start(person, "มีรหัส")
    replies = await person.say(shown("ABCD2345"))
    assert replies[-1].text == t(app, "onboard.ask_staff")
    replies = await person.say("S-999")
    assert replies[0].text == t(app, "onboard.staff_unknown")
    replies = await person.say("s002")  # as typed on a phone
    assert replies[-1].text == t(app, "onboard.ask_remind")  # unit and group came from the list
    stored = await joined(app, person)
    assert stored.personnel_group == "g4"
    async with app.sessions() as session:
        lines = {m.staff_code: m.person_id for m in (await session.exec(select(StaffMember))).all()}
    assert lines == {"S001": None, "S002": stored.id}
    other = Person(app, channel)
    await start(other, "รหัสซ้ำ")
    await other.say("ABCD2345")
    replies = await other.say("S002")  # already claimed
    assert replies[0].text == t(app, "onboard.staff_unknown")
    replies = await other.tap("s:skip")
    assert replies[-1].text == t(app, "onboard.ask_unit")


async def test_erasing_a_person_unclaims_their_staff_line_and_keeps_the_list(app, channel):
    async with transaction(app.sessions) as session:
        agency = (await session.exec(select(Agency).where(Agency.code == "DEMO"))).one()
        await import_staff_list(session, agency, [StaffLine(None, "g3", "D-1")])
    person = Person(app, channel)
    await start(person, "ลบได้")
    await person.tap(1)  # the demo agency
    await person.say("D-1")
    await person.say("/deleteme")
    await person.tap("erase:yes")
    async with app.sessions() as session:
        [line] = (await session.exec(select(StaffMember))).all()
        assert (await session.exec(select(PersonRow))).all() == []
    assert line.staff_code == "D1" and line.person_id is None  # free to be claimed again
