"""Whatever a person sends, in whatever state of the conversation, gets an answer in
their language and never an exception.

One person (a head of the demo agency's working group, so that the admins' buttons
and commands reach the database too) is walked through every state of the flow's
table, and the SQLite file is copied (the backup API, in memory) each time they
reach a state for the first time. Each hypothesis example puts that copy back,
reads the person's language (Thai or English) into their row, and sends one to four
of: arbitrary text (emoji, control characters, lone surrogates, NUL, Thai digits,
strings longer than any answer, nothing at all, commands with odd arguments), a
button id (one the question offers, one of another state, or a known prefix with
non-ASCII digits, 30-digit numbers or junk after it) with the current, a stale, no
or an absurd question number, a follow or an unfollow. After each: no exception,
nothing logged at ERROR (a handler that raises is logged "handler failed" and
answered with an apology), and a text or a tap is answered, in Thai for a Thai
person (a Thai letter in every message) and in English for an English one (no Thai
letter once the agency's own Thai names are taken out).

The same hostile text and ids go through PostgreSQL once (NUL, which PostgreSQL
refuses in text, and numbers beyond its integers) when DLCOACH_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlmodel import func, select

from bot.app import App
from handlers.flow import FLOW
from handlers.messages import Reply
from storage.db import transaction
from storage.models import Agency, ChannelAccount, ConversationState, StaffMember, StepEntry, Unit
from storage.models import Person as PersonRow
from tests.drivers.chat import START, Person, RecordingChannel, make_app, sqlite_url
from tests.drivers.journey import STEP1_SCREENS
from tests.drivers.seed import Reminders, Seeded, add_person
from tests.drivers.working_group import invite

pytestmark = pytest.mark.asyncio(loop_scope="module")

THAI = re.compile(r"[\u0E00-\u0E7F]")
LATIN = re.compile(r"[A-Za-z]{2}")
STRANGER = "(stranger)"  # before the privacy notice was accepted
THIRTY = "9" * 30
WATCHED = ("bot", "handlers", "storage", "jobs")

# ---- what a person may send ------------------------------------------------------------------

ODD = [
    "\x00", "\ud800", "\udfff", "\ud83d", "\x1b", "\r", "\n", "\t", "\x7f", "\x85", "\u200b",
    "\u202e", "\ufeff", "\ufffd", "😀", "👍🏽", "🇹🇭", "๑", "๙", "²", "①", "/", "#", ":", "|",
    "&", "=", "%", " ", "ก", "่", "a", "1",
]  # fmt: skip
COMMANDS = [
    "/menu", "/continue", "/progress", "/help", "/lang en", "/lang th", "/lang ๑", "/start",
    "/start \x00", "/remind", "/remind 8:30", "/remind ๘:๓๐", "/remind off", "/remind 99:99",
    "/idea", "/idea ok", "/reply", "/reply thanks", "/mydata", "/deleteme", "/admin",
    "/admin WRONG", "/summary", "/summary ²", "/summary ๒๕๗๐", f"/summary {THIRTY}",
    "/inactive ๑๒", f"/inactive {THIRTY}", "/inactive ²", "/nudge ²", f"/nudge {THIRTY}",
    f"/person {THIRTY}", "/person ๑", "/person ²", "/person #1", "/person", "/feedback ๑ hi",
    f"/feedback {THIRTY} hi", "/feedback 999999999 hi", "/feedback 1", "/ideas", "/exemplary",
    "/exportaccess maybe", "/broadcast", "/broadcast hello", "/bindgroup", "/notify on",
    "/nosuchcommand", "/", "/@", "เมนู", "menu", "ยกเลิก", "cancel", "/ยังไม่คืบหน้า ๑",
]  # fmt: skip
PREFIXES = [
    "fb:", "pv:", "ex:", "rc:a", "rc:s", "rc:e", "rc:", "go:", "lv:", "t:", "d:", "k:", "o:", "r:", "g:", "u:", "ag:", "a:",
    "m:", "p:", "q:", "aw:", "ng:", "bc:", "erase:", "consent:y:", "consent:n:", "consent:lang:",
    "name:", "s:", "x:", "",
]  # fmt: skip
SUFFIXES = [
    "1", "0", "๑๒๓", "²", THIRTY, "-1", "", "menu", "summary", "deleteme", "continue", "en",
    "th", "platform", "cancel", "send", "give", "yes", "\x00", "\ud800", "1" * 5000,
]  # fmt: skip
SEQS = ["current", "older", "none", "huge", "negative", "next"]

pieces = st.one_of(st.characters(), st.sampled_from(ODD))  # ODD has emoji of several code points
odd_text = st.lists(pieces, max_size=40).map("".join)
texts = st.one_of(
    odd_text,
    st.sampled_from(COMMANDS),
    st.tuples(st.sampled_from(COMMANDS), odd_text).map(lambda pair: pair[0] + " " + pair[1]),
    st.tuples(st.sampled_from(["a", "😀", "\x00", "ก", "9", "\ud800"]), st.integers(490, 6000)).map(
        lambda pair: pair[0] * pair[1]
    ),
    st.just(""),
    st.just("label"),  # the label of a button of the current question, typed
)
choices = st.one_of(
    st.tuples(st.just("offered"), st.integers(0, 20)),  # a button of the current question
    st.tuples(st.just("known"), st.integers(0, 10_000)),  # a button some state offered
    st.tuples(st.just("prefixed"), st.sampled_from(PREFIXES), st.sampled_from(SUFFIXES)),
    st.tuples(st.just("random"), odd_text),
)
inputs = st.one_of(
    st.tuples(st.just("text"), texts),
    st.tuples(st.just("choice"), choices, st.sampled_from(SEQS), texts),
    st.tuples(st.sampled_from(["follow", "unfollow"])),
)


# ---- the world: one person walked through every state ----------------------------------------


@dataclass(repr=False)
class World:
    app: App
    channel: RecordingChannel
    path: Path
    person: Person
    snapshots: dict[str, sqlite3.Connection] = field(default_factory=dict)
    known_ids: list[str] = field(default_factory=list)
    thai_names: list[str] = field(default_factory=list)  # the agency's own names, in Thai
    errors: list[logging.LogRecord] = field(default_factory=list)

    def __repr__(self) -> str:  # hypothesis prints the arguments of a failing example
        return f"World({self.path})"

    def _repr_pretty_(self, printer, cycle) -> None:  # noqa: ANN001
        printer.text(repr(self))

    def snapshot(self) -> sqlite3.Connection:
        copy = sqlite3.connect(":memory:")
        with sqlite3.connect(self.path) as live:
            live.backup(copy)
        return copy

    def restore(self, state: str) -> None:
        live = sqlite3.connect(self.path)
        try:
            self.snapshots[state].backup(live)
        finally:
            live.close()

    async def state(self) -> str:
        """The person's state now, or STRANGER when they have no person (yet, or erased)."""
        async with self.app.sessions() as session:
            account = await self._account(session)
            if account is None:
                return STRANGER
            conv = await session.get(ConversationState, account.person_id)
            return conv.state if conv is not None else "onboard.name"

    async def lang(self) -> str | None:
        async with self.app.sessions() as session:
            account = await self._account(session)
            person = await session.get(PersonRow, account.person_id) if account else None
            return person.lang if person is not None else None

    async def set_lang(self, lang: str) -> None:
        async with transaction(self.app.sessions) as session:
            account = await self._account(session)
            if account is not None:
                person = await session.get(PersonRow, account.person_id)
                assert person is not None
                person.lang = lang
                session.add(person)

    async def _account(self, session) -> ChannelAccount | None:  # noqa: ANN001
        query = select(ChannelAccount).where(
            ChannelAccount.channel == self.channel.name,
            ChannelAccount.external_id == self.person.user,
        )
        return (await session.exec(query)).first()

    async def step(self, action: Callable[[], Awaitable[object]]) -> None:
        """Do one thing in the walk; keep a copy of the database at each new state."""
        await action()
        for reply in self.person.replies:
            for choice in reply.choices:
                if choice.id not in self.known_ids:
                    self.known_ids.append(choice.id)
        state = await self.state()
        if state not in self.snapshots:
            self.snapshots[state] = self.snapshot()


