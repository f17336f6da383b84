"""The conversation engine: what one incoming message leads to.

It routes a message to the right place and then goes where that place
returns; it imports no feature. The table it routes by is a `Flow`
(`handlers.flow.FLOW`), handed in by whoever runs the turn.

Routing, in order:
1. a group chat: only the group commands (everything else is ignored);
2. an unfollow (the person blocked the bot): `leave`;
3. a stranger (no person yet: the privacy notice and consent): `stranger`;
4. a known person: `arrive`, then
   - a conversation left by an older flow restarts the person's current step,
   - a follow gets `follow`,
   - a typed command (or its Thai name, or an alias) runs that command,
   - a button pushed outside the conversation (e.g. "reply" under feedback)
     runs its handler, and a button that belongs to no question (`go:...` on a
     nudge or the rich menu) runs its command,
   - a button of an older question gets "that question has passed" and the
     current question again,
   - typed text equal to a button label counts as tapping it,
   - other typed words may first answer what a pushed message just asked
     (`typed`: the recall's question), when nothing was written since it came,
   - anything else is the answer to the current state.

Whatever runs returns a `Next`. Going to a state asks its question; detours
(the menu, settings, confirmations) are one stack, kept in the conversation's
data, so BACK returns to where the detour began and RESUME to the journey.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from handlers.context import Answer, Ctx
from handlers.conversation import (
    BACK,
    END,
    HOLD,
    REASK,
    RESUME,
    Command,
    Entry,
    GroupFn,
    Move,
    Next,
    State,
    Typed,
    area,
)
from handlers.errors import Reprompt

STACK = "_stack"  # conversation data key: where each open detour began, oldest first
MAX_SKIPS = 10  # questions skipped in a row before the table is taken to loop


class FlowError(Exception):
    """The table and what a handler returned disagree: a bug, never the person's doing."""


@dataclass(frozen=True)
class Flow:
    """The conversation's table (see `handlers.flow`)."""

    version: int
    states: Mapping[str, State]
    commands: Mapping[str, Command]
    group_commands: Mapping[str, GroupFn]
    pushed: Mapping[str, Command]  # choice-id prefix -> handler (receives the choice id)
    stranger: Entry
    follow: Entry
    entry: Callable[[Ctx], Awaitable[str]]  # where the person's journey stands
    arrive: Callable[[Ctx], Awaitable[None]]  # a known person wrote
    leave: Callable[[Ctx], Awaitable[None]]  # the person unfollowed or blocked the bot
    typed: Typed | None = None  # words that answer what a push asked, before the question


async def run(ctx: Ctx, flow: Flow) -> None:
    """Decide what to say and do for one incoming message (see the module docstring)."""
    incoming = ctx.incoming
    if incoming.chat_type == "group":
        await _group(ctx, flow)
    elif incoming.kind == "unfollow":
        await flow.leave(ctx)
    elif ctx.person is None:
        await _follow_up(ctx, flow, flow.stranger.to, await flow.stranger.run(ctx))
    else:
        await flow.arrive(ctx)
        await _known(ctx, flow)


async def _known(ctx: Ctx, flow: Flow) -> None:
    """One message of a person who accepted the privacy notice."""
    conv = ctx.conv
    assert conv is not None
    incoming = ctx.incoming
    if conv.flow_version != flow.version or conv.state not in flow.states:
        # Written by an older flow: restart the person's current step cleanly,
        # and ask its question rather than guess what this message answered.
        conv.data = {}
        await _enter(ctx, flow, await flow.entry(ctx))
        return
    if incoming.kind == "follow":
        await _follow_up(ctx, flow, flow.follow.to, await flow.follow.run(ctx))
        return
    text = incoming.text.strip()
    choice = incoming.choice
    if choice is None and is_command(ctx, flow, text):
        await _typed_command(ctx, flow, text)
        return
    offered = {c.id for c in ctx.last_choices()}
    pushed = flow.pushed.get((choice or "").partition(":")[0] + ":")
    if pushed is not None and choice not in offered:
        await _follow_up(ctx, flow, pushed.to, await pushed.run(ctx, choice or ""))
        return
    if choice is not None and choice.startswith("go:") and incoming.question_seq is None:
        await _typed_command(ctx, flow, "/" + choice.removeprefix("go:"))
        return
    if choice is not None:
        stale_seq = incoming.question_seq is not None and incoming.question_seq != conv.question_seq
        accepted = choice.startswith(flow.states[conv.state].accepts)
        if (
            (stale_seq or choice not in offered)
            and not accepted
            and not _hand_back(ctx, flow, choice)
        ):
            ctx.say(ctx.t("common.stale_button"))
            await _apply(ctx, flow, REASK)
            return
    else:
        choice = _match_label(ctx, text)
        if choice is None and text and _hand_back(ctx, flow, None):
            choice = _match_label(ctx, text)
    if choice is not None and choice.startswith("go:"):
        await _typed_command(ctx, flow, "/" + choice.removeprefix("go:"))
        return
    if choice is None and text and flow.typed is not None:
        answered = await flow.typed.run(ctx, text)
        if answered is not None:
            _check("typed", flow.typed.to, answered)
            await _apply(ctx, flow, answered)
            return
    state = flow.states[conv.state]
    try:
        following = await state.answer(ctx, Answer(text=text, choice=choice))
    except Reprompt as problem:
        _reprompt(ctx, problem)
        return
    _check(conv.state, state.to, following)
    await _apply(ctx, flow, following)


