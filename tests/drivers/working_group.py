"""Helpers for the working-group tests: admins made through real invite codes,
people placed at known steps with known ratings, group-chat messages, and
reading what was pushed to someone else."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlmodel import select

from bot.app import App
from handlers.admin.access import create_invite
from handlers.messages import Incoming, Reply
from handlers.reports.period import fiscal_period
from storage.db import transaction
from storage.models import (
    Agency,
    AuditLog,
    ChannelAccount,
    OutboxMessage,
    Unit,
)
from storage.models import Person as PersonModel
from tests.drivers.bulk import SKILLS as SKILLS  # the skill ids, for reading report rows
from tests.drivers.chat import Person, RecordingChannel
from tests.drivers.journey import onboard
from tests.drivers.seed import Seeded, add_person

FISCAL_YEAR = 2570  # the fake clock's (START, 23 November 2026) fiscal year
THIS_YEAR = fiscal_period(FISCAL_YEAR, "Asia/Bangkok")


async def invite(app: App, role: str = "head", agency_code: str = "DEMO", hours: int = 72) -> str:
    """A fresh invite code, made the way `dlcoach admin invite` makes it."""
    async with transaction(app.sessions) as session:
        agency = (await session.exec(select(Agency).where(Agency.code == agency_code))).first()
        assert agency is not None
        return await create_invite(session, agency, role, app.clock.now(), timedelta(hours=hours))


async def make_admin(
    app: App,
    channel: RecordingChannel,
    role: str = "head",
    agency_code: str = "DEMO",
    name: str = "หัวหน้าคณะทำงาน",
) -> Person:
    """An onboarded person who redeemed an invite code with /admin CODE."""
    person = Person(app, channel)
    await onboard(person, name=name)
    code = await invite(app, role, agency_code)
    await person.say(f"/admin {code}")
    return person


async def person_id(app: App, person: Person) -> int:
    async with app.sessions() as session:
        account = (
            await session.exec(
                select(ChannelAccount).where(ChannelAccount.external_id == person.user)
            )
        ).first()
        assert account is not None
        return account.person_id


async def inbox(person: Person) -> list[Reply]:
    """Deliver whatever is queued for the person's chat (pushes from others) and return it."""
    channel = person.channel
    before = len(channel.sent)
    await person.app.delivery.drain([channel.name], chat_ids=[person.user])
    new = [r for m in channel.sent[before:] for r in m.replies]
    person.replies.extend(new)
    return new


async def in_group(
    app: App, channel: RecordingChannel, user: str, text: str, group: str = "G-1"
) -> list[Reply]:
    """One message typed in a group chat, and what the bot said in that group."""
    before = len(channel.sent)
    await app.handle(
        Incoming(
            channel=channel.name,
            user_id=user,
            chat_id=group,
            kind="text",
            text=text,
            event_id=uuid.uuid4().hex,
            chat_type="group",
        )
    )
    await app.delivery.drain([channel.name], chat_ids=[group])
    return [r for m in channel.sent[before:] for r in m.replies]


async def audit_rows(app: App, action: str | None = None) -> list[AuditLog]:
    async with app.sessions() as session:
        query = select(AuditLog).order_by(AuditLog.id)
        if action:
            query = query.where(AuditLog.action == action)
        return list((await session.exec(query)).all())


async def outbox_rows(app: App, kind: str | None = None) -> list[OutboxMessage]:
    async with app.sessions() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind:
            query = query.where(OutboxMessage.kind == kind)
        return list((await session.exec(query)).all())


# ---- people placed directly in the database ------------------------------------------------


@dataclass
class Staff:
    """A person to place: where they are and what they rated."""

    name: str
    unit: str | None
    group: str | None
    step: int
    completed: bool = False
    pre: dict[str, int] = field(default_factory=dict)
    post: dict[str, int] = field(default_factory=dict)
    idle_days: int = 0  # days since they last moved on
    plan: str | None = None
    account_active: bool = True


async def make_agency(app: App, code: str, name: str, units: list[str]) -> int:
    async with transaction(app.sessions) as session:
        agency = Agency(code=code, name=name)
        session.add(agency)
        await session.flush()
        for unit in units:
            session.add(Unit(agency_id=agency.id, name=unit))
        return agency.id  # type: ignore[return-value]


async def place(app: App, agency_code: str, staff: list[Staff]) -> list[int]:
    """Create onboarded people at known steps with known ratings; returns their ids.

    Each gets a "test" channel account whose chat id is `p<id>`.
    """
    now = app.clock.now()
    ids = []
    async with transaction(app.sessions) as session:
        agency = (await session.exec(select(Agency).where(Agency.code == agency_code))).first()
        assert agency is not None
        units = {
            u.name: u.id
            for u in (await session.exec(select(Unit).where(Unit.agency_id == agency.id))).all()
        }
        for item in staff:
            moved = now - timedelta(days=item.idle_days)
            spec = Seeded(
                name=item.name,
                agency_id=agency.id,  # type: ignore[arg-type]
                joined_at=moved - timedelta(days=1),
                last_active_at=moved,
                step=item.step,
                step_started_at=moved,
                started_at=moved - timedelta(days=1),
                unit_id=units[item.unit] if item.unit else None,
                group=item.group,
                completed=item.completed,
                pre=item.pre,
                post=item.post,
                plan=item.plan,
                account_active=item.account_active,
            )
            ids.append(await add_person(session, spec))
    return ids


# The hand-computed fixture of the summary and report tests (agency FIX):
#   enrolled 5, completed 2 (40 %); in progress: step 1: 1, step 3: 1, step 6: 1
#   units: กองหนึ่ง 2 (1 completed), กองสอง 2 (1 completed), no unit 1
#   groups: g3 2 (2 completed), g4 2, g5 1
#   computer: rated before by 4, average 2.0; before and after by 3 (ก 2→4, ค 3→4, จ 2→2)
#   internet: rated before by 2 (average 2.5); before and after by 2 (ก 3→3, ค 2→4)
FIXTURE = [
    Staff(
        "ก", "กองหนึ่ง", "g3", 6, True, {"computer": 2, "internet": 3}, {"computer": 4, "internet": 3}
    ),
    Staff(
        "ข",
        "กองหนึ่ง",
        "g4",
        3,
        False,
        {"computer": 1},
        idle_days=20,
        plan="เมื่อถึงเช้าวันจันทร์ ฉันจะฝึกใช้ Excel",
    ),
    Staff(
        "ค", "กองสอง", "g3", 6, True, {"computer": 3, "internet": 2}, {"computer": 4, "internet": 4}
    ),
    Staff("ง", None, "g5", 1),
    Staff("จ", "กองสอง", "g4", 6, False, {"computer": 2}, {"computer": 2}),
]


async def numbers(app: App, ids: list[int]) -> list[int]:
    """The agency numbers (what admins read as #N) of the people `ids`."""
    async with app.sessions() as session:
        found = await session.exec(
            select(PersonModel.id, PersonModel.agency_number).where(PersonModel.id.in_(ids))
        )
        by_id = dict(found.all())
    return [by_id[i] for i in ids]


async def fixture_agency(app) -> list[int]:
    await make_agency(app, "FIX", "กรมตัวอย่าง", ["กองหนึ่ง", "กองสอง", "กองว่าง"])
    return await place(app, "FIX", FIXTURE)