class Errors(logging.Handler):
    def __init__(self, into: list[logging.LogRecord]) -> None:
        super().__init__(logging.ERROR)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in WATCHED:
            self.into.append(record)


async def prepare_agency(app: App) -> None:
    """The demo agency with a staff list (so onboarding asks for a staff code) and a
    person who went quiet long ago (so /nudge has someone to preview)."""
    async with transaction(app.sessions) as session:
        demo = (await session.exec(select(Agency).where(Agency.code == "DEMO"))).one()
        session.add(StaffMember(agency_id=demo.id, staff_code="A0001"))
        long_ago = START - timedelta(days=40)
        await add_person(
            session,
            Seeded(
                name="Quiet Person",
                agency_id=demo.id,  # type: ignore[arg-type]
                joined_at=long_ago,
                last_active_at=long_ago,
                step=2,
                step_started_at=long_ago,
                started_at=long_ago,
                reminders=Reminders(),
            ),
        )


async def walk(world: World) -> None:
    """Through every state of the table, in English words (the person is Thai)."""
    w, step = world.person, world.step

    def tap(which: str | int) -> Callable[[], Awaitable[object]]:
        return lambda: w.tap(which)

    def say(text: str) -> Callable[[], Awaitable[object]]:
        return lambda: w.say(text)

    def tap_prefixed(prefix: str) -> Callable[[], Awaitable[object]]:
        def find() -> str:
            return next(c.id for c in w.question.choices if c.id.startswith(prefix))

        return lambda: w.tap(find())

    async def answer_recall() -> None:
        """The "answer" button of a recall nudge about the latest learning entry."""
        async with world.app.sessions() as session:
            entry_id = (
                await session.exec(
                    select(func.max(StepEntry.id)).where(StepEntry.kind == "learning")
                )
            ).one()
        await w.press(f"rc:a{entry_id}")

    def keep_as_evidence() -> Callable[[], Awaitable[object]]:
        def kept() -> Reply:
            return next(
                r for r in reversed(w.replies) if any(c.id.startswith("rc:e") for c in r.choices)
            )

        return lambda: w.tap_stale(kept())

    await step(w.follow)
    code = await invite(world.app, "head")
    for action in [
        tap(1),  # accept the privacy notice
        say("Somchai Jaidee"),
        tap(1),  # the demo agency
        tap("s:skip"),  # no staff code
        tap(1),  # the first unit
        tap("g:g3"),
        tap("t:0730"),
        say(f"/admin {code}"),
        say("/continue"),
        *[tap("next") for _ in range(STEP1_SCREENS)],
        say("It helps me serve citizens faster"),
        tap("start"),
        *[tap(f"lv:{level}") for level in (2, 3, 2, 1, 4, 3, 2, 2, 1)],
        tap("next"),
        tap("k:word"),
        tap("k:media"),
        tap("done"),
        *[tap(2), tap("d:3m"), tap("a:onthejob")] * 2,
        tap("cue:morning"),  # the plan's cue by tap, so the action is asked
        say("Practise styles for 15 minutes"),
        # detours, from the learning log's menu
        say("/menu"),
        say("/continue"),
        say("/remind"),
        tap("r:time"),
        say("8:30"),
        tap("r:days"),
        tap("d:ok"),
        tap("r:pause"),
        tap("p:back"),
        tap("r:quiet"),
        tap("q:none"),
        tap("r:done"),
        say("/deleteme"),
        tap("erase:no"),
        say("/idea"),
        say("More time to practise, please"),
        say("/broadcast"),
        say("Meeting at ten"),
        tap("x:cancel"),
        say("/continue"),
        say("/nudge"),
        tap("x:cancel"),
        say("/continue"),
        say("/feedback 2 Well done"),  # to themselves: number 2 after the quiet person
        tap_prefixed("fb:"),
        say("Thank you"),
        # step 4
        tap("log"),
        tap("k:word"),
        say("Practised heading styles in Word"),
        tap("o:30"),
        say("Made an automatic table of contents"),
        # a recall of that entry, answered and kept as evidence (as a nudge would ask)
        answer_recall,
        say("For the monthly circular letter"),
        keep_as_evidence(),
        tap("next"),
        # step 5, once with a typed result (so the outcome is asked)
        tap("log"),
        tap("k:word"),
        say("Monthly circular letter"),
        say("Microsoft Word"),
        say("Finished in half the time"),
        tap("o:faster"),
        tap("next"),
        # step 6
        tap("start"),
        *[tap(f"lv:{level}") for level in (3, 3, 3, 3, 4, 3, 3, 2, 2)],
        tap("next"),
        say("A little practice every day works"),
        say("Use heading styles and the table of contents builds itself"),
        # the certificate, for the person who just completed
        say("/exemplary"),
        tap_prefixed("ex:"),
        tap("x:cancel"),
    ]:
        await step(action)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory):
    path = tmp_path_factory.mktemp("hostile") / "dlcoach.db"
    app = await make_app(sqlite_url(path))
    channel = RecordingChannel()
    app.add_channel(channel)
    world = World(app, channel, path, Person(app, channel, user="walker"))
    await prepare_agency(app)
    async with app.sessions() as session:
        agencies = (await session.exec(select(Agency.name))).all()
        units = (await session.exec(select(Unit.name))).all()
    world.thai_names = sorted({*agencies, *units}, key=len, reverse=True)
    handler = Errors(world.errors)
    logging.getLogger().addHandler(handler)
    try:
        await world.step(lambda: asyncio.sleep(0))  # a stranger
        await walk(world)
        assert world.errors == [], [r.getMessage() for r in world.errors]
        yield world
    finally:
        logging.getLogger().removeHandler(handler)
        for copy in world.snapshots.values():
            copy.close()
        await app.close()