def _reprompt(ctx: Ctx, problem: Reprompt) -> None:
    """Say in one line what was wrong and offer the question's choices again; the
    question itself is not repeated (the person has just read it), and it stays
    the current question, so its earlier buttons still work."""
    text = ctx.t(problem.message_key, **problem.values)
    choices = ctx.last_choices()
    if choices:
        ctx.offer(text, choices)
    else:
        ctx.say(text)


# ---- a detour that hands the answer back -------------------------------------------

ORIGIN = "_origin"  # conversation data key: the question a detour began at, and its buttons


def _hand_back(ctx: Ctx, flow: Flow, choice: str | None) -> bool:
    """In a `hands_back` detour, make the question it began at current again, when
    this message answers that question (typed text, or one of its buttons); True if so."""
    assert ctx.conv is not None
    state = flow.states[ctx.conv.state]
    origin = ctx.data.get(ORIGIN)
    stack = _stack(ctx)
    if not state.hands_back or not stack or not isinstance(origin, dict):
        return False
    question = stack[0]
    if question not in flow.states or flow.states[question].detour:
        return False
    buttons = origin.get("choices") or []
    if choice is not None:
        if choice not in {c for c, _ in buttons}:
            return False
        if ctx.incoming.question_seq not in (None, origin.get("seq")):
            return False
    ctx.conv.state = question
    ctx.set_data(**{STACK: [], ORIGIN: None, "_choices": buttons})
    return True


# ---- commands ---------------------------------------------------------------------


def _alias(ctx: Ctx, flow: Flow, text: str) -> str | None:
    """A command word typed without the slash, in either language (`command.alias.*`)."""
    wanted = text.strip().casefold()
    for name in flow.commands:
        key = f"command.alias.{name}"
        if key not in ctx.content.messages:
            continue
        for lang in ("th", "en"):
            if wanted in (a.strip().casefold() for a in ctx.content.t(key, lang).split(",")):
                return name
    return None


def local_name(ctx: Ctx, flow: Flow, typed: str) -> str | None:
    """The command whose name in content/ (`command.name.*`, e.g. a Thai name) was typed."""
    wanted = typed.strip().casefold()
    for name in flow.commands:
        key = f"command.name.{name}"
        if key in ctx.content.messages and wanted in (
            ctx.content.t(key, lang).casefold() for lang in ("th", "en")
        ):
            return name
    return None


def is_command(ctx: Ctx, flow: Flow, text: str) -> bool:
    return text.startswith("/") or _alias(ctx, flow, text) is not None


def parse_command(ctx: Ctx, flow: Flow, text: str) -> tuple[str, str]:
    """'/lang@MyBot en' -> ('lang', 'en'); an alias or a Thai name -> its command."""
    if not text.startswith("/"):
        return _alias(ctx, flow, text) or "", ""
    head, _, rest = text[1:].partition(" ")
    name = head.split("@", 1)[0].casefold()
    if name not in flow.commands:
        name = local_name(ctx, flow, name) or name
    return name, rest.strip()


async def _typed_command(ctx: Ctx, flow: Flow, text: str) -> None:
    """Run a command; an unknown one gets the help text and the current question again."""
    name, argument = parse_command(ctx, flow, text)
    command = flow.commands.get(name)
    if command is None:
        ctx.say(ctx.t("command.unknown", command=text[:40]))
        ctx.say(ctx.t("help"))
        await _apply(ctx, flow, REASK)
        return
    await _follow_up(ctx, flow, command.to, await command.run(ctx, argument), where=f"/{name}")


async def _group(ctx: Ctx, flow: Flow) -> None:
    """Group chats: ordinary talk is ignored; a command that works in groups runs,
    any other gets a pointer to the private chat."""
    text = ctx.incoming.text.strip()
    if ctx.incoming.kind != "text" or not text.startswith("/"):
        return
    head, _, argument = text[1:].partition(" ")
    name = head.split("@", 1)[0].casefold()
    command = flow.group_commands.get(name) or flow.group_commands.get(
        local_name(ctx, flow, name) or ""
    )
    if command is None:
        ctx.say(ctx.t("group.private_only"))
        return
    await command(ctx, argument.strip())


