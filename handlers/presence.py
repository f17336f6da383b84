"""A person's presence: they wrote (active again), or they left (blocked or unfollowed)."""

from __future__ import annotations

from handlers.context import Ctx
from storage.accounts import deactivate
from storage.best_hour import note_answer as note_hour_answer
from storage.nudges import note_answer, nudge_awaits_answer


async def arrive(ctx: Ctx) -> None:
    """The person wrote: they are active again, even if they had blocked the bot,
    and any nudge sent before counts as answered."""
    assert ctx.person is not None and ctx.account is not None
    ctx.person.last_active_at = ctx.now
    ctx.account.last_incoming_at = ctx.now
    ctx.account.chat_id = ctx.incoming.chat_id
    if not ctx.account.active:
        ctx.account.active = True
        ctx.account.inactive_reason = None
    ctx.session.add(ctx.person)
    ctx.session.add(ctx.account)
    if not ctx.nudge_counter_known or nudge_awaits_answer(ctx.nudge_counter):
        await note_answer(ctx.session, ctx.person.id, ctx.now)
        await note_hour_answer(ctx.session, ctx.person.id, ctx.now)


async def leave(ctx: Ctx) -> None:
    """The person blocked or unfollowed: nothing more is sent until they come back."""
    if ctx.account is not None:
        await deactivate(ctx.session, ctx.account.id, "unfollowed")
