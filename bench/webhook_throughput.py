"""Webhook throughput: `dlcoach serve` against a bare echo bot on the same fakes.

A real `dlcoach serve` (a subprocess) runs against the local fake platforms of
tests/fakes (the Telegram Bot API fake and the LINE Messaging API fake, served
from this process). N simulated users post webhook updates to it at once, each
waiting for the bot's answer to arrive at the fake platform before posting
their next one: Telegram text and button presses (with the webhook secret),
LINE signed message, postback and follow events (with reply tokens). The users
walk the start of the journey (consent, name, agency, unit, group, reminders,
step 1, the nine self-ratings of step 2), tapping the buttons the bot sent.

Baselines, in the same run, on the same fakes and with the same drivers: a bare
python-telegram-bot echo bot behind Starlette (as PTB's
examples/customwebhookbot/starlettebot.py: the webhook puts the update on the
application's queue and answers at once) and a bare line-bot-sdk echo bot (v3
async API, replying with the reply token before answering, as the SDK's
aiohttp example does). They echo each text, and answer each button press.

Printed per platform, database and number of users: updates/s of ours and of
the bare bot and their ratio; end-to-end p50/p95 (webhook posted -> answer at
the fake platform) of both, and the ratio of the p50s; `lost`: acknowledged
updates that are not stored in the database (processed events) plus answers
that never arrived; and the CPU time each bot's process spent per answered
update (read from Linux's /proc), which a busy machine disturbs far less than
the rates and latencies. Targets: Telegram ours/bare updates/s >= 0.5 at 50 and 500
users; LINE p50 ours within 3x of bare.

Usage (from the repository root):

    .venv/bin/python -m bench.webhook_throughput --quick
    .venv/bin/python -m bench.webhook_throughput
    .venv/bin/python -m bench.webhook_throughput --only telegram --users 50 --postgres ''

PostgreSQL: the benchmark connects to --postgres (default
postgresql://postgres@127.0.0.1:5432/postgres), creates its own database
bench_webhooks_<pid>, and drops it at the end, also on error; --postgres ''
skips PostgreSQL. This is a benchmark, not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench.databases import DEFAULT_SERVER, create_scratch, drop_scratch  # noqa: E402

TELEGRAM_TOKEN = "123456:bench-telegram-token"
TELEGRAM_SECRET = "bench-telegram-secret"
LINE_SECRET = "bench-line-secret"
LINE_TOKEN = "bench-line-token"
PROFILE_DIR: Path | None = None  # --profile DIR
PROFILED_SERVE = """
import atexit, cProfile, signal, sys
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # uvicorn raises it again at its exit
profile = cProfile.Profile()
atexit.register(lambda: (profile.disable(), profile.dump_stats({out!r})))
sys.argv = ["dlcoach", "serve", "--port", sys.argv[1]]
profile.enable()
from bot.cli import main
main()
"""
ANSWER_WITHIN = 60.0  # seconds a user waits for an answer before calling it lost
PRE = [2, 3, 2, 1, 4, 3, 2, 2, 1]  # the nine self-ratings (as tests/drivers/journey.py)
STEP1_SCREENS = 5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---- what the users do --------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """`follow` (LINE follow / Telegram /start), `say` TEXT, or `tap` a button of the
    latest question (by choice id or 1-based position)."""

    kind: str
    value: str | int = ""


def script(number: int) -> list[Step]:
    """The start of the journey; every step is answered with a new question."""
    return [
        Step("follow"),
        Step("tap", "consent:y:th"),
        Step("say", f"ผู้ทดสอบ {number}"),
        Step("say", "DEMO"),  # the demo agency's code
        Step("tap", 1),  # the first unit
        Step("tap", "g:g3"),
        Step("tap", "t:off"),
        *[Step("tap", "next") for _ in range(STEP1_SCREENS)],
        Step("say", "ช่วยให้บริการประชาชนได้ดีขึ้น"),
        Step("tap", "start"),
        *[Step("tap", f"lv:{level}") for level in PRE],
        Step("tap", "next"),  # past the chart, to step 3
    ]


# ---- the fake platforms, telling the users what arrived ----------------------------------------


@dataclass
class Arrival:
    at: float  # time.monotonic() when the fake platform accepted it
    message: dict[str, Any]
    buttons: list[tuple[str, int | None, str]]  # (choice id, question number, payload)


class Inbox:
    """Arrivals per chat, and a wake-up for the user waiting on that chat (the fakes
    run in their own threads; the users on the main loop)."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.arrivals: defaultdict[str, list[Arrival]] = defaultdict(list)
        self.events: dict[str, asyncio.Event] = {}

    def event(self, chat: str) -> asyncio.Event:
        return self.events.setdefault(chat, asyncio.Event())

    def arrived(self, chat: str, arrivals: list[Arrival]) -> None:  # any thread
        assert self.loop is not None
        self.loop.call_soon_threadsafe(self._store, chat, arrivals)

    def _store(self, chat: str, arrivals: list[Arrival]) -> None:
        self.arrivals[chat].extend(arrivals)
        self.event(chat).set()


