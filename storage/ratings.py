"""One self-rating stored in one statement: an upsert on (assessment, skill).

Rating a skill again replaces its level (`uq_answer_assessment_skill` keeps one
answer per skill). A look-up, then an insert or an update through the unit of
work, took three statements and a flush on every rating turn.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AssessmentAnswer


@functools.cache
def _upsert(postgres: bool) -> Any:
    """INSERT ... ON CONFLICT (assessment_id, skill_id) DO UPDATE, built once per dialect."""
    insert = (postgresql if postgres else sqlite).insert(AssessmentAnswer)
    return insert.on_conflict_do_update(
        index_elements=["assessment_id", "skill_id"],
        set_={"level": insert.excluded.level, "answered_at": insert.excluded.answered_at},
    )


async def store_rating(
    session: AsyncSession, assessment_id: int, skill_id: str, level: int, now: datetime
) -> None:
    """Store `level` for `skill_id` in the assessment, replacing an earlier one."""
    statement = _upsert(session.bind.dialect.name == "postgresql")
    connection = await session.connection()
    await connection.execute(
        statement,
        {"assessment_id": assessment_id, "skill_id": skill_id, "level": level, "answered_at": now},
    )
