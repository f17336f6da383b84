"""The working group in chat: invite codes, role checks on every admin command,
one agency per admin, and the figures of /summary against a hand-computed fixture."""

from __future__ import annotations

import pytest
from sqlmodel import select

from handlers.admin.access import hash_code
from handlers.admin.commands import ADMIN_COMMANDS
from handlers.reports.figures import exemplary, summarise
from storage.accounts import account_hash
from storage.models import AdminRole, InviteCode
from storage.reports import person_rows
from tests.drivers.chat import Person, t
from tests.drivers.journey import onboard
from tests.drivers.working_group import (
    SKILLS,
    THIS_YEAR,
    Staff,
    audit_rows,
    fixture_agency,
    in_group,
    invite,
    make_admin,
    make_agency,
    numbers,
    outbox_rows,
    person_id,
    place,
)

# ---- invite codes ----------------------------------------------------------------------


async def test_invite_code_is_stored_hashed_and_works_once(app, channel):
    code = await invite(app, "member")
    async with app.sessions() as session:
        [stored] = (await session.exec(select(InviteCode))).all()
    assert stored.code_hash == hash_code(code) and code.replace("-", "") not in stored.code_hash
    first = Person(app, channel)
    await onboard(first)
    replies = await first.say(f"/admin {code.lower()}")  # typed in lower case: still the code
    role = t(app, "admin.role_member")
    assert replies[0].text == t(
        app, "admin.invite_ok", role=role, agency=t(app, "demo.agency_name")
    )
    second = Person(app, channel)
    await onboard(second)
    replies = await second.say(f"/admin {code}")
    assert replies[0].text == t(app, "admin.invite_invalid")
    async with app.sessions() as session:
        roles = (await session.exec(select(AdminRole))).all()
    assert [(r.person_id, r.role) for r in roles] == [(await person_id(app, first), "member")]
    assert len(await audit_rows(app, "admin.invite_redeemed")) == 1
    [failed] = await audit_rows(app, "admin.invite_failed")
    assert failed.actor_person_id == await person_id(app, second)
    assert failed.detail["account"] == account_hash("test", second.user)


async def test_wrong_invite_codes_are_limited_per_agency_too(app, channel):
    guessers = [Person(app, channel) for _ in range(5)]
    for guesser in guessers:
        await onboard(guesser)  # all in the demo agency
        for _ in range(4):  # each stays under the per-account limit
            replies = await guesser.say("/admin AAAAA-AAAAA")
            assert replies[0].text == t(app, "admin.invite_invalid")
    # 20 wrong codes from one agency in an hour: even a right one now waits
    code = await invite(app, "member")
    late = Person(app, channel)
    await onboard(late)
    replies = await late.say(f"/admin {code}")
    assert replies[0].text == t(app, "admin.invite_wait")


async def test_invite_code_expires(app, channel, clock):
    code = await invite(app, "head", hours=2)
    person = Person(app, channel)
    await onboard(person)
    clock.advance(hours=2, seconds=1)
    replies = await person.say(f"/admin {code}")
    assert replies[0].text == t(app, "admin.invite_invalid")
    fresh = await invite(app, "head", hours=2)
    clock.advance(hours=1, minutes=59)
    replies = await person.say(f"/admin {fresh}")
    assert replies[0].text.startswith("✅")


async def test_guessing_codes_is_slowed_down(app, channel):
    person = Person(app, channel)
    await onboard(person)
    for _ in range(5):
        await person.say("/admin AAAAA-AAAAA")
    code = await invite(app)
    replies = await person.say(f"/admin {code}")
    assert replies[0].text == t(app, "admin.invite_wait")
    assert len(await audit_rows(app, "admin.invite_blocked")) == 1


async def test_admin_without_code_shows_the_commands_or_how_to_join(app, channel):
    staff = Person(app, channel)
    await onboard(staff)
    replies = await staff.say("/admin")
    assert replies[0].text == t(app, "admin.how_to_join")
    admin = await make_admin(app, channel, "member")
    replies = await admin.say("/admin")
    assert "/summary" in replies[0].text and t(app, "admin.role_member") in replies[0].text


# ---- role checks --------------------------------------------------------------------------

ARGUMENTS = {"feedback": "1 hello", "broadcast": "hello", "inactive": "7", "notify": "on"}


