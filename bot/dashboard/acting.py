"""Doing something from the dashboard the way a command in chat does it.

The dashboard's actions (reading a record, changing a setting) run the same
handlers as the admin commands, in a turn of their own: a transaction, the seat
read again inside it, and a `Ctx` whose channel is "dashboard". What the handler
says comes back as text for the page, and what it audits is audited as from chat.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.requests import Request

from bot.dashboard.visit import Visit, app_of
from handlers.admin.access import Seat, seat_of
from handlers.context import Ctx
from handlers.messages import Incoming
from storage.db import transaction
from storage.models import Person

CHANNEL = "dashboard"


@contextlib.asynccontextmanager
async def acting(request: Request, visit: Visit) -> AsyncIterator[tuple[Ctx, Seat] | None]:
    """A turn for the visiting admin (None when their seat went away meanwhile);
    committed when the block ends without an error."""
    app = app_of(request)
    async with transaction(app.sessions) as session:
        seat = await seat_of(session, visit.person_id)
        if seat is None or seat.agency.id != visit.agency_id:
            yield None
            return
        person = await session.get(Person, visit.person_id)
        incoming = Incoming(channel=CHANNEL, user_id=str(visit.person_id), chat_id=CHANNEL)
        yield (
            Ctx(
                session,
                app.content,
                app.clock.now(),
                incoming,
                visit.lang,
                app.policy,
                reads=app.read_sessions,
                person=person,
            ),
            seat,
        )


def said(ctx: Ctx) -> str:
    """Everything the handler said, as one text."""
    return "\n\n".join(reply.text for reply in ctx.replies if reply.text)
