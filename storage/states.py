"""A person's conversation state, written once at the end of their turn.

The engine changes the state on nearly every turn. Kept in the unit of work,
the change was flushed before the turn's first read after it and again at the
commit, and each flush cost more CPU than the statement it sent. So the turn
holds the state as a plain object, outside the session (`detach`), and
writes it in one upsert on `person_id` (`save`), whether the row is new or not.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ConversationState

_WRITTEN = ("flow_version", "state", "data", "question_seq", "updated_at")


@functools.cache
def _upsert(postgres: bool) -> Any:
    """INSERT ... ON CONFLICT (person_id) DO UPDATE, built once per dialect."""
    insert = (postgresql if postgres else sqlite).insert(ConversationState)
    return insert.on_conflict_do_update(
        index_elements=["person_id"], set_={name: insert.excluded[name] for name in _WRITTEN}
    )


def detach(session: AsyncSession, state: ConversationState) -> None:
    """Take `state` out of the session: the turn changes it freely and `save` writes it."""
    if state in session:
        session.expunge(state)


async def save(session: AsyncSession, state: ConversationState, now: datetime) -> None:
    """Write `state` as it is now, in the session's transaction."""
    detach(session, state)  # a state created this turn (onboarding) was added to the session
    state.updated_at = now
    values = {name: getattr(state, name) for name in _WRITTEN}
    connection = await session.connection()
    await connection.execute(
        _upsert(session.bind.dialect.name == "postgresql"),
        {"person_id": state.person_id, **values},
    )