def make_fakes(inbox: Inbox):  # noqa: ANN201 - (telegram server, line server) classes
    from bot.channels.line.render import decode_postback
    from bot.channels.telegram.render import parse_callback_data
    from tests.fakes.line_api import FakeLineServer
    from tests.fakes.telegram_api import FakeTelegramServer

    def telegram_buttons(message: dict[str, Any]) -> list[tuple[str, int | None, str]]:
        rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
        found = []
        for row in rows:
            for button in row:
                data = str(button.get("callback_data", ""))
                choice, seq = parse_callback_data(data)
                found.append((choice, seq, data))
        return found

    def line_buttons(message: dict[str, Any]) -> list[tuple[str, int | None, str]]:
        found = []
        for item in (message.get("quickReply") or {}).get("items") or []:
            data = str((item.get("action") or {}).get("data", ""))
            postback = decode_postback(data)
            if postback.choice:
                found.append((postback.choice, postback.question_seq, data))
        return found

    class BenchTelegramServer(FakeTelegramServer):
        def _bot_message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
            message = super()._bot_message(params, **content)
            at = time.monotonic()
            arrival = Arrival(at, message, telegram_buttons(message))
            inbox.arrived(str(message["chat"]["id"]), [arrival])
            return message

    class BenchLineServer(FakeLineServer):
        def _deliver(self, to: str, messages: list[dict[str, Any]], via: str, request_id: str):  # noqa: ANN202
            super()._deliver(to, messages, via, request_id)
            at = time.monotonic()
            inbox.arrived(to, [Arrival(at, m, line_buttons(m)) for m in messages])

    return BenchTelegramServer, BenchLineServer


# ---- the users ------------------------------------------------------------------------------------


@dataclass
class Tally:
    posts: int = 0
    acknowledged: int = 0
    event_ids: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    unanswered: int = 0
    refused: int = 0
    first: float = 0.0
    last: float = 0.0


class User:
    """One person: post, wait for the answer at the fake platform, post the next."""

    def __init__(self, number: int, chat: str, driver: Driver) -> None:
        self.number, self.chat, self.driver = number, chat, driver
        self.last_seq = -1
        self.mark = 0

    def arrivals(self) -> list[Arrival]:
        return self.driver.inbox.arrivals[self.chat]

    def find_button(self, which: str | int | None) -> tuple[Arrival, str, int | None] | None:
        """The newest button `which` (any: None) on a question newer than the last
        one answered, among what arrived since the latest post."""
        for arrival in reversed(self.arrivals()[self.mark :]):
            buttons = [b for b in arrival.buttons if b[1] is None or b[1] > self.last_seq]
            if not buttons:
                continue
            if which is None:
                return arrival, buttons[0][2], buttons[0][1]
            if isinstance(which, int):
                if len(buttons) >= which:
                    return arrival, buttons[which - 1][2], buttons[which - 1][1]
                continue
            for choice, seq, payload in buttons:
                if choice == which:
                    return arrival, payload, seq
        return None

    def answer(self, following: Step | None) -> Arrival | None:
        """The arrival that completes the answer to the latest post, if it is here."""
        if not self.driver.ours:  # an echo: any message
            new = self.arrivals()[self.mark :]
            return new[0] if new else None
        which = following.value if following is not None and following.kind == "tap" else None
        found = self.find_button(which)
        return found[0] if found else None

    async def walk(self, steps: list[Step], stop_at: float) -> None:
        tally, inbox = self.driver.tally, self.driver.inbox
        woken = inbox.event(self.chat)
        for index, step in enumerate(steps):
            if time.monotonic() >= stop_at:
                return
            button = None
            if step.kind == "tap" and self.driver.ours:
                found = self.find_button(step.value)
                if found is None:
                    tally.unanswered += 1  # the question to tap never came
                    return
                button = (found[0], found[1])
            self.last_seq = max(
                [self.last_seq, *(b[1] for a in self.arrivals() for b in a.buttons if b[1])]
            )
            self.mark = len(self.arrivals())
            woken.clear()
            posted = time.monotonic()
            ok = await self.driver.post(self, step, button)
            if not ok:
                return
            following = steps[index + 1] if index + 1 < len(steps) else None
            deadline = posted + ANSWER_WITHIN
            while (answer := self.answer(following)) is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    tally.unanswered += 1
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), left)
                woken.clear()
            tally.latencies.append(answer.at - posted)
            tally.last = max(tally.last, answer.at)


