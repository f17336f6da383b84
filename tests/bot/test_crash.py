"""kill -9 under traffic: delivery is effectively once.

`dlcoach serve` runs as a subprocess, both webhooks configured and the flood
gate off, against the fake LINE and Telegram servers of this process. Twenty
LINE and twenty Telegram people walk the start of the journey at once: follow
(or /start), the privacy notice, their name, the demo agency's code DEMO, unit,
personnel group, reminders off, step 1, the nine self-ratings of step 2 and on
to step 3. Each sends their next message once the previous webhook was
acknowledged and its answer arrived; a webhook that got no 2xx is posted again
with the same event id / update_id until it is acknowledged, as the platforms
do. Meanwhile the server is killed with SIGKILL twice, at different moments,
and started again on the same database each time.

Then every chat's arrivals are matched, in order, against the outbox rows the
database holds (rendered by the channels' own renderers): nothing lost (every
acknowledged webhook was stored and answered, every row sent, every message of
it arrived); nothing twice on LINE (replies and pushes both count; reply tokens
are reconciled, pushes carry a retry key); on Telegram, which has no retry key,
at most the sender's concurrency repeated per kill (and never more sends in
flight at once than that, the process's delivery loop and tick together); and
after each restart,
every chat that was waiting got its next message within 5 s of /healthz.
"""

from __future__ import annotations

import asyncio
import bisect
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable
from functools import partial

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import select

from bot.config import Settings
from content.loader import load_content
from storage.db import async_url, make_engine, make_sessionmaker
from storage.models import OutboxMessage, ProcessedEvent
from storage.timeutil import as_utc
from tests.drivers.chat import POSTGRES_ENV, POSTGRES_URL
from tests.drivers.crash import (
    Alignment,
    BotProcess,
    LinePerson,
    Person,
    Step,
    TelegramPerson,
    TimedLineServer,
    TimedTelegramServer,
    Traffic,
    align,
    expected_keys,
    free_port,
)
from tests.drivers.journey import PRE, STEP1_SCREENS

pytestmark = pytest.mark.long

LINE_SECRET, LINE_TOKEN = "crash-line-secret", "crash-line-token"
TELEGRAM_TOKEN, TELEGRAM_SECRET = "123456:crash-telegram-token", "crash-telegram-secret"
PEOPLE = 20  # per platform
KILL_AT = (0.3, 0.65)  # the share of all webhooks acknowledged when the server is killed
DOWN_SECONDS = 0.5  # how long the server stays dead (the platforms keep redelivering)
RESTART_WAIT = 5.0  # the longest a waiting chat may wait after /healthz is ready again
QUIET_SECONDS = 3.0  # no new message for this long: the outbox is empty
# Rows of one claim sent at once: what may be in flight (and so repeated) at a kill.
CONCURRENCY = Settings.model_fields["dlcoach_outbox_concurrency"].default


def script(number: int) -> list[Step]:
    """The start of the journey, every message answered by the bot."""
    return [
        Step("follow"),
        Step("tap", "consent:y:th"),
        Step("say", f"ผู้ทดสอบ {number}"),
        Step("say", "DEMO"),  # the demo agency's code (bot.app.DEMO_CODE)
        Step("tap", 1),  # the first unit
        Step("tap", "g:g3"),
        Step("tap", "t:off"),
        *[Step("tap", "next") for _ in range(STEP1_SCREENS)],
        Step("say", "ช่วยให้บริการประชาชนได้ดีขึ้น"),
        Step("tap", "start"),
        *[Step("tap", f"lv:{level}") for level in PRE],
        Step("tap", "next"),  # past the chart, to step 3
    ]