@pytest.mark.parametrize("name", sorted(ADMIN_COMMANDS))
async def test_every_admin_command_refuses_a_non_admin(app, channel, name):
    person = Person(app, channel)
    await onboard(person)
    replies = await person.say(f"/{name} {ARGUMENTS.get(name, '')}".strip())
    assert replies[0].text == t(app, "admin.refused")
    [refused] = await audit_rows(app, "admin.refused")
    assert refused.actor_person_id == await person_id(app, person)
    assert refused.detail["command"] == name and refused.detail["reason"] == "not_admin"
    # and the person is brought back to the question they were on
    assert replies[-1].question_seq is not None


@pytest.mark.parametrize("name", sorted(n for n, c in ADMIN_COMMANDS.items() if c.role == "head"))
async def test_head_only_commands_refuse_a_member(app, channel, name):
    member = await make_admin(app, channel, "member")
    replies = await member.say(f"/{name} {ARGUMENTS.get(name, '')}".strip())
    assert replies[0].text == t(app, "admin.head_only")
    [refused] = await audit_rows(app, "admin.refused")
    assert refused.detail == {
        "command": name,
        "reason": "needs_head",
        "channel": "test",
        "chat_type": "private",
    }


@pytest.mark.parametrize("name", ["bindgroup", "notify"])
async def test_group_commands_refuse_strangers_without_any_consent_flow(app, channel, name):
    replies = await in_group(app, channel, "stranger-1", f"/{name} on")
    assert [r.text for r in replies] == [t(app, "admin.refused")]
    async with app.sessions() as session:
        from storage.models import Person as PersonModel

        assert (await session.exec(select(PersonModel))).all() == []
    [refused] = await audit_rows(app, "admin.refused")
    assert refused.actor_person_id is None and refused.detail["chat_type"] == "group"
    assert "stranger-1" not in str(refused.detail)


async def test_a_removed_role_takes_effect_at_once(app, channel):
    admin = await make_admin(app, channel, "head")
    assert (await admin.say("/summary"))[0].text.startswith("📊")
    async with app.sessions() as session, session.begin():
        role = (await session.exec(select(AdminRole))).one()
        await session.delete(role)
    assert (await admin.say("/summary"))[0].text == t(app, "admin.refused")


# ---- one agency per admin -------------------------------------------------------------------


async def test_an_admin_sees_only_their_own_agency(app, channel):
    await make_agency(app, "OTHER", "กรมอื่น", ["กองอื่น"])
    [outsider] = await place(
        app,
        "OTHER",
        [Staff("คนนอก ต่างกรม", "กองอื่น", "g3", 2, idle_days=30, pre={"computer": 1})],
    )
    admin = await make_admin(app, channel, "head")
    summary = (await admin.say("/summary"))[0].text
    assert t(app, "admin.card_footer", enrolled=1, completed=0, percent=0) in summary or (
        "ลงทะเบียน 1 คน" in summary
    )
    assert "คนนอก" not in summary and "กองอื่น" not in summary
    inactive = (await admin.say("/inactive 1"))[0].text
    assert "คนนอก" not in inactive
    # Numbers are per agency: the outsider's number means someone else here, and a
    # number nobody has here reaches no one anywhere.
    replies = await admin.say("/feedback 77 สวัสดี")
    assert replies[0].text == t(app, "admin.person_unknown", number=77)
    assert len(await audit_rows(app, "admin.feedback_unknown")) == 1
    await admin.say("/feedback 1 สวัสดี")
    assert [r for r in await outbox_rows(app) if r.chat_id == f"p{outsider}"] == []
    exported = next(r for r in await admin.say("/export") if r.document)
    assert b"OTHER" not in exported.document


# ---- the figures, against a fixture computed by hand -------------------------------------------