# ---- checking one reply ----------------------------------------------------------------------


def in_language(world: World, text: str, lang: str) -> bool:
    """Thai: a Thai letter. English: no Thai letter once the agency's Thai names are
    out, and some English word."""
    if lang == "th":
        return bool(THAI.search(text))
    for name in world.thai_names:
        text = text.replace(name, "")
    return not THAI.search(text) and bool(LATIN.search(text))


def strip_thai(value: str, lang: str) -> str:
    """What an English person types has no Thai in it (their answers may be echoed)."""
    return THAI.sub("", value) if lang == "en" else value


async def send(world: World, item: tuple, lang: str) -> tuple[str, list[Reply]]:
    """Send one drawn input as the walked person; returns its kind and the replies."""
    w = world.person
    asked = [r for r in w.replies if r.choices or r.question_seq is not None]
    question = asked[-1] if asked else None
    offered = list(question.choices) if question else []
    current = question.question_seq if question else None

    def typed(value: str) -> str:
        if value == "label":
            return offered[0].label if offered else ""
        return strip_thai(value, lang)

    kind = item[0]
    if kind == "text":
        return kind, await w.say(typed(item[1]))
    if kind in ("follow", "unfollow"):
        return kind, await w._send(kind=kind)
    _, picked, seq_kind, text = item
    label = typed(text)
    if picked[0] == "offered" and offered:
        choice = offered[picked[1] % len(offered)]
        choice_id, label = choice.id, choice.label
    elif picked[0] == "known":
        choice_id = world.known_ids[picked[1] % len(world.known_ids)]
    elif picked[0] == "prefixed":
        choice_id = strip_thai(picked[1] + picked[2], lang)
    elif picked[0] == "random":
        choice_id = strip_thai(picked[1], lang)
    else:  # a button of the current question, and it has none
        choice_id = "x"
    seq = {
        "current": current,
        "older": (current or 1) - 1,
        "none": None,
        "huge": 10**30,
        "negative": -7,
        "next": (current or 0) + 1,
    }[seq_kind]
    return kind, await w._send(kind="choice", choice=choice_id, text=label, question_seq=seq)


