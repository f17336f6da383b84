"""A person's presence: they wrote (active again), or they left (blocked or unfollowed).

Coming back after a gap of `Thresholds.comeback_days` or more is welcomed once
(the first message after the gap), with a next step made small; any message
also counts as the answer to the nudges sent before it (the reminder ladder
starts again).
"""

from __future__ import annotations

from datetime import timedelta

from handlers.context import Ctx
from storage.accounts import deactivate
from storage.best_hour import note_answer as note_hour_answer
from storage.nudges import note_answer, nudge_awaits_answer
from storage.presence import note_arrival


async def arrive(ctx: Ctx) -> None:
    """The person wrote: they are active again, even if they had blocked the bot,
    and any nudge sent before counts as answered."""
    assert ctx.person is not None and ctx.account is not None
    await _welcome_after_gap(ctx)
    ctx.active_before = ctx.person.last_active_at
    await note_arrival(ctx.session, ctx.person, ctx.account, ctx.incoming.chat_id, ctx.now)
    if not ctx.nudge_counter_known or nudge_awaits_answer(ctx.nudge_counter):
        await note_answer(ctx.session, ctx.person.id, ctx.now)
        await note_hour_answer(ctx.session, ctx.person.id, ctx.now)


async def _welcome_after_gap(ctx: Ctx) -> None:
    """The first message after `comeback_days` of silence: a warm word and one small
    step for this week (a re-follow has its own welcome)."""
    person = ctx.person
    assert person is not None
    if person.onboarded_at is None or ctx.incoming.kind == "follow":
        return
    gap = ctx.now - person.last_active_at
    if gap < timedelta(days=ctx.policy.nudges.comeback_days):
        return
    journey = await ctx.journey()
    if journey.completed_at is not None:
        small = ctx.t("comeback.small.done")
    elif journey.current_step == 4:
        small = ctx.t("comeback.small.learn")
    elif journey.current_step == 5:
        small = ctx.t("comeback.small.apply")
    else:
        step = ctx.content.step(journey.current_step)
        small = ctx.t(
            "comeback.small.step", number=journey.current_step, title=step.title.get(ctx.lang)
        )
    if person.display_name:
        text = ctx.t("comeback.welcome", name=person.display_name, days=gap.days, small=small)
    else:
        text = ctx.t("comeback.welcome_noname", days=gap.days, small=small)
    ctx.say(text)


async def leave(ctx: Ctx) -> None:
    """The person blocked or unfollowed: nothing more is sent until they come back."""
    if ctx.account is not None:
        await deactivate(ctx.session, ctx.account.id, "unfollowed")
