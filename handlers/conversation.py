"""The vocabulary of the conversation, shared by the engine, the table and the features.

A feature never moves the person itself. An answer, a command or a pushed
button returns what comes next: the name of a state, or one of the moves
below. The engine (`handlers.engine`) then goes there and asks that state's
question. Each state and command also declares where it may lead (`to`), so
the table in `handlers.flow` shows the whole conversation and a test can walk
it without running it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from handlers.context import Answer, Ctx


@dataclass(frozen=True)
class Move:
    """Where to go when it is not a named state."""

    name: str

    def __repr__(self) -> str:
        return self.name.upper()


REASK = Move("reask")  # ask the current question again
BACK = Move("back")  # leave the detour: back to where the person was before it began
RESUME = Move("resume")  # carry on where the person's journey stands
END = Move("end")  # nothing more to ask (a stranger who declined, data just erased)
# Ask nothing: the person's question waits until they ask for it (/continue). Inside
# a detour, the detour ends quietly. Used after the working group's commands, so
# an admin's answer is not followed by their own step's question.
HOLD = Move("hold")

Next = str | Move

# Ask a state's question. Returning a Next instead skips the question (e.g. an
# agency without units skips the unit question); None means it was asked.
AskFn = Callable[[Ctx], Awaitable["Next | None"]]
AnswerFn = Callable[[Ctx, Answer], Awaitable[Next]]
CommandFn = Callable[[Ctx, str], Awaitable[Next]]
# Typed words that may answer a question a pushed message asked; None: they do not.
TypedFn = Callable[[Ctx, str], Awaitable["Next | None"]]
GroupFn = Callable[[Ctx, str], Awaitable[None]]
TurnFn = Callable[[Ctx], Awaitable[Next]]


@dataclass(frozen=True)
class State:
    """One conversation state: how to ask its question, what to do with the answer,
    and every state or move that the answer (or a skipped question) may lead to.

    A `detour` is a side trip from wherever the person is (the menu, the
    reminder settings, a confirmation): the engine remembers where it began,
    and BACK returns there. A detour that `hands_back` (the menu) takes typed
    text that is none of its own choices, and a tap on the question it left, as
    the answer to that question: someone who opened the menu mid-question and
    then answered meant the question, not the menu.

    `accepts` lists choice-id prefixes the state answers although no button of
    its question carries them: what a page outside the chat sends (the
    one-screen assessment's "all:..."), which is otherwise taken for a stale button.
    """

    ask: AskFn
    answer: AnswerFn
    to: tuple[Next, ...]
    detour: bool = False
    hands_back: bool = False
    accepts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Command:
    """A typed command (or a button that works from anywhere) and where it may lead."""

    run: CommandFn
    to: tuple[Next, ...] = (REASK,)


@dataclass(frozen=True)
class Typed:
    """Words typed right after a push that asked something (the recall): the handler
    takes them as its answer, or returns None to let the current question have them."""

    run: TypedFn
    to: tuple[Next, ...] = (REASK,)


@dataclass(frozen=True)
class Entry:
    """A turn that starts outside any state (a stranger's first words, a follow)."""

    run: TurnFn
    to: tuple[Next, ...]


def area(state: str) -> str:
    """The part of the conversation a state belongs to: "s4" for "s4.what", "menu" for "menu"."""
    return state.partition(".")[0]
