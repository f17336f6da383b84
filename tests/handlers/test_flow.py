"""The table of the conversation, walked without running it: every target exists,
every state can be reached from the first message, and none is a dead end."""

from __future__ import annotations

from handlers.conversation import BACK, END, HOLD, REASK, RESUME, Move
from handlers.flow import FLOW
from handlers.journey import ONBOARDING, STEP_ENTRY

MOVES = {REASK, BACK, RESUME, END, HOLD}
# Where RESUME can lead: the entry of wherever a journey stands.
JOURNEY_ENTRIES = {ONBOARDING, *STEP_ENTRY.values(), "done"}


def _everywhere() -> set:
    """Targets reachable from any state: commands and buttons pushed outside the conversation."""
    found = set()
    for command in [*FLOW.commands.values(), *FLOW.pushed.values(), FLOW.follow]:
        found.update(command.to)
    return found


def test_every_target_is_a_state_or_a_move():
    named = {"stranger": FLOW.stranger.to, "follow": FLOW.follow.to}
    named.update({f"state {name}": state.to for name, state in FLOW.states.items()})
    named.update({f"/{name}": command.to for name, command in FLOW.commands.items()})
    named.update({f"pushed {prefix}": command.to for prefix, command in FLOW.pushed.items()})
    unknown = [
        (where, target)
        for where, targets in named.items()
        for target in targets
        if not (target in MOVES or (isinstance(target, str) and target in FLOW.states))
    ]
    assert unknown == []
    assert set(FLOW.states) >= JOURNEY_ENTRIES


def test_every_state_is_reachable_from_the_first_message():
    always = _everywhere()
    seen: set[str] = set()
    todo = [t for t in FLOW.stranger.to if isinstance(t, str)]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for target in (*FLOW.states[name].to, *always):
            if target is RESUME:
                todo.extend(JOURNEY_ENTRIES)
            elif isinstance(target, str):
                todo.append(target)
    assert sorted(set(FLOW.states) - seen) == []


def test_no_state_is_a_dead_end():
    """From every state the journey goes on to its end: ordinary states lead to
    "done" (which leads to a new round), detours lead back (BACK, or HOLD: back
    quietly, after a command of the working group)."""
    alive = {"done"}
    changed = True
    while changed:
        changed = False
        for name, state in FLOW.states.items():
            if name in alive:
                continue
            if any(t in (BACK, RESUME, HOLD) or t in alive for t in state.to):
                alive.add(name)
                changed = True
    assert sorted(set(FLOW.states) - alive) == []
    assert "s1.intro" in FLOW.states["done"].to  # a new round
    for name, state in FLOW.states.items():
        assert set(state.to) - {REASK, name}, f"{name} only ever asks itself again"


def test_detours_and_only_detours_go_back():
    for name, state in FLOW.states.items():
        if BACK in state.to or HOLD in state.to:
            assert state.detour, f"{name} goes BACK but is not a detour"
    detours = {name for name, state in FLOW.states.items() if state.detour}
    assert {"menu", "remind.menu", "privacy.confirm", "idea.text", "feedback.reply"} <= detours
    assert not detours & JOURNEY_ENTRIES
    assert all(isinstance(m, Move) for m in MOVES)
