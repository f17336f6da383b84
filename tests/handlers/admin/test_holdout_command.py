"""/holdout: the head sets the share kept back (in private or in the group chat);
people who join are drawn by the agency's seed on joining, and keep their group."""

from __future__ import annotations

from sqlmodel import select

from storage.arms import MAX_PERCENT, in_holdout
from storage.db import transaction
from storage.models import Agency
from storage.models import Person as PersonRow
from tests.drivers.chat import Person, t
from tests.drivers.journey import onboard
from tests.drivers.working_group import audit_rows, in_group, make_admin


async def demo(app) -> Agency:
    async with app.sessions() as session:
        return (await session.exec(select(Agency).where(Agency.code == "DEMO"))).one()


async def test_the_head_sets_the_share_and_sees_the_group(app, channel):
    head = await make_admin(app, channel, "head")
    replies = await head.say("/holdout")
    assert "10%" in replies[0].text and t(app, "holdout.status").split("{")[0] in replies[0].text
    replies = await head.say("/holdout 25%")
    assert replies[0].text == t(app, "holdout.set", percent=25)
    assert (await demo(app)).holdout_percent == 25
    [audited] = await audit_rows(app, "admin.holdout")
    assert audited.detail["percent"] == 25
    replies = await head.say(f"/holdout {MAX_PERCENT + 1}")
    assert replies[0].text == t(app, "holdout.usage", max=MAX_PERCENT)
    assert (await demo(app)).holdout_percent == 25
    replies = await in_group(app, channel, head.user, "/holdout 0")
    assert replies[0].text == t(app, "holdout.set", percent=0)
    assert (await demo(app)).holdout_percent == 0
    replies = await head.say("/กลุ่มเปรียบเทียบ 5")  # the Thai name works too
    assert replies[0].text == t(app, "holdout.set", percent=5)


async def test_a_member_cannot_change_the_share(app, channel):
    member = await make_admin(app, channel, "member")
    replies = await member.say("/holdout 30")
    assert replies[0].text == t(app, "admin.head_only")
    assert (await demo(app)).holdout_percent == 10


async def test_joining_draws_the_person_by_the_agency_seed(app, channel):
    async with transaction(app.sessions) as session:
        agency = (await session.exec(select(Agency).where(Agency.code == "DEMO"))).one()
        agency.holdout_percent = 50
        session.add(agency)
    people = [Person(app, channel) for _ in range(12)]
    for person in people:
        await onboard(person)
    agency = await demo(app)
    async with app.sessions() as session:
        joined = (
            await session.exec(select(PersonRow).where(PersonRow.agency_id == agency.id))
        ).all()
    assert len(joined) >= 12
    assert [p.holdout for p in joined] == [
        in_holdout(agency.holdout_seed, p.id, 50) for p in joined
    ]
