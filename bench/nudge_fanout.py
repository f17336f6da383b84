"""Nudge fan-out: how close do due nudges get to a platform's rate limit?

N people each have one nudge due now. Bot instances (separate processes, as
`dlcoach serve` would run) claim the nudges, write them to the outbox and
deliver them through a channel that POSTs to a local fake platform. The fake
platform allows R messages per second (a token bucket) and answers 429 with
`retry_after` beyond that. The run ends when every nudge has arrived (or at a
deadline). Printed per run:

- ratio: achieved rate / R, where achieved = N / (last arrival - start);
- duplicates: arrivals of a nudge beyond its first;
- lost: nudges that never arrived.

Usage (from the repository root, with the venv active):

    python -m bench.nudge_fanout --quick            # 10,000 nudges only
    python -m bench.nudge_fanout                    # 10,000 and 100,000
    python -m bench.nudge_fanout --rate 500 --postgres postgresql://postgres@127.0.0.1:5432/postgres

PostgreSQL runs create a database of their own on the server of `--postgres`
(bench_fanout_<pid>) and drop it at the end, also after an error or Ctrl-C;
the database named in the URL is only used to connect. This is a benchmark,
not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import signal
import socket
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from aiohttp import ClientSession, ClientTimeout, TCPConnector, web  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from bench.databases import DEFAULT_SERVER, create_scratch, drop_scratch  # noqa: E402
from bot.app import build_app  # noqa: E402
from bot.channels.base import (  # noqa: E402
    Channel,
    OutboundMessage,
    Progress,
    RetryLater,
    no_progress,
)
from bot.config import Settings  # noqa: E402
from storage import nudges as nudge_queries  # noqa: E402
from storage.db import make_engine, make_sessionmaker, transaction  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import (  # noqa: E402
    Agency,
    ChannelAccount,
    Journey,
    Nudge,
    Person,
    ReminderPreference,
)

CHANNEL = "bench"
TZ = "Asia/Bangkok"


# ---- the fake platform --------------------------------------------------------------


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self.tokens = self.burst
        self.stamp = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def try_take(self) -> float:
        """0.0 if a token was taken, else seconds until one is available."""
        self._refill()
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate

    async def take(self) -> None:
        while (wait := self.try_take()) > 0:  # noqa: ASYNC110 - time, not an event, refills it
            await asyncio.sleep(wait)


class SharedTokenBucket(TokenBucket):
    """One bucket for every instance (the state in shared memory, under a lock), as
    a deployment's shared limiter for one bot account would be: an instance with
    work may use the rate another one leaves unused."""

    def __init__(self, rate: float, burst: float, state) -> None:  # noqa: ANN001
        self.rate = rate
        self.burst = max(burst, 1.0)
        self.state = state  # ctx.Array("d", [tokens, stamp])

    @staticmethod
    def new_state(ctx, burst: float):  # noqa: ANN001, ANN205
        return ctx.Array("d", [max(burst, 1.0), time.monotonic()])

    def try_take(self) -> float:
        with self.state.get_lock():
            now = time.monotonic()
            tokens = min(self.burst, self.state[0] + (now - self.state[1]) * self.rate)
            self.state[1] = now
            if tokens >= 1.0:
                self.state[0] = tokens - 1.0
                return 0.0
            self.state[0] = tokens
            return (1.0 - tokens) / self.rate


def run_platform(port: int, rate: float, ready) -> None:  # noqa: ANN001
    """The fake platform (its own process): counts every nudge id it receives."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent stops the platform
    bucket = TokenBucket(rate, burst=rate / 10)
    counts: Counter[int] = Counter()
    stats = {"requests": 0, "rejected": 0, "first": None, "last": None}

    async def send(request: web.Request) -> web.Response:
        stats["requests"] += 1
        wait = bucket.try_take()
        if wait > 0:
            stats["rejected"] += 1
            return web.json_response(
                {"ok": False, "error_code": 429, "parameters": {"retry_after": wait}}, status=429
            )
        body = await request.json()
        now = time.time()
        stats["first"] = stats["first"] or now
        stats["last"] = now
        counts.update(body["nudges"])
        return web.json_response({"ok": True})

    async def read_stats(request: web.Request) -> web.Response:
        return web.json_response(
            {
                **stats,
                "distinct": len(counts),
                "arrivals": sum(counts.values()),
                "ids": sorted(counts) if request.query.get("ids") else None,
            }
        )

    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_post("/send", send)
    app.router.add_get("/stats", read_stats)

    async def main() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