async def _admin(url: str, statement: str) -> None:
    engine = create_async_engine(async_url(url), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
async def crash_database(request, tmp_path) -> AsyncIterator[str]:
    """A SQLite file, or a fresh PostgreSQL database dropped afterwards (others
    may be using the test database meanwhile)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL variant skipped")
    name = f"dlcoach_crash_{secrets.token_hex(4)}"
    await _admin(POSTGRES_URL, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def until(condition: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within}s: {what}")
        await asyncio.sleep(0.02)


async def quiet(people: list[Person], seconds: float, within: float = 60.0) -> None:
    """Wait until no message has arrived anywhere for `seconds`."""
    deadline = time.monotonic() + within
    count, since = -1, time.monotonic()
    while time.monotonic() - since < seconds:
        now = sum(len(p.arrivals()) for p in people)
        if now != count:
            count, since = now, time.monotonic()
        assert time.monotonic() < deadline, "messages kept arriving"
        await asyncio.sleep(0.1)


async def stored(url: str) -> tuple[list[OutboxMessage], set[tuple[str, str]]]:
    """Every outbox row, oldest first, and every processed event id."""
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            rows = list(
                (await session.exec(select(OutboxMessage).order_by(OutboxMessage.id))).all()
            )
            events = await session.exec(select(ProcessedEvent.channel, ProcessedEvent.event_id))
            return rows, {(channel, event_id) for channel, event_id in events.all()}
    finally:
        await engine.dispose()


async def test_kill_9_twice_loses_nothing_and_doubles_nothing(crash_database, tmp_path):
    began = time.monotonic()
    async with (
        TimedLineServer(access_token=LINE_TOKEN, clock=time.time, quota=None) as line,
        TimedTelegramServer(token=TELEGRAM_TOKEN) as telegram,
    ):
        port = free_port()
        bot = BotProcess(
            env={
                "DATABASE_URL": crash_database,
                "LINE_CHANNEL_SECRET": LINE_SECRET,
                "LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN,
                "LINE_API_BASE_URL": line.base_url,
                "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
                "TELEGRAM_API_BASE_URL": telegram.base_url,
                "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/webhooks/telegram",
                "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
                "DLCOACH_FLOOD_BURST": "0",
                "DLCOACH_OUTBOX_CONCURRENCY": str(CONCURRENCY),
            },
            port=port,
            cwd=tmp_path,  # no .env of the checkout
            log=tmp_path / "serve.log",
        )
        traffic = Traffic()
        scripts = [script(n) for n in range(2 * PEOPLE)]
        total = sum(len(s) for s in scripts)
        waiting_at_kill: list[int] = []
        try:
            await bot.start()
            assert telegram.webhook["url"].endswith("/webhooks/telegram")
            async with httpx.AsyncClient() as client:
                line_url = f"{bot.base_url}/webhooks/line"
                telegram_url = f"{bot.base_url}/webhooks/telegram"
                people: list[Person] = [
                    LinePerson(f"U{n:032x}", line_url, client, traffic, line, LINE_SECRET)
                    for n in range(1, PEOPLE + 1)
                ] + [
                    TelegramPerson(
                        str(7_100_000 + n), telegram_url, client, traffic, telegram, TELEGRAM_SECRET
                    )
                    for n in range(1, PEOPLE + 1)
                ]
                walks = [
                    asyncio.create_task(p.walk(s)) for p, s in zip(people, scripts, strict=True)
                ]
                try:
                    for share in KILL_AT:
                        await until(
                            lambda share=share: (
                                traffic.acknowledged >= share * total
                                or all(w.done() for w in walks)
                            ),
                            120,
                            f"{share:.0%} of the webhooks acknowledged",
                        )
                        failed = [w.exception() for w in walks if w.done() and w.exception()]
                        if failed:
                            raise failed[0]
                        assert not all(w.done() for w in walks), (
                            f"the walks ended before the kill: lost {traffic.lost}"
                        )
                        bot.kill()
                        waiting_at_kill.append(sum(p.waiting_since is not None for p in people))
                        await asyncio.sleep(DOWN_SECONDS)
                        await bot.start()
                    await asyncio.wait_for(asyncio.gather(*walks), 120)
                    await quiet(people, QUIET_SECONDS)
                finally:
                    for walk in walks:
                        walk.cancel()
                    await asyncio.gather(*walks, return_exceptions=True)
        finally:
            bot.stop()

        rows, events = await stored(crash_database)
        report = Report(people, rows, bot)
        in_flight = telegram.most_in_flight
    report.print(crash_database, traffic, waiting_at_kill, time.monotonic() - began, in_flight)

    # ---- nothing lost -------------------------------------------------------------------------
    assert traffic.lost == [], f"answers that never came: {traffic.lost}\n{bot.log_tail()}"
    assert all(p.done for p in people)
    unstored = [
        (p.channel, e) for p in people for e in p.acked_events if (p.channel, e) not in events
    ]
    assert unstored == [], f"acknowledged but not stored: {unstored}"
    assert len(rows) >= total, "every message of the script is answered by at least one row"
    not_sent = [(r.id, r.channel, r.status, r.last_error) for r in rows if r.status != "sent"]
    assert not_sent == [], f"outbox rows not sent: {not_sent}"
    strangers = {(r.channel, r.chat_id) for r in rows} - {(p.channel, p.chat) for p in people}
    assert strangers == set(), f"rows for chats nobody in the test has: {strangers}"
    for person in people:
        alignment = report.alignments[person.chat]
        assert alignment.missing == [], f"{person.channel} {person.chat} lost {alignment.missing}"
        assert alignment.unexpected == [], (
            f"{person.channel} {person.chat}: arrived but not in its outbox rows (or out of order): "
            f"{[a.key for a in alignment.unexpected]}"
        )

    # ---- nothing twice (Telegram: at most what was in flight) --------------------------------
    assert not any(report.duplicates("line")), "LINE: a message arrived twice"
    telegram_duplicates = report.duplicates("telegram")
    assert telegram_duplicates[0] == 0, "Telegram: a message arrived twice without any kill"
    assert in_flight <= CONCURRENCY, (
        f"Telegram: {in_flight} sends in flight at once, more than the sender's {CONCURRENCY}"
    )
    assert all(d <= CONCURRENCY for d in telegram_duplicates[1:]), (
        f"Telegram: more repeated after a kill than the {CONCURRENCY} sends in flight: "
        f"{telegram_duplicates[1:]}: {report.repeated('telegram')}"
    )

    # ---- nobody waits long after a restart -----------------------------------------------------
    for number, waits in enumerate(report.waits(), start=1):
        slow = {chat: round(w, 2) for chat, w in waits.items() if w > RESTART_WAIT}
        assert slow == {}, f"after restart {number}, chats waited longer than {RESTART_WAIT}s"


class Report:
    """The run's outcome, chat by chat: the alignment of arrivals against the outbox."""

    def __init__(self, people: list[Person], rows: list[OutboxMessage], bot: BotProcess) -> None:
        t = partial(load_content().t, lang="th")
        self.people, self.bot = people, bot
        self.created = {r.id: as_utc(r.created_at).timestamp() for r in rows}
        self.alignments: dict[str, Alignment] = {}
        for person in people:
            chat_rows = [
                (r.id, expected_keys(r.channel, r.payload, t))
                for r in rows
                if r.channel == person.channel and r.chat_id == person.chat
            ]
            self.alignments[person.chat] = align(chat_rows, list(person.arrivals()))

    def _run_of(self, at: float) -> int:
        """0 for the first server process, n after the nth kill."""
        return max(bisect.bisect_right(self.bot.started, at) - 1, 0)

    def duplicates(self, channel: str) -> list[int]:
        """Messages that arrived again, per server process (so per kill after the first)."""
        counts = [0] * len(self.bot.started)
        for person in self.people:
            if person.channel == channel:
                for arrival in self.alignments[person.chat].duplicates:
                    counts[self._run_of(arrival.at)] += 1
        return counts

    def repeated(self, channel: str) -> list[tuple[str, str]]:
        """(chat, start of the text) of each message that arrived twice."""
        return [
            (person.chat, arrival.key[0][:30])
            for person in self.people
            if person.channel == channel
            for arrival in self.alignments[person.chat].duplicates
        ]

    def waits(self) -> list[dict[str, float]]:
        """Per restart: each chat that had an answer pending at the kill (a row
        written before it, some of whose messages came only from a later server),
        and how long after /healthz was ready its first message came."""
        result = []
        for number, killed in enumerate(self.bot.killed, start=1):
            started, ready = self.bot.started[number], self.bot.ready[number]
            waits = {}
            for person in self.people:
                alignment = self.alignments[person.chat]
                pending = [
                    at
                    for (row_id, _), at in alignment.matched.items()
                    if self.created[row_id] < killed and at > started
                ]
                if pending:
                    first = min(a.at for a in person.arrivals() if a.at > started)
                    waits[person.chat] = max(first - ready, 0.0)
            result.append(waits)
        return result

    def print(
        self, database: str, traffic: Traffic, waiting: list[int], seconds: float, in_flight: int
    ) -> None:
        kind = make_url(database).get_backend_name()
        line = [p for p in self.people if p.channel == "line"]
        tg = [p for p in self.people if p.channel == "telegram"]
        line_arrivals = [a for p in line for a in p.arrivals()]
        replies = sum(a.via == "reply" for a in line_arrivals)
        tg_arrivals = sum(len(p.arrivals()) for p in tg)
        latencies = [answered - acked for acked, answered, _, _ in traffic.answers]
        released = sum(
            int(n) for n in re.findall(r"outbox: (\d+) rows of stopped senders", self._log())
        )
        print(f"\n---- kill -9 run on {kind}: {seconds:.0f} s ----")
        print(
            f"people: {len(line)} LINE + {len(tg)} Telegram; webhooks acknowledged: "
            f"{traffic.acknowledged} ({traffic.posts} posts, {traffic.redelivered} redelivered)"
        )
        starts = [f"{r - s:.1f}" for s, r in zip(self.bot.started, self.bot.ready, strict=True)]
        print(
            f"server start to /healthz ready (s): {', '.join(starts)}; "
            f"kills: {len(self.bot.killed)}; people waiting for an answer at each: {waiting}; "
            f"rows of the dead senders released at restart: {released}"
        )
        print(
            f"LINE: {len(line_arrivals)} messages delivered ({replies} by reply, "
            f"{len(line_arrivals) - replies} by push); duplicates per run: "
            f"{self.duplicates('line')}; replies reconciled after a kill: "
            f"{self.bot.log_count('its reply went out on an earlier try')}; pushes LINE "
            f"already had: {self.bot.log_count('LINE had already accepted this push')}"
        )
        print(
            f"Telegram: {tg_arrivals} messages delivered; duplicates per run: "
            f"{self.duplicates('telegram')} (bound per kill: {CONCURRENCY}); most sends "
            f"in flight at once: {in_flight}"
        )
        for number, waits in enumerate(self.waits(), start=1):
            longest = max(waits.values(), default=0.0)
            print(
                f"after restart {number}: {len(waits)} chats had an answer pending; "
                f"longest wait after /healthz: {longest:.2f} s"
            )
        if latencies:
            print(f"answer after acknowledgement: longest {max(latencies):.2f} s")

    def _log(self) -> str:
        return self.bot.log.read_text(errors="replace") if self.bot.log.exists() else ""