class Driver:
    """Posts the users' webhooks to one bot (ours or bare) on one platform."""

    def __init__(self, platform: str, url: str, inbox: Inbox, fake: Any, *, ours: bool) -> None:
        self.platform, self.url, self.inbox, self.fake, self.ours = platform, url, inbox, fake, ours
        self.tally = Tally()
        self.http: aiohttp.ClientSession | None = None

    def chat(self, number: int) -> str:
        if self.platform == "telegram":
            return str(7_000_000 + number)
        return f"U{number:032x}"

    def event(self, user: User, step: Step, button: tuple[Arrival, str] | None) -> dict[str, Any]:
        if self.platform == "telegram":
            telegram, uid = self.fake, int(user.chat)
            if step.kind == "follow":
                return telegram.user_sends_text(uid, "/start", queue=False)
            if step.kind == "say":
                return telegram.user_sends_text(uid, str(step.value), queue=False)
            if button is None:  # the bare bot: press a button of its latest message
                arrivals = user.arrivals()
                message_id = arrivals[-1].message["message_id"] if arrivals else 1
                return telegram.user_presses(uid, message_id, f"bare|{step.value}", queue=False)
            return telegram.user_presses(
                uid, button[0].message["message_id"], button[1], queue=False
            )
        from tests.fakes.line_webhook import follow_event, postback_event, text_message_event

        line = self.fake
        if step.kind == "follow":
            return follow_event(user.chat, server=line)
        if step.kind == "say":
            return text_message_event(user.chat, str(step.value), server=line)
        data = button[1] if button is not None else f"bare={step.value}"
        return postback_event(user.chat, data, server=line)

    async def post(self, user: User, step: Step, button: tuple[Arrival, str] | None) -> bool:
        """Post one update until it is acknowledged (as the platforms redeliver)."""
        from tests.fakes.line_webhook import encode_body, sign, webhook_body

        assert self.http is not None
        event = self.event(user, step, button)
        if self.platform == "telegram":
            body = json.dumps(event).encode()
            headers = {
                "Content-Type": "application/json",
                "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
            }
            event_id = str(event["update_id"])
        else:
            body = encode_body(webhook_body(event))
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "X-Line-Signature": sign(body, LINE_SECRET),
            }
            event_id = event["webhookEventId"]
        for attempt in range(20):
            self.tally.posts += 1
            try:
                async with self.http.post(self.url, data=body, headers=headers) as response:
                    answer = await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            if self.platform == "telegram" and status:
                self.fake.webhook_answered(status, answer)  # a method named in the answer
            if 200 <= status < 300:
                self.tally.acknowledged += 1
                self.tally.event_ids.append(event_id)
                return True
            self.tally.refused += 1
            await asyncio.sleep(0.1 * (attempt + 1))
        self.tally.unanswered += 1
        return False

    async def run(self, users: int, seconds: float) -> None:
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            self.http = http
            people = [User(n, self.chat(n), self) for n in range(1, users + 1)]
            start = time.monotonic()
            self.tally.first = start
            stop_at = start + seconds
            await asyncio.gather(*(p.walk(script(p.number), stop_at) for p in people))
            self.http = None


# ---- the bots under test ------------------------------------------------------------------------


def clean_env() -> dict[str, str]:
    drop = ("TELEGRAM_", "LINE_", "DATABASE_URL", "DLCOACH_")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


