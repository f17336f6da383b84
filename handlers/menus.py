"""Which menu a person's chat should show after a turn: it follows their part of
the journey (steps 1-2, 3-5, 6), their seat in a working group and their
language, so the menu under the chat offers what makes sense where they are."""

from __future__ import annotations

from handlers.context import Ctx
from handlers.engine import STACK, Flow
from handlers.messages import Menu

# The questions of a self-assessment (steps 2 and 6): the one-screen page answers them.
ASSESSING = ("s2.intro", "s2.rate", "s6.intro", "s6.rate")


def stage_of(state: str) -> str:
    """The part of the journey a state belongs to; onboarding counts as the first."""
    if state.startswith(("s3.", "s4.", "s5.")):
        return "grow"
    if state.startswith("s6.") or state == "done":
        return "review"
    return "know"


def journey_state(ctx: Ctx, flow: Flow) -> str | None:
    """The journey's question: the current state, or where an open detour began."""
    if ctx.conv is None:
        return None
    state = ctx.conv.state
    if state in flow.states and flow.states[state].detour:
        stack = ctx.data.get(STACK) or []
        state = stack[0] if stack and isinstance(stack[0], str) else None
    return state


def current(ctx: Ctx, flow: Flow) -> Menu | None:
    """The menu for the person after this turn; None for someone who has not
    consented (or has just erased their data)."""
    if ctx.person is None or ctx.account is None:
        return None
    state = journey_state(ctx, flow)
    if state is None:
        return None
    return Menu(
        stage=stage_of(state),
        lang=ctx.lang if ctx.lang in ("th", "en") else "th",
        admin=ctx.admin_role,
        assessing=state in ASSESSING,
    )
