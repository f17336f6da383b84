"""The agency's settings that only the head of the working group may change (from
the dashboard): on which days reminders may go, when the weekly summary is
posted, and who sits in the working group.

Each change is audited in the same transaction as the change. A seat that is
revoked is gone at once: roles are read from the database on every command and
every page, and the person's dashboard sessions are closed with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.admin.access import Seat
from handlers.context import Ctx
from storage import web_access
from storage.models import AdminRole, Person
from storage.models.admin import ROLE_HEAD, ROLES


@dataclass(frozen=True)
class Member:
    """A seat in the working group, as the settings page lists it."""

    person_id: int
    number: int | None
    name: str
    role: str


async def members(session: AsyncSession, agency_id: int) -> list[Member]:
    """The agency's working group, heads first, then by the agency's numbers."""
    result = await session.exec(
        select(AdminRole, Person)
        .join(Person, Person.id == AdminRole.person_id)
        .where(AdminRole.agency_id == agency_id)
    )
    found = [
        Member(person.id, person.agency_number, person.display_name or "-", role.role)  # type: ignore[arg-type]
        for role, person in result.all()
    ]
    return sorted(found, key=lambda m: (m.role != ROLE_HEAD, m.number or 0, m.person_id))


def reminder_days(ctx: Ctx, seat: Seat, *, weekends: bool, holidays: bool) -> None:
    """May reminders and nudges go on weekends, and on Thai public holidays?"""
    seat.agency.nudge_on_weekends, seat.agency.nudge_on_holidays = weekends, holidays
    ctx.session.add(seat.agency)
    ctx.audit("admin.reminder_days", agency=seat.agency.code, weekends=weekends, holidays=holidays)


def weekly_post(ctx: Ctx, seat: Seat, day: int | None, at: time | None) -> None:
    """The agency's own day (Monday is 0) and local time of the weekly summary; None
    for both goes back to the deployment's."""
    if day is not None and not 0 <= day <= 6:
        raise ValueError("day must be 0 (Monday) to 6 (Sunday)")
    seat.agency.weekly_day, seat.agency.weekly_time = day, at
    ctx.session.add(seat.agency)
    ctx.audit(
        "admin.weekly_post",
        agency=seat.agency.code,
        day=day,
        time=at.strftime("%H:%M") if at else None,
    )


async def _seat_of_member(ctx: Ctx, seat: Seat, person_id: int) -> AdminRole | None:
    """The seat of `person_id` in the same agency as `seat` (None for anyone else)."""
    found = await ctx.session.exec(
        select(AdminRole).where(
            AdminRole.person_id == person_id, AdminRole.agency_id == seat.agency.id
        )
    )
    return found.first()


async def _heads(ctx: Ctx, seat: Seat) -> int:
    found = await ctx.session.exec(
        select(AdminRole.id).where(
            AdminRole.agency_id == seat.agency.id, AdminRole.role == ROLE_HEAD
        )
    )
    return len(found.all())


async def set_role(ctx: Ctx, seat: Seat, person_id: int, role: str) -> str | None:
    """Give a member of the working group another role; returns the content key of
    the reason it was refused (None when done). The last head stays a head, so the
    agency is never left without someone who can change its settings."""
    if role not in ROLES:
        return "dash.role_unknown"
    target = await _seat_of_member(ctx, seat, person_id)
    if target is None:
        return "dash.member_unknown"
    if target.role == ROLE_HEAD and role != ROLE_HEAD and await _heads(ctx, seat) <= 1:
        return "dash.last_head"
    target.role = role
    ctx.session.add(target)
    ctx.audit("admin.role_changed", subject=person_id, agency=seat.agency.code, role=role)
    return None


async def revoke(ctx: Ctx, seat: Seat, person_id: int) -> str | None:
    """Take a member's seat away and sign their browsers out; returns the content key
    of the reason it was refused (None when done). The last head cannot be revoked."""
    target = await _seat_of_member(ctx, seat, person_id)
    if target is None:
        return "dash.member_unknown"
    if target.role == ROLE_HEAD and await _heads(ctx, seat) <= 1:
        return "dash.last_head"
    await ctx.session.delete(target)
    await web_access.close_sessions_of(ctx.session, person_id)
    ctx.audit("admin.revoked", subject=person_id, agency=seat.agency.code, role=target.role)
    return None
