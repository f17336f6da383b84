"""A person wrote: when, and from which chat, as two plain UPDATEs.

Every turn records this, so it is written on the session's connection rather
than through the unit of work: the flush that wrote two changed columns cost
more CPU than the two statements themselves. The loaded objects are told the
new values as already stored (`set_committed_value`), so they read as written
and the session does not write them again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ChannelAccount, Person

_PERSON_SEEN = (
    update(Person)
    .where(Person.id == bindparam("person_id"))
    .values(last_active_at=bindparam("now"))
)
_ACCOUNT_SEEN = (
    update(ChannelAccount)
    .where(ChannelAccount.id == bindparam("account_id"))
    .values(
        last_incoming_at=bindparam("now"),
        chat_id=bindparam("chat_id"),
        active=True,
        inactive_reason=None,
    )
)


async def note_arrival(
    session: AsyncSession, person: Person, account: ChannelAccount, chat_id: str, now: datetime
) -> None:
    """`person` wrote at `now` from `chat_id` on `account`: the account is active
    again (even after a block) and both remember when."""
    connection = await session.connection()
    await connection.execute(_PERSON_SEEN, {"person_id": person.id, "now": now})
    await connection.execute(
        _ACCOUNT_SEEN, {"account_id": account.id, "now": now, "chat_id": chat_id}
    )
    set_committed_value(person, "last_active_at", now)
    for key, value in (
        ("last_incoming_at", now),
        ("chat_id", chat_id),
        ("active", True),
        ("inactive_reason", None),
    ):
        set_committed_value(account, key, value)
