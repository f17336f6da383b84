"""Agencies: joining one by its code, and numbering the people who join.

A join code is shared by the working group (typed, or in an invite link), so it
is stored as it is, in its canonical form (no dashes, upper case), and can be
replaced at any time. People are numbered per agency in the order they join, so the
numbers an admin reads are small and say nothing about other agencies.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.codes import new_code, normalise_code
from storage.models import Agency, Person, StaffMember

JOIN_CODE_LENGTH = 8


def new_join_code() -> str:
    """A fresh join code, in its canonical (stored) form."""
    return normalise_code(new_code(JOIN_CODE_LENGTH))


def shown(code: str) -> str:
    """A join code as people read it: ABCD-EFGH."""
    half = (len(code) + 1) // 2
    return f"{code[:half]}-{code[half:]}"


async def by_join_code(session: AsyncSession, typed: str) -> Agency | None:
    """The agency whose join code was typed (dashes, spaces and case do not matter)."""
    wanted = normalise_code(typed)
    if len(wanted) < 4:
        return None
    return (await session.exec(select(Agency).where(Agency.join_code == wanted))).first()


async def open_agencies(session: AsyncSession) -> list[Agency]:
    """Agencies anyone may join without a code (the demo agency)."""
    result = await session.exec(
        select(Agency).where(Agency.open_join.is_(True)).order_by(Agency.id)
    )  # type: ignore[attr-defined]
    return list(result.all())


async def take_number(session: AsyncSession, agency_id: int) -> int:
    """The next person number of the agency, taken in one statement (safe when two join at once)."""
    result = await session.exec(
        update(Agency)
        .where(Agency.id == agency_id)
        .values(next_number=Agency.next_number + 1)
        .returning(Agency.next_number)
    )
    return int(result.scalar_one()) - 1


async def has_staff_codes(session: AsyncSession, agency_id: int) -> bool:
    """Does the agency's staff list give staff codes (so joining can ask for one)?"""
    found = await session.exec(
        select(StaffMember.id).where(
            StaffMember.agency_id == agency_id,
            StaffMember.staff_code.is_not(None),  # type: ignore[union-attr]
        )
    )
    return found.first() is not None


async def numbered(session: AsyncSession, agency_id: int, number: int) -> Person | None:
    """The person with `number` in agency `agency_id` (numbers are per agency)."""
    result = await session.exec(
        select(Person).where(Person.agency_id == agency_id, Person.agency_number == number)
    )
    return result.first()