def _match_label(ctx: Ctx, text: str) -> str | None:
    """Typed text that equals a button label of the last question picks that button."""
    wanted = text.strip().casefold()
    if not wanted:
        return None
    for choice in ctx.last_choices():
        if choice.label.strip().casefold() == wanted:
            return choice.id
    return None


# ---- going somewhere -----------------------------------------------------------------


def _check(where: str, allowed: tuple[Next, ...], following: Next) -> None:
    """A handler may only lead where the table says it does."""
    if following not in allowed:
        raise FlowError(f"{where} led to {following!r}, which the table does not list for it")


async def _follow_up(
    ctx: Ctx, flow: Flow, allowed: tuple[Next, ...], following: Next, *, where: str = "entry"
) -> None:
    _check(where, allowed, following)
    await _apply(ctx, flow, following)


async def _apply(ctx: Ctx, flow: Flow, following: Next, skips: int = 0) -> None:
    """Go where `following` says and ask that state's question."""
    conv = ctx.conv
    if conv is None or following is END:
        return  # nobody left to ask (a stranger who declined, data just erased)
    if following is REASK:
        await _enter(ctx, flow, conv.state, skips=skips)
    elif following is BACK:
        stack = _stack(ctx)
        if not stack:
            await _apply(ctx, flow, RESUME, skips)
            return
        origin = stack.pop()
        ctx.set_data(**{STACK: stack})
        await _enter(ctx, flow, origin, track=False, skips=skips)
    elif following is RESUME:
        await _enter(ctx, flow, await _resume_target(ctx, flow), skips=skips)
    elif following is HOLD:
        _hold(ctx, flow)
    elif isinstance(following, Move):
        raise FlowError(f"unknown move {following!r}")
    else:
        await _enter(ctx, flow, following, skips=skips)


async def _resume_target(ctx: Ctx, flow: Flow) -> str:
    """Where the journey stands; the question the person left for a detour when it
    is on the same part of the journey (so half-typed answers survive a look at
    the menu), else the entry of that part with its scratch answers dropped."""
    assert ctx.conv is not None
    stack = _stack(ctx)
    origin: str | None = stack[0] if stack else ctx.conv.state
    if origin not in flow.states or flow.states[origin].detour:
        origin = None
    target = await flow.entry(ctx)
    if origin is not None and area(origin) == area(target):
        ctx.set_data(**{STACK: []})
        return origin
    ctx.conv.data = {}
    return target


async def _enter(ctx: Ctx, flow: Flow, name: str, *, track: bool = True, skips: int = 0) -> None:
    """Make `name` the current state and ask its question."""
    assert ctx.conv is not None
    state = flow.states.get(name)
    if state is None:
        raise FlowError(f"no state named {name!r}")
    if track:
        _track_detour(ctx, flow, name)
    ctx.conv.state = name
    ctx.conv.flow_version = flow.version
    skipped = await state.ask(ctx)
    if skipped is not None:
        if skips >= MAX_SKIPS:
            raise FlowError(f"questions keep skipping each other at {name!r}")
        _check(name, state.to, skipped)
        await _apply(ctx, flow, skipped, skips + 1)


def _hold(ctx: Ctx, flow: Flow) -> None:
    """Ask nothing; inside a detour, go back to where it began without asking that
    question again (its buttons are of an older question now)."""
    assert ctx.conv is not None
    stack = _stack(ctx)
    if ctx.conv.state in flow.states and flow.states[ctx.conv.state].detour and stack:
        ctx.conv.state = stack[0]
        ctx.set_data(**{STACK: []})


def _stack(ctx: Ctx) -> list[str]:
    return [s for s in ctx.data.get(STACK) or [] if isinstance(s, str)]


def _track_detour(ctx: Ctx, flow: Flow, target: str) -> None:
    """Keep the detour stack: entering a detour remembers where it began; entering
    a detour that is already open closes what was opened after it; entering an
    ordinary state closes every detour."""
    assert ctx.conv is not None
    current = ctx.conv.state
    stack = _stack(ctx)
    if not flow.states[target].detour:
        stack = []
    elif area(target) != area(current):
        open_at = next((i for i, s in enumerate(stack) if area(s) == area(target)), None)
        if open_at is not None:
            stack = stack[:open_at]
        elif current in flow.states:
            if not stack:  # leaving the journey's question: keep its buttons for `_hand_back`
                ctx.set_data(
                    **{
                        ORIGIN: {
                            "choices": ctx.data.get("_choices") or [],
                            "seq": ctx.conv.question_seq,
                        }
                    }
                )
            stack.append(current)
    if stack != _stack(ctx):
        ctx.set_data(**{STACK: stack})
    if not stack and ctx.data.get(ORIGIN) is not None:
        ctx.set_data(**{ORIGIN: None})
