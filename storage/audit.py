"""The audit trail (PDPA): who did or saw what, and when.

The one writer of `AuditLog` rows. It adds the row to the caller's session,
so the record commits or rolls back with the action it describes. Details
name tables, counts and ids, never what a person wrote.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AuditLog


def record(
    session: AsyncSession,
    at: datetime,
    action: str,
    *,
    actor: int | None = None,
    subject: int | None = None,
    **detail: Any,
) -> None:
    """Add one audit row: `actor` did `action` (to or about `subject`) at `at`."""
    session.add(
        AuditLog(
            at=at, actor_person_id=actor, action=action, subject_person_id=subject, detail=detail
        )
    )


async def count_since(session: AsyncSession, actor: int, action: str, since: datetime) -> int:
    """How often `actor` did `action` since `since` (e.g. wrong codes, to slow guessing)."""
    result = await session.exec(
        select(func.count())
        .select_from(AuditLog)
        .where(AuditLog.actor_person_id == actor, AuditLog.action == action, AuditLog.at >= since)
    )
    return int(result.one())
