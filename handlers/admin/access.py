"""Who may act for an agency: roles, refusals, the audit trail and invite codes.

The role is read from the database on every command (never cached in the
conversation), so a role removed from the database takes effect at once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.context import Ctx
from storage import audit
from storage.accounts import account_hash
from storage.codes import new_code, normalise_code
from storage.models import AdminRole, Agency, InviteCode
from storage.models.admin import ROLE_HEAD, ROLE_MEMBER, ROLES

CODE_LENGTH = 10
# Wrong codes allowed per person per hour before redemption is refused for a while.
MAX_FAILED_REDEMPTIONS = 5  # wrong invite codes per hour and chat account
MAX_AGENCY_FAILED = 20  # wrong invite codes per hour from everyone of one agency


@dataclass(frozen=True)
class Seat:
    """An admin's verified seat: their role and the one agency they may see."""

    role: AdminRole
    agency: Agency

    @property
    def is_head(self) -> bool:
        return self.role.role == ROLE_HEAD


async def seat_of(session: AsyncSession, person_id: int | None) -> Seat | None:
    """The person's admin seat, read fresh from the database."""
    if person_id is None:
        return None
    role = (await session.exec(select(AdminRole).where(AdminRole.person_id == person_id))).first()
    if role is None:
        return None
    agency = await session.get(Agency, role.agency_id)
    return Seat(role, agency) if agency is not None else None


async def require(ctx: Ctx, command: str, needed: str = ROLE_MEMBER) -> Seat | None:
    """The sender's seat if their role allows `command`; else a polite refusal, audited."""
    seat = await seat_of(ctx.session, ctx.person.id if ctx.person else None)
    if seat is not None and (needed == ROLE_MEMBER or seat.is_head):
        return seat
    reason = "not_admin" if seat is None else "needs_head"
    detail: dict[str, Any] = {
        "command": command,
        "reason": reason,
        "channel": ctx.incoming.channel,
        "chat_type": ctx.incoming.chat_type,
    }
    if ctx.person is None:  # a stranger in a group: keep a hash, never the platform id
        detail["account_hash"] = account_hash(ctx.incoming.channel, ctx.incoming.user_id)
    ctx.audit("admin.refused", **detail)
    ctx.say(ctx.t("admin.refused" if seat is None else "admin.head_only"))
    return None


# ---- invite codes -------------------------------------------------------------------


def hash_code(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode("ascii", "ignore")).hexdigest()


async def create_invite(
    session: AsyncSession, agency: Agency, role: str, now: datetime, valid_for: timedelta
) -> str:
    """Store a new invite (hashed) and return the code, which is shown once and never kept."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    code = new_code(CODE_LENGTH)
    session.add(
        InviteCode(
            code_hash=hash_code(code),
            agency_id=agency.id,
            role=role,
            created_at=now,
            expires_at=now + valid_for,
        )
    )
    audit.record(
        session,
        now,
        "admin.invite_created",
        agency=agency.code,
        role=role,
        expires_at=(now + valid_for).isoformat(),
    )
    await session.flush()
    return code


INVITE_FAILED = "admin.invite_failed"


async def guessing_paused(ctx: Ctx) -> bool:
    """Too many wrong invite codes in the last hour, from this chat account or
    from the person's agency (slows down guessing, also across erasure)."""
    return await ctx.guessing_paused(INVITE_FAILED, MAX_FAILED_REDEMPTIONS, MAX_AGENCY_FAILED)


async def wrong_code(ctx: Ctx) -> None:
    """Count one wrong invite code."""
    await ctx.wrong_guess(INVITE_FAILED, MAX_FAILED_REDEMPTIONS, MAX_AGENCY_FAILED)


async def redeem(ctx: Ctx, code: str) -> Seat | None:
    """Use an invite code once: the first valid redemption wins, expired or used codes fail.

    The claim is one conditional UPDATE, so two people racing with the same
    code cannot both succeed, even on two instances. A person sits in one
    working group: redeeming a code of another agency moves their seat there.
    """
    assert ctx.person is not None
    claimed = await ctx.session.exec(
        update(InviteCode)
        .where(
            InviteCode.code_hash == hash_code(code),
            InviteCode.used_at.is_(None),
            InviteCode.expires_at > ctx.now,
        )
        .values(used_at=ctx.now, used_by=ctx.person.id)
        .returning(InviteCode.agency_id, InviteCode.role)
    )
    row = claimed.first()
    if row is None:
        return None
    agency_id, role_name = row
    role = (
        await ctx.session.exec(select(AdminRole).where(AdminRole.person_id == ctx.person.id))
    ).first()
    if role is None:
        role = AdminRole(person_id=ctx.person.id, agency_id=agency_id, role=role_name)
    role.agency_id, role.role, role.granted_at = agency_id, role_name, ctx.now
    ctx.session.add(role)
    await ctx.session.flush()
    ctx.admin_role = role_name
    agency = await ctx.session.get(Agency, agency_id)
    assert agency is not None
    return Seat(role, agency)