async def test_summary_figures_match_the_hand_computed_fixture(app):
    ids = await fixture_agency(app)
    async with app.sessions() as session:
        rows = await person_rows(session, "FIX", THIS_YEAR, SKILLS)
    content = app.content
    figures = summarise(
        rows, [s.id for s in content.skills], [g.id for g in content.groups.personnel_groups]
    )
    total = figures.total
    assert (total.enrolled, total.completed, total.percent_completed) == (5, 2, 40)
    assert total.by_step == {1: 1, 2: 0, 3: 1, 4: 0, 5: 0, 6: 1}
    units = {k: (v.enrolled, v.completed, v.in_progress) for k, v in figures.by_unit.items()}
    assert units == {"กองสอง": (2, 1, 1), "กองหนึ่ง": (2, 1, 1), "": (1, 0, 1)}
    assert list(figures.by_unit) == ["กองสอง", "กองหนึ่ง", ""]  # by name, no unit last
    groups = {k: (v.enrolled, v.completed) for k, v in figures.by_group.items()}
    assert groups == {
        "g1": (0, 0),
        "g2": (0, 0),
        "g3": (2, 2),
        "g4": (2, 0),
        "g5": (1, 0),
        "g6": (0, 0),
    }
    skills = {s.skill_id: s for s in figures.skills}
    computer = skills["computer"]
    # pre by everyone who rated it: (2 + 1 + 3 + 2) / 4; paired: ก 2→4, ค 3→4, จ 2→2
    assert (computer.rated_pre, computer.average_pre, computer.paired) == (4, 2.0, 3)
    assert computer.paired_pre == pytest.approx(7 / 3) and computer.paired_post == pytest.approx(
        10 / 3
    )
    assert computer.growth == pytest.approx(1.0)
    internet = skills["internet"]  # ก 3→3, ค 2→4
    assert (internet.rated_pre, internet.paired, internet.growth) == (2, 2, pytest.approx(1.0))
    assert (internet.paired_pre, internet.paired_post) == (2.5, 3.5)
    assert skills["word"].paired == 0 and skills["word"].growth is None
    # exemplary: ค grew 1 + 2 = 3 levels, ก 2 + 0 = 2; จ has not completed
    assert [(row.person_id, shown.growth.total) for row, shown in exemplary(rows)] == [
        (ids[2], 3),
        (ids[0], 2),
    ]


async def test_summary_command_shows_the_fixture_figures_and_charts(app, channel):
    await fixture_agency(app)
    admin = await make_admin(app, channel, "member", agency_code="FIX")
    replies = await admin.say("/summary")
    text = replies[0].text
    assert "กรมตัวอย่าง" in text
    assert "ลงทะเบียน 5 คน · ทำครบ 6 ขั้น 2 คน (40%)" in text
    assert t(app, "admin.step_count", step=3, count=1) in text
    assert (
        t(
            app,
            "admin.tally_line",
            name="กองหนึ่ง",
            enrolled="2 คน",
            completed=1,
            percent=50,
            in_progress=1,
        )
        in text
    )
    assert (
        t(
            app,
            "admin.tally_line",
            name=t(app, "admin.no_unit"),
            enrolled="1 คน",
            completed=0,
            percent=0,
            in_progress=1,
        )
        in text
    )
    assert t(
        app, "admin.growth_line", skill="คอมพิวเตอร์", pre="2.3", post="3.3", growth="+1.0", count=3
    ) in text or ("2.3 → 3.3 (+1.0)" in text)
    assert replies[0].card is not None
    charts = [r.image_png for r in replies if r.image_png]
    assert len(charts) == 2  # people per step, and before/after per skill
    [seen] = await audit_rows(app, "admin.summary")
    assert seen.detail == {"agency": "FIX", "people": 5}
    last_year = (await admin.say("/summary 2569"))[0].text  # everyone began in 2570
    assert "ปีงบประมาณ 2569" in last_year and "ลงทะเบียน 0 คน" in last_year
    assert (await admin.say("/summary soon"))[0].text == t(app, "admin.year_invalid")


async def test_thai_command_names_work(app, channel):
    await fixture_agency(app)
    admin = await make_admin(app, channel, "member", agency_code="FIX")
    replies = await admin.say("/สรุป")
    assert replies[0].text.startswith("📊")
    replies = await admin.say("/ยังไม่คืบหน้า")
    assert replies[0].text.startswith("⏳") and "ข" in replies[0].text


async def test_invites_summary_and_nudges_on_both_databases(database_url, clock):
    """The same commands on SQLite and PostgreSQL (UPDATE ... RETURNING, the report queries)."""
    from tests.drivers.chat import RecordingChannel, make_app

    app = await make_app(database_url, clock)
    channel = RecordingChannel()
    app.add_channel(channel)
    try:
        ids = await fixture_agency(app)
        admin = await make_admin(app, channel, "head", agency_code="FIX")
        code = await invite(app, "member", "FIX")
        other = Person(app, channel)
        await onboard(other)
        assert (await other.say(f"/admin {code}"))[0].text.startswith("✅")
        assert (await admin.say(f"/admin {code}"))[0].text == t(app, "admin.invite_invalid")
        text = (await admin.say("/summary"))[0].text
        assert "ลงทะเบียน 5 คน · ทำครบ 6 ขั้น 2 คน (40%)" in text
        await admin.say("/nudge")
        replies = await admin.tap("ng:send")
        assert replies[0].text == t(app, "admin.nudged", sent=1, lagging=1, days=14, skipped=0)
        [number] = await numbers(app, [ids[1]])
        assert f"#{number} ข" in (await admin.say("/inactive"))[0].text
    finally:
        await app.close()
