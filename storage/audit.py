"""The audit trail (PDPA): who did or saw what, and when.

The one writer of `AuditLog` rows. It adds the row to the caller's session,
so the record commits or rolls back with the action it describes. Details
name tables, counts and ids, never what a person wrote.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AuditLog

# How far back the guess limits count wrong codes (see `count_since`).
GUESS_WINDOW = timedelta(hours=1)


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


async def count_since(
    session: AsyncSession,
    action: str,
    since: datetime,
    *,
    account: str | None = None,
    agency_id: int | None = None,
) -> int:
    """How often `action` was recorded since `since` for one channel account
    (`account`: its hash, in the row's detail) or one agency (`agency_id`).

    Guess limits count this way rather than by person, so that erasing one's
    data and consenting again, which makes a new person, starts no new count.
    """
    query = (
        select(func.count())
        .select_from(AuditLog)
        .where(AuditLog.action == action, AuditLog.at >= since)
    )
    if account is not None:
        query = query.where(AuditLog.detail["account"].as_string() == account)
    if agency_id is not None:
        query = query.where(AuditLog.detail["agency_id"].as_integer() == agency_id)
    result = await session.exec(query)
    return int(result.one())