class Process:
    """A bot as a subprocess on `port`, healthy when `health` answers 200."""

    def __init__(self, argv: list[str], env: dict[str, str], port: int, log: Path, cwd: Path):
        self.argv, self.env, self.port, self.log, self.cwd = argv, env, port, log, cwd
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, health: str, within: float = 60.0) -> None:
        env = {**clean_env(), "PYTHONPATH": str(ROOT), **self.env}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(  # noqa: ASYNC220 - starts it, returns at once
                self.argv, env=env, cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + within
        async with aiohttp.ClientSession() as http:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.argv} exited:\n{self.tail()}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(self.base + health) as response:
                        if response.status == 200:
                            return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.argv} not healthy in {within}s:\n{self.tail()}")
                await asyncio.sleep(0.1)

    def cpu_seconds(self) -> float:
        """CPU time the bot's process has used so far (user and system; Linux's
        /proc, 0 elsewhere): less disturbed by a busy neighbour than wall time."""
        if self.proc is None:
            return 0.0
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def ours(platform: str, database_url: str, fake: Any, port: int, scratch: Path) -> Process:
    env = {"DATABASE_URL": database_url, "DLCOACH_FLOOD_BURST": "0"}
    if platform == "telegram":
        env |= {
            "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "TELEGRAM_API_BASE_URL": fake.base_url,
            "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/webhooks/telegram",
            "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        }
    else:
        env |= {
            "LINE_CHANNEL_SECRET": LINE_SECRET,
            "LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN,
            "LINE_API_BASE_URL": fake.base_url,
        }
    argv = [sys.executable, "-m", "bot", "serve", "--port", str(port)]
    if PROFILE_DIR is not None:  # --profile: cProfile of the whole serve process
        out = PROFILE_DIR / f"serve-{platform}-{database_url.split(':')[0]}-{port}.prof"
        argv = [sys.executable, "-c", PROFILED_SERVE.format(out=str(out)), str(port)]
    return Process(argv, env, port, scratch / f"serve-{platform}-{port}.log", scratch)


def bare(platform: str, fake: Any, port: int, scratch: Path) -> Process:
    argv = [sys.executable, "-m", "bench.webhook_throughput", f"--bare-{platform}", str(port)]
    env = {"BENCH_API_BASE_URL": fake.base_url}
    return Process(argv, env, port, scratch / f"bare-{platform}-{port}.log", ROOT)


# ---- the bare bots (run in their own process) ------------------------------------------------------


def run_bare_telegram(port: int) -> None:
    """An echo bot as PTB's examples/customwebhookbot/starlettebot.py builds it."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route
    from telegram import Update
    from telegram.ext import (
        Application,
        CallbackQueryHandler,
        ContextTypes,
        MessageHandler,
        filters,
    )

    base = os.environ["BENCH_API_BASE_URL"]
    application = Application.builder().token(TELEGRAM_TOKEN).base_url(base).updater(None).build()

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_text(update.effective_message.text or "")

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.answer()
        await context.bot.send_message(query.from_user.id, f"pressed {query.data}")

    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.add_handler(CallbackQueryHandler(pressed))

    async def telegram(request: Request) -> Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != TELEGRAM_SECRET:
            return Response(status_code=403)
        await application.update_queue.put(Update.de_json(await request.json(), application.bot))
        return Response()

    async def health(_: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def main() -> None:
        web = Starlette(
            routes=[
                Route("/telegram", telegram, methods=["POST"]),
                Route("/healthcheck", health, methods=["GET"]),
            ]
        )
        server = uvicorn.Server(
            uvicorn.Config(web, port=port, host="127.0.0.1", log_level="warning")
        )
        await application.bot.set_webhook(
            f"http://127.0.0.1:{port}/telegram",
            allowed_updates=Update.ALL_TYPES,
            secret_token=TELEGRAM_SECRET,
        )
        async with application:
            await application.start()
            await server.serve()
            await application.stop()

    asyncio.run(main())


def run_bare_line(port: int) -> None:
    """An echo bot on line-bot-sdk's v3 async API: parse, reply with the token, answer."""
    import uvicorn
    from linebot.v3.exceptions import InvalidSignatureError
    from linebot.v3.messaging import (
        AsyncApiClient,
        AsyncMessagingApi,
        Configuration,
        ReplyMessageRequest,
        TextMessage,
    )
    from linebot.v3.webhook import WebhookParser
    from linebot.v3.webhooks import MessageEvent, PostbackEvent, TextMessageContent
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    base = os.environ["BENCH_API_BASE_URL"]
    parser = WebhookParser(LINE_SECRET)
    state: dict[str, Any] = {}

    async def callback(request: Request) -> PlainTextResponse:
        signature = request.headers.get("X-Line-Signature", "")
        body = (await request.body()).decode()
        try:
            events = parser.parse(body, signature)
        except InvalidSignatureError:
            return PlainTextResponse("Invalid signature", status_code=400)
        api: AsyncMessagingApi = state["api"]
        for event in events:
            if isinstance(event, MessageEvent) and isinstance(event.message, TextMessageContent):
                text = event.message.text
            elif isinstance(event, PostbackEvent):
                text = f"pressed {event.postback.data}"
            elif getattr(event, "reply_token", None):
                text = "hello"
            else:
                continue
            await api.reply_message(
                ReplyMessageRequest(
                    reply_token=event.reply_token, messages=[TextMessage(text=text)]
                )
            )
        return PlainTextResponse("OK")

    async def health(_: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def main() -> None:
        configuration = Configuration(host=base, access_token=LINE_TOKEN)
        async with AsyncApiClient(configuration) as client:
            state["api"] = AsyncMessagingApi(client)
            web = Starlette(
                routes=[
                    Route("/callback", callback, methods=["POST"]),
                    Route("/healthcheck", health, methods=["GET"]),
                ]
            )
            server = uvicorn.Server(
                uvicorn.Config(web, port=port, host="127.0.0.1", log_level="warning")
            )
            await server.serve()

    asyncio.run(main())


# ---- the database --------------------------------------------------------------------------------


async def reset_schema(url: str) -> None:
    from sqlalchemy import text

    from storage.db import make_engine

    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


async def stored_events(url: str, channel: str) -> set[str]:
    from sqlmodel import select

    from storage.db import make_engine, make_sessionmaker
    from storage.models import ProcessedEvent

    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            found = await session.exec(
                select(ProcessedEvent.event_id).where(ProcessedEvent.channel == channel)
            )
            return set(found.all())
    finally:
        await engine.dispose()


# ---- one measurement ----------------------------------------------------------------------------


@dataclass
class Measured:
    updates: int
    seconds: float
    p50: float
    p95: float
    lost: int
    refused: int
    cpu_per_update: float  # seconds of the bot's CPU per answered update

    @property
    def rate(self) -> float:
        return self.updates / self.seconds if self.seconds > 0 else 0.0


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


async def measure(
    platform: str,
    users: int,
    seconds: float,
    scratch: Path,
    database_url: str | None,
) -> Measured:
    """One run: fresh fakes, one bot (ours on `database_url`, or bare when None)."""
    inbox = Inbox()
    inbox.loop = asyncio.get_running_loop()
    telegram_cls, line_cls = make_fakes(inbox)
    if platform == "telegram":
        fake = telegram_cls(token=TELEGRAM_TOKEN)
    else:
        fake = line_cls(access_token=LINE_TOKEN, clock=time.time, quota=None)
    await asyncio.to_thread(fake.start)
    port = free_port()
    is_ours = database_url is not None
    if is_ours:
        if database_url.startswith("postgresql"):
            await reset_schema(database_url)
        bot = ours(platform, database_url, fake, port, scratch)
        await bot.start("/healthz")
        path = "/webhooks/telegram" if platform == "telegram" else "/webhooks/line"
    else:
        bot = bare(platform, fake, port, scratch)
        await bot.start("/healthcheck")
        path = "/telegram" if platform == "telegram" else "/callback"
    try:
        driver = Driver(platform, bot.base + path, inbox, fake, ours=is_ours)
        cpu_before = bot.cpu_seconds()
        await driver.run(users, seconds)
        cpu = bot.cpu_seconds() - cpu_before
    finally:
        bot.stop()
        await asyncio.to_thread(fake.stop)
    tally = driver.tally
    lost = tally.unanswered
    if is_ours:
        stored = await stored_events(database_url, platform)
        lost += sum(1 for e in tally.event_ids if e not in stored)
    return Measured(
        updates=len(tally.latencies),
        seconds=max(tally.last - tally.first, 1e-9),
        p50=percentile(tally.latencies, 0.50),
        p95=percentile(tally.latencies, 0.95),
        lost=lost,
        refused=tally.refused,
        cpu_per_update=cpu / len(tally.latencies) if tally.latencies else float("nan"),
    )


@dataclass
class Row:
    platform: str
    database: str
    users: int
    ours_rate: float
    bare_rate: float
    ratio: float
    ours_p50: float
    ours_p95: float
    bare_p50: float
    bare_p95: float
    p50_ratio: float
    updates: int
    lost: int
    refused: int
    ours_cpu_ms: float
    bare_cpu_ms: float

    def line(self) -> str:
        return (
            f"{self.platform:<8} {self.database:<8} {self.users:>4} users  "
            f"updates/s ours {self.ours_rate:7.1f} bare {self.bare_rate:7.1f} "
            f"ratio {self.ratio:5.2f}  |  p50 ours {self.ours_p50 * 1000:6.0f} ms "
            f"bare {self.bare_p50 * 1000:5.0f} ms (x{self.p50_ratio:.1f})  "
            f"p95 ours {self.ours_p95 * 1000:6.0f} ms bare {self.bare_p95 * 1000:5.0f} ms  "
            f"|  CPU/update ours {self.ours_cpu_ms:.1f} ms bare {self.bare_cpu_ms:.1f} ms  "
            f"|  {self.updates} updates, lost {self.lost}"
            + (f", {self.refused} posts refused" if self.refused else "")
        )


async def bench(args: argparse.Namespace) -> list[Row]:
    platforms = [args.only] if args.only else ["telegram", "line"]
    user_counts = [int(n) for n in args.users.split(",")]
    seconds = args.seconds or (12.0 if args.quick else 30.0)
    rows: list[Row] = []
    postgres_db = None
    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as scratch_dir:
        scratch = Path(scratch_dir)
        try:
            if args.postgres:
                pg_url = await create_scratch(args.postgres, "bench_webhooks")
                postgres_db = pg_url
            for platform in platforms:
                for users in user_counts:
                    base = await measure(platform, users, seconds, scratch, None)
                    databases = [("sqlite", None)]
                    if postgres_db:
                        databases.append(("postgres", pg_url))
                    for database, url in databases:
                        if url is None:
                            url = f"sqlite:///{scratch / f'{platform}-{users}.db'}"
                        mine = await measure(platform, users, seconds, scratch, url)
                        row = Row(
                            platform=platform,
                            database=database,
                            users=users,
                            ours_rate=mine.rate,
                            bare_rate=base.rate,
                            ratio=mine.rate / base.rate if base.rate else float("nan"),
                            ours_p50=mine.p50,
                            ours_p95=mine.p95,
                            bare_p50=base.p50,
                            bare_p95=base.p95,
                            p50_ratio=mine.p50 / base.p50 if base.p50 else float("nan"),
                            updates=mine.updates,
                            lost=mine.lost + base.lost,
                            refused=mine.refused,
                            ours_cpu_ms=mine.cpu_per_update * 1000,
                            bare_cpu_ms=base.cpu_per_update * 1000,
                        )
                        rows.append(row)
                        print(row.line(), flush=True)
        finally:
            if postgres_db:
                await drop_scratch(postgres_db)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (12 s each)")
    parser.add_argument("--users", default="50,500", help="comma-separated numbers of users")
    parser.add_argument("--seconds", type=float, help="the longest a run posts (default 30)")
    parser.add_argument("--only", choices=["telegram", "line"], help="one platform only")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("DLCOACH_BENCH_POSTGRES_ADMIN_URL", DEFAULT_SERVER),
        help="a PostgreSQL server's admin URL; a database of its own is created there "
        "and dropped ('' skips PostgreSQL)",
    )
    parser.add_argument("--profile", type=Path, help="write a cProfile of each serve run here")
    parser.add_argument("--bare-telegram", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--bare-line", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare_telegram:
        run_bare_telegram(args.bare_telegram)
        return
    if args.bare_line:
        run_bare_line(args.bare_line)
        return
    if args.profile:
        global PROFILE_DIR
        PROFILE_DIR = args.profile.resolve()
        PROFILE_DIR.mkdir(parents=True, exist_ok=True)
    rows = asyncio.run(bench(args))
    print(json.dumps([asdict(row) for row in rows]))


if __name__ == "__main__":
    main()