async def check_inputs(world: World, state: str, lang: str, items: list[tuple]) -> None:
    world.restore(state)
    world.person.replies = list(world.person.replies[-1:])  # the state's question
    world.errors.clear()
    await world.set_lang(lang)
    for item in items:
        before = await world.lang()
        kind, replies = await send(world, item, lang if before is None else before)
        assert world.errors == [], [r.getMessage() for r in world.errors]
        if kind in ("text", "choice"):
            assert replies, f"no answer to {item!r}"
            assert all(r.text.strip() for r in replies), replies
        after = await world.lang()
        expected = {before, after} - {None}
        if not expected:  # a stranger before and after: the notice's language is theirs
            continue
        for reply in replies:
            assert any(in_language(world, reply.text, lg) for lg in expected), (
                f"not in {expected}: {reply.text!r} after {item!r}"
            )


# ---- the tests -------------------------------------------------------------------------------


STATES = [STRANGER, *sorted(FLOW.states)]


async def test_the_walk_reaches_every_state_of_the_table(world):
    assert sorted(world.snapshots) == sorted(STATES)


# Run in every state besides the drawn ones: each of these raised before.
KNOWN = [
    ("choice", ("prefixed", "pv:", THIRTY), "none", ""),  # SQLite: OverflowError
    ("choice", ("prefixed", "fb:", "²"), "none", ""),  # int("²"): ValueError
    ("text", "²"),  # a rating, minutes or a target level: ValueError
    ("text", f"/person {THIRTY}"),
    ("text", "/summary ²"),
    ("text", "a\ud800\x00b"),  # SQLite: UnicodeEncodeError
]


