"""The engine on a small table of its own: where answers lead, the detour stack,
and that a wrong name in the table is an error rather than a silent detour."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handlers import engine
from handlers.context import Answer, Ctx
from handlers.conversation import BACK, END, REASK, RESUME, Command, Entry, State
from handlers.engine import STACK, Flow, FlowError
from handlers.messages import Choice, Incoming
from storage.models import ChannelAccount, ConversationState, Person

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def asker(name: str):  # noqa: ANN201
    async def ask(ctx: Ctx) -> None:
        ctx.ask(f"question {name}", [Choice("go", "go"), Choice("back", "back")])

    return ask


def answers(mapping: dict[str, object]):  # noqa: ANN201
    async def answer(ctx: Ctx, answer: Answer):  # noqa: ANN202
        if answer.choice is None:
            ctx.set_data(typed=answer.text)
            return REASK
        return mapping[answer.choice]

    return answer


async def nothing(ctx: Ctx) -> None:
    return None


async def entry(ctx: Ctx) -> str:
    return "a.one"


def small_flow(**overrides: State) -> Flow:
    states = {
        "a.one": State(asker("a.one"), answers({"go": "a.two"}), to=("a.two", REASK)),
        "a.two": State(asker("a.two"), answers({"go": "a.one"}), to=("a.one", REASK)),
        "menu": State(
            asker("menu"),
            answers({"go": "settings", "back": RESUME}),
            to=("settings", RESUME),
            detour=True,
        ),
        "settings": State(asker("settings"), answers({"back": BACK}), to=(BACK,), detour=True),
        **overrides,
    }

    async def to_menu(ctx: Ctx, argument: str) -> str:
        return "menu"

    async def back_to_it(ctx: Ctx) -> object:
        return REASK

    return Flow(
        version=1,
        states=states,
        commands={"menu": Command(to_menu, to=("menu",))},
        group_commands={},
        pushed={},
        stranger=Entry(back_to_it, to=(END,)),
        follow=Entry(back_to_it, to=(REASK,)),
        entry=entry,
        arrive=nothing,
        leave=nothing,
    )


def new_ctx(content, conv: ConversationState, **incoming) -> Ctx:  # noqa: ANN001, ANN003
    return Ctx(
        session=None,  # type: ignore[arg-type] - the small table never touches the database
        content=content,
        now=NOW,
        incoming=Incoming(channel="test", user_id="u", chat_id="u", **incoming),
        lang="en",
        person=Person(id=1, display_name="Somchai", onboarded_at=NOW),
        account=ChannelAccount(id=1, person_id=1, channel="test", external_id="u", chat_id="u"),
        conv=conv,
    )


async def turn(content, flow: Flow, conv: ConversationState, **incoming) -> Ctx:  # noqa: ANN001, ANN003
    ctx = new_ctx(content, conv, **incoming)
    await engine.run(ctx, flow)
    return ctx


def tap(conv: ConversationState, choice: str) -> dict:
    return {"kind": "choice", "choice": choice, "question_seq": conv.question_seq}


async def test_a_detour_returns_where_it_began_and_resume_keeps_the_answer_half_typed(content):
    flow = small_flow()
    conv = ConversationState(person_id=1, state="a.one", data={}, flow_version=1)
    await turn(content, flow, conv, text="half an answer")  # stays on a.one, keeps the text
    assert conv.state == "a.one" and conv.data["typed"] == "half an answer"
    await turn(content, flow, conv, text="/menu")
    assert conv.state == "menu" and conv.data[STACK] == ["a.one"]
    await turn(content, flow, conv, **tap(conv, "go"))
    assert conv.state == "settings" and conv.data[STACK] == ["a.one", "menu"]
    ctx = await turn(content, flow, conv, **tap(conv, "back"))  # BACK: to the menu
    assert conv.state == "menu" and conv.data[STACK] == ["a.one"]
    assert ctx.replies[-1].text == "question menu"
    await turn(content, flow, conv, text="/menu")  # already open: nothing is stacked twice
    assert conv.data[STACK] == ["a.one"]
    await turn(content, flow, conv, **tap(conv, "back"))  # RESUME: same part of the journey
    assert conv.state == "a.one" and conv.data[STACK] == []
    assert conv.data["typed"] == "half an answer"


async def test_typing_a_command_inside_a_detour_closes_what_was_opened_after_it(content):
    flow = small_flow()
    conv = ConversationState(person_id=1, state="a.two", data={}, flow_version=1)
    await turn(content, flow, conv, text="/menu")
    await turn(content, flow, conv, **tap(conv, "go"))
    assert conv.data[STACK] == ["a.two", "menu"]
    await turn(content, flow, conv, text="/menu")  # back to the menu from the settings
    assert conv.state == "menu" and conv.data[STACK] == ["a.two"]


async def test_an_answer_may_only_lead_where_the_table_says(content):
    flow = small_flow(**{"a.one": State(asker("a.one"), answers({"go": "a.two"}), to=(REASK,))})
    conv = ConversationState(person_id=1, state="a.one", data={}, flow_version=1)
    await turn(content, flow, conv, text="hello")
    with pytest.raises(FlowError, match="does not list"):
        await turn(content, flow, conv, **tap(conv, "go"))


async def test_a_misspelled_state_is_an_error_not_the_entry_state(content):
    flow = small_flow(
        **{"a.one": State(asker("a.one"), answers({"go": "a.tow"}), to=("a.tow", REASK))}
    )
    conv = ConversationState(person_id=1, state="a.one", data={}, flow_version=1)
    await turn(content, flow, conv, text="hello")
    with pytest.raises(FlowError, match="no state named 'a.tow'"):
        await turn(content, flow, conv, **tap(conv, "go"))
