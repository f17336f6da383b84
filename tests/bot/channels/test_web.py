"""The web chat (/try) over HTTP: the same core as the platforms, refusals that
store nothing, and a history read back from the database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select

from bot.channels.base import CoreUnavailable
from bot.channels.web import WebChannel
from bot.channels.web.channel import COOKIE, person_of
from bot.server import build_web
from storage.models import ChannelAccount, Journey, OutboxMessage, Person, ProcessedEvent
from tests.drivers.chat import make_app, t
from tests.drivers.journey import onboard, whole_journey
from tests.drivers.web import serve
from tests.drivers.webchat import Visitor


@asynccontextmanager
async def web_chat(app) -> AsyncIterator[str]:  # noqa: ANN001
    """`dlcoach serve` as it runs (lifespan on), with the web chat, on loopback."""
    app.add_channel(WebChannel(longest_wait=2.0))
    async with serve(build_web(app), lifespan="on") as base:
        yield base


@asynccontextmanager
async def visitor(base: str) -> AsyncIterator[Visitor]:
    async with httpx.AsyncClient(base_url=base, timeout=15) as client:
        person = Visitor(client)
        await person.open()
        yield person


async def count(app, model) -> int:  # noqa: ANN001
    async with app.sessions() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


async def test_the_page_gives_a_cookie_and_forbids_foreign_scripts(app) -> None:
    async with web_chat(app) as base, httpx.AsyncClient(base_url=base) as client:
        page = await client.get("/try")
        assert page.status_code == 200
        assert t(app, "web.title") in page.text and 'lang="th"' in page.text
        cookie = page.headers["set-cookie"]
        assert cookie.startswith(COOKIE + "=")
        assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Path=/try" in cookie
        assert "Secure" not in cookie  # plain http on loopback; over https it is set
        policy = page.headers["content-security-policy"]
        assert "script-src 'nonce-" in policy and "default-src 'none'" in policy
        nonce = policy.split("'nonce-")[1].split("'")[0]
        assert f'<script nonce="{nonce}">' in page.text
        again = await client.get("/try?lang=en")  # the cookie is kept, not replaced
        assert "set-cookie" not in again.headers
        assert t(app, "web.title", "en") in again.text and 'lang="en"' in again.text
    async with web_chat(app) as base, httpx.AsyncClient(base_url=base) as client:
        secure = await client.get("/try", headers={"x-forwarded-proto": "https"})
        assert "Secure" in secure.headers["set-cookie"]


async def test_a_visitor_walks_the_whole_journey_by_the_same_core(app) -> None:
    async with web_chat(app) as base, visitor(base) as person:
        await whole_journey(person)
        assert t(app, "s6.complete", name="สมชาย ใจดี", round=1) in person.text()
        token = person.client.cookies[COOKIE]
    async with app.sessions() as session:
        account = (
            await session.exec(select(ChannelAccount).where(ChannelAccount.channel == "web"))
        ).one()
        assert account.external_id == person_of(token) != token
        journey = (await session.exec(select(Journey))).one()
        assert journey.completed_at is not None
        sent = await session.exec(select(OutboxMessage).where(OutboxMessage.channel == "web"))
        assert {row.status for row in sent.all()} == {"sent"}


async def test_the_history_is_the_same_after_a_reload_and_on_another_instance(
    app, sqlite_url, clock
) -> None:
    async with web_chat(app) as base, visitor(base) as person:
        await onboard(person)
        cookies = dict(person.client.cookies)
    seen = [p["text"] for p in person.parts]
    other = await make_app(sqlite_url, clock)  # a second instance on the same database
    try:
        async with web_chat(other) as base2, httpx.AsyncClient(base_url=base2) as client:
            client.cookies.update(cookies)
            again = Visitor(client)
            while await again.read(wait=False):
                pass
        assert [p["text"] for p in again.parts] == seen
    finally:
        await other.close()


async def test_the_same_post_twice_is_handled_once(app) -> None:
    async with web_chat(app) as base, visitor(base) as person:
        await person.follow()
        consent = person.question
        event = uuid.uuid4().hex
        choice = consent.choices[0]
        for _ in range(2):
            answer = await person.post(
                event=event, choice=choice.id, seq=consent.question_seq, label=choice.label
            )
            assert answer.status_code == 202
        await person.read()
        assert await person.read(wait=False) == []
        thanks = [r for r in person.replies if r.text.startswith(t(app, "consent.thanks")[:15])]
        assert len(thanks) == 1


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({"content-type": "application/json"}, b"{not json", 400),
        ({"content-type": "application/json"}, b'{"event": "x", "text": "hi"}', 400),
        ({"content-type": "application/json"}, b'{"event": "abcdefgh12", "text": "  "}', 400),
        ({"content-type": "application/json"}, b'{"event": "abcdefgh12", "text": 5}', 400),
        ({"content-type": "application/json"}, b"[1, 2]", 400),
        ({"content-type": "text/plain"}, b'{"event": "abcdefgh12", "text": "hi"}', 415),
        (
            {"content-type": "application/json", "origin": "https://evil.example"},
            b'{"event": "abcdefgh12", "text": "hi"}',
            403,
        ),
        (
            {"content-type": "application/json"},
            b'{"event": "abcdefgh12", "text": "' + b"a" * 70_000 + b'"}',
            413,
        ),
        (
            {"content-type": "application/json"},
            b'{"event": "abcdefgh12", "text": "' + "ก".encode() * 4001 + b'"}',
            400,
        ),
    ],
)
async def test_bad_posts_are_refused_and_store_nothing(app, headers, body, status) -> None:
    async with web_chat(app) as base, visitor(base) as person:
        answer = await person.client.post("/try/api/say", content=body, headers=headers)
        assert answer.status_code == status
        assert "error" in answer.json()
    assert await count(app, ProcessedEvent) == 0
    assert await count(app, Person) == 0


async def test_without_the_cookie_nothing_is_read_or_stored(app) -> None:
    async with web_chat(app) as base, httpx.AsyncClient(base_url=base) as client:
        said = await client.post("/try/api/say", json={"event": "abcdefgh12", "start": True})
        assert said.status_code == 401
        read = await client.get("/try/api/messages")
        assert read.status_code == 401
        forged = await client.get("/try/api/messages", cookies={COOKIE: "short"})
        assert forged.status_code == 401
    assert await count(app, ProcessedEvent) == 0


async def test_a_visitor_reads_only_their_own_chat(app) -> None:
    async with web_chat(app) as base, visitor(base) as one, visitor(base) as two:
        await one.follow()
        await one.tap(1)
        assert await two.read(wait=False) == []
        await two.follow()
        assert len(two.replies) == 1 and len(one.replies) > 1


async def test_a_database_outage_answers_503_and_the_page_may_post_again(app) -> None:
    async def down(incoming) -> None:  # noqa: ANN001
        raise CoreUnavailable("database locked")

    async with web_chat(app) as base, visitor(base) as person:
        real = app.turn.handle
        app.turn.handle = down
        answer = await person.post(event="abcdefgh12", start=True)
        assert answer.status_code == 503 and answer.headers["retry-after"]
        app.turn.handle = real
        again = await person.post(event="abcdefgh12", start=True)
        assert again.status_code == 202
        [notice] = await person.read()
        assert notice.text.startswith(t(app, "consent.notice")[:20])
    assert await count(app, OutboxMessage) == 1  # the notice, once: the refused post left nothing


async def test_switched_off_there_is_no_web_chat(tmp_path) -> None:
    from bot.server import enabled_channels

    app = await make_app(f"sqlite:///{tmp_path / 'off.db'}", dlcoach_web_chat=False)
    try:
        assert enabled_channels(app.settings) == []
        async with serve(build_web(app)) as base, httpx.AsyncClient(base_url=base) as client:
            assert (await client.get("/try")).status_code == 404
    finally:
        await app.close()


async def test_a_history_that_cannot_be_read_answers_503_not_a_traceback(app) -> None:
    async with web_chat(app) as base, visitor(base) as person:
        await person.follow()
        web = app.channels["web"]

        async def down(channel: str, chat: str, after: int) -> list:
            raise OSError("database unreachable")

        web.hub = replace(web.hub, history=down)
        answer = await person.client.get("/try/api/messages", params={"after": 0})
        assert answer.status_code == 503 and answer.headers["retry-after"]