@pytest.mark.parametrize("state", STATES)
@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(lang=st.sampled_from(["th", "en"]), items=st.lists(inputs, min_size=1, max_size=4))
@example(lang="th", items=KNOWN)
async def test_any_input_in_any_state_is_answered_in_the_persons_language(
    world, state, lang, items
):
    if state not in world.snapshots:
        pytest.fail(f"the walk never reached {state}")
    await check_inputs(world, state, lang, items)


# ---- PostgreSQL: NUL and numbers beyond its integers -------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize(
    "text",
    ["a\x00b", "\ud800", "\x00", "x\udc00\x00\x1b[0m\ud83d😀"],
    ids=["nul", "surrogate", "only-nul", "mixed"],
)
async def test_nul_and_surrogates_are_stored_on_postgres(postgres_url, text):
    app = await make_app(postgres_url)
    channel = RecordingChannel()
    app.add_channel(channel)
    try:
        person = Person(app, channel, user=uuid.uuid4().hex[:8])
        await person.follow()
        await person.tap(1)
        await person.say(f"Somchai {text}")
        code = await invite(app, "head")
        actions = [
            lambda: person.say(f"DEMO{text}"),  # looked up as a join code
            lambda: person.tap(1),
            lambda: person.say(f"/admin {code}{text}"),
            lambda: person.say(f"/admin {code}"),
            lambda: person.say(f"/idea {text} more time"),
            lambda: person.say(f"/feedback 1 {text} well done"),
            lambda: person.say(f"/person {THIRTY}"),
            lambda: person.say("/person ๑"),
            lambda: person.say(f"/inactive {THIRTY}"),
            lambda: person._send(kind="choice", choice=f"fb:{THIRTY}", text=text),
            lambda: person._send(kind="choice", choice=f"pv:{THIRTY}", text=text),
            lambda: person._send(kind="choice", choice=f"ex:{THIRTY}", text=text),
            lambda: person._send(kind="choice", choice=f"pv:{text}", question_seq=10**30),
            lambda: person.say(text),
        ]
        for action in actions:
            replies = await action()
            assert replies and all(THAI.search(r.text) for r in replies), replies
        async with app.sessions() as session:
            row = (await session.exec(select(PersonRow).where(PersonRow.agency_number == 1))).one()
        assert "\x00" not in (row.display_name or "")
        assert row.display_name and row.display_name.startswith("Somchai")
    finally:
        await app.close()