# ---- the channel that talks to it ------------------------------------------------------


class BenchChannel(Channel):
    """POSTs each outbox row to the fake platform, pacing itself with `bucket`
    (shared by all instances, or its own share of R)."""

    name = CHANNEL

    def __init__(self, url: str, bucket: TokenBucket) -> None:
        self.url = url
        self.bucket = bucket
        self.http: ClientSession | None = None

    async def start(self, app) -> None:  # noqa: ANN001
        self.http = ClientSession(connector=TCPConnector(limit=64), timeout=ClientTimeout(total=10))

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.close()

    async def send(self, message: OutboundMessage, progress: Progress = no_progress) -> None:
        assert self.http is not None
        await self.bucket.take()
        nudges = [n for reply in message.replies for n in reply.extra.get("nudges", [])]
        body = {"chat": message.chat_id, "nudges": nudges, "text": message.replies[0].text}
        async with self.http.post(self.url + "/send", json=body) as response:
            if response.status == 429:
                data = await response.json()
                raise RetryLater("429", retry_after=data["parameters"]["retry_after"])
            if response.status >= 400:
                raise RetryLater(f"HTTP {response.status}")


# ---- seeding ------------------------------------------------------------------------------


def slot_moment() -> datetime:
    """A slot one minute ago, on a whole minute (as a reminder time would be)."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    return now - timedelta(minutes=1)


async def reset(database_url: str) -> None:
    if database_url.startswith("postgresql"):
        engine = make_engine(database_url)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()


async def seed(database_url: str, count: int, due: datetime) -> int:
    """`count` people with one check-in due at `due`; returns the number of nudges."""
    await reset(database_url)
    engine = make_engine(database_url)
    await upgrade(engine)
    sessions = make_sessionmaker(engine)
    local = due.astimezone(ZoneInfo(TZ))
    slot = f"{local.date().isoformat()}T{local.strftime('%H:%M')}"
    seen = due - timedelta(days=1)
    async with transaction(sessions) as session:
        agency = Agency(code="BENCH", name="Bench", nudge_on_weekends=True, nudge_on_holidays=True)
        session.add(agency)
        await session.flush()
        agency_id = agency.id
    chunk = 10_000
    for start in range(0, count, chunk):
        size = min(chunk, count - start)
        async with transaction(sessions) as session:
            people = await session.exec(
                insert(Person).returning(Person.id, sort_by_parameter_order=True),
                params=[
                    {
                        "display_name": f"p{start + i}",
                        "agency_id": agency_id,
                        "lang": "th",
                        "timezone": TZ,
                        "consent_version": "bench",
                        "consent_at": seen,
                        "onboarded_at": seen,
                        "last_active_at": seen,
                        "created_at": seen,
                    }
                    for i in range(size)
                ],
            )
            ids = list(people.scalars().all())
            await session.exec(
                insert(ChannelAccount),
                params=[
                    {
                        "person_id": pid,
                        "channel": CHANNEL,
                        "external_id": f"u{pid}",
                        "chat_id": f"u{pid}",
                        "active": True,
                        "created_at": seen,
                    }
                    for pid in ids
                ],
            )
            await session.exec(
                insert(Journey),
                params=[
                    {
                        "person_id": pid,
                        "round_no": 1,
                        "current_step": 4,
                        "step_started_at": seen,
                        "started_at": seen,
                    }
                    for pid in ids
                ],
            )
            await session.exec(
                insert(ReminderPreference),
                params=[
                    {
                        "person_id": pid,
                        "enabled": True,
                        "time_local": local.time(),
                        "weekdays": "0,1,2,3,4,5,6",
                        "updated_at": seen,
                    }
                    for pid in ids
                ],
            )
            await nudge_queries.ensure_counters(session, ids)
            await session.exec(
                insert(Nudge),
                params=[
                    {
                        "person_id": pid,
                        "kind": "checkin",
                        "slot": slot,
                        "due_at": due,
                        "status": "planned",
                        "detail": {},
                        "created_at": seen,
                    }
                    for pid in ids
                ],
            )
    await engine.dispose()
    return count


# ---- one bot instance --------------------------------------------------------------------


async def instance(
    database_url: str,
    platform: str,
    rate: float,
    name: str,
    expected: int,
    go,  # noqa: ANN001
    deadline: float,
    shared=None,  # noqa: ANN001 - the shared bucket's state, or None: pace at `rate` alone
    ready=None,  # noqa: ANN001 - a queue told when this instance is built and waits for `go`
) -> dict:
    """Claim, render and deliver nudges until the platform has them all."""
    settings = Settings(
        database_url=database_url,
        _env_file=None,
        dlcoach_demo_agency=False,
        dlcoach_outbox_batch=500,
        dlcoach_outbox_concurrency=32,
        dlcoach_nudge_batch=250,
    )
    if shared is not None:
        bucket = SharedTokenBucket(rate, burst=rate / 10, state=shared)
    else:
        bucket = TokenBucket(rate, burst=rate / 10)
    channel = BenchChannel(platform, bucket)
    app = build_app(settings, channels=[channel])
    await channel.start(app.hub())
    ticks = app.nudges.with_worker(name)
    delivery = app.delivery.with_worker(name)
    done = asyncio.Event()
    counts = {"nudges": 0, "messages": 0}

    async def claim_nudges() -> None:
        while not done.is_set():
            report = await ticks.send()
            counts["nudges"] += report.sent
            if not report.people:
                await asyncio.sleep(0.05)

    async def deliver() -> None:
        while not done.is_set():
            sent = await delivery.flush([CHANNEL])
            counts["messages"] += sent
            if not sent:
                await asyncio.sleep(0.01)

    async def watch() -> None:
        async with ClientSession() as http:
            while time.time() < deadline:
                async with http.get(platform + "/stats") as response:
                    stats = await response.json()
                if stats["distinct"] >= expected:
                    break
                await asyncio.sleep(0.2)
        done.set()

    if ready is not None:
        ready.put(name)
    await asyncio.get_running_loop().run_in_executor(None, go.wait)
    await asyncio.gather(claim_nudges(), deliver(), watch())
    await channel.stop()
    await app.close()
    return counts


def run_instance(*args) -> None:  # noqa: ANN002
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent stops the instances
    asyncio.run(instance(*args))


# ---- one run --------------------------------------------------------------------------------


@dataclass
class Result:
    database: str
    instances: int
    nudges: int
    rate: float
    ratio: float
    duplicates: int
    lost: int
    seconds: float
    rejected: int

    def line(self) -> str:
        return (
            f"{self.database:<10} x{self.instances}  {self.nudges:>7} nudges  "
            f"R={self.rate:g}/s  ratio={self.ratio:.3f}  duplicates={self.duplicates}  "
            f"lost={self.lost}  ({self.seconds:.1f} s, {self.rejected} answered 429)"
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch_stats(platform: str, ids: bool = False) -> dict:
    async def get() -> dict:
        async with ClientSession() as http:
            url = platform + "/stats" + ("?ids=1" if ids else "")
            async with http.get(url) as response:
                return await response.json()

    return asyncio.run(get())


def one_run(
    database: str,
    database_url: str,
    instances: int,
    count: int,
    rate: float,
    pacing: str = "shared",
) -> Result:
    ctx = mp.get_context("spawn")
    due = slot_moment()
    asyncio.run(seed(database_url, count, due))
    port = free_port()
    ready = ctx.Event()
    server = ctx.Process(target=run_platform, args=(port, rate, ready), daemon=True)
    workers: list = []
    try:
        server.start()
        ready.wait(30)
        platform = f"http://127.0.0.1:{port}"
        go = ctx.Event()
        built = ctx.Queue()
        deadline = time.time() + 120 + 3 * count / rate
        if pacing == "shared":  # one limiter for the bot account, as the platform counts
            share, shared = rate, SharedTokenBucket.new_state(ctx, rate / 10)
        else:  # "split": each instance paces at R / instances, used or not
            share, shared = rate / instances, None
        workers = [
            ctx.Process(
                target=run_instance,
                args=(
                    database_url,
                    platform,
                    share,
                    f"bench-{n}",
                    count,
                    go,
                    deadline,
                    shared,
                    built,
                ),
                daemon=True,
            )
            for n in range(instances)
        ]
        for worker in workers:
            worker.start()
        # The clock starts once every instance has imported and built its app (on a
        # busy machine that alone can take longer than a fixed pause).
        for _ in workers:
            built.get(timeout=300)
        time.sleep(0.5)
        start = time.time()
        go.set()
        for worker in workers:
            worker.join()
        stats = fetch_stats(platform, ids=True)
    finally:  # an error or Ctrl-C: no instance is left running (or holding the database)
        for process in [*workers, server]:
            if process.is_alive():
                process.terminate()
                process.join(5)
    received = set(stats["ids"] or [])
    elapsed = (stats["last"] or time.time()) - start
    achieved = len(received) / elapsed if elapsed > 0 else 0.0
    return Result(
        database=database,
        instances=instances,
        nudges=count,
        rate=rate,
        ratio=achieved / rate,
        duplicates=stats["arrivals"] - stats["distinct"],
        lost=count - len(received),
        seconds=elapsed,
        rejected=stats["rejected"],
    )


def _interrupted(signum: int, frame) -> None:  # noqa: ANN001
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rate", type=float, default=500.0, help="the platform's limit R per second"
    )
    parser.add_argument("--quick", action="store_true", help="10,000 nudges only")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("DLCOACH_BENCH_POSTGRES_URL", DEFAULT_SERVER),
        help="a PostgreSQL server (its URL; a database bench_fanout_<pid> is created "
        "there and dropped at the end; '' skips PostgreSQL)",
    )
    parser.add_argument(
        "--pacing",
        choices=["shared", "split"],
        default="shared",
        help="instances pace with one shared limiter of R (default), or each at R/instances",
    )
    parser.add_argument("--only", choices=["sqlite", "postgres"], help="run one database only")
    parser.add_argument("--sizes", help="comma-separated numbers of nudges (overrides --quick)")
    args = parser.parse_args(argv)
    sizes = [10_000] if args.quick else [10_000, 100_000]
    if args.sizes:
        sizes = [int(size) for size in args.sizes.split(",")]
    # Ctrl-C or a plain kill: stop the same way (instances stopped, database dropped)
    signal.signal(signal.SIGINT, _interrupted)
    signal.signal(signal.SIGTERM, _interrupted)
    results = []
    postgres = None
    if args.only in (None, "postgres") and args.postgres:
        postgres = asyncio.run(create_scratch(args.postgres, "bench_fanout"))
    try:
        with tempfile.TemporaryDirectory() as scratch:
            for count in sizes:
                if args.only in (None, "sqlite"):
                    url = f"sqlite:///{scratch}/bench-{count}.db"
                    results.append(one_run("sqlite", url, 1, count, args.rate, args.pacing))
                    print(results[-1].line(), flush=True)
                if postgres is not None:
                    results.append(
                        one_run("postgresql", postgres, 3, count, args.rate, args.pacing)
                    )
                    print(results[-1].line(), flush=True)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr, flush=True)
        raise SystemExit(130) from None
    finally:
        if postgres is not None:
            asyncio.run(drop_scratch(postgres))
    print(json.dumps([r.__dict__ for r in results]))


if __name__ == "__main__":
    main()
