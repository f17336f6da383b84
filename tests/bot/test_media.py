"""Published files (the media table, served to LINE): short-lived links, documents
handed out once and only from their download page, files gone with their message."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import delete, select
from starlette.applications import Starlette
from starlette.routing import Route

from bot.channels.base import MediaFile
from bot.channels.line import media as line_media
from storage.db import transaction
from storage.models import Media, OutboxMessage
from storage.outbox import NewMessage, enqueue
from tests.drivers.chat import make_app

DOC = "d" * 32
PIC = "e" * 32
SECRET_JSON = b'{"name": "secret person"}'
PNG = b"\x89PNG\r\n\x1a\nfake"


def files(outbox_id: int | None = None) -> list[MediaFile]:
    return [
        MediaFile(DOC, SECRET_JSON, "application/json", "dlcoach-mydata.json", None, outbox_id),
        MediaFile(PIC, PNG, "image/png", "image.png", None, outbox_id),
    ]


async def test_a_document_is_handed_out_once_and_a_picture_for_a_day(database_url, clock):
    app = await make_app(database_url, clock)
    await app.media.publish(files())
    assert (await app.media.fetch(DOC)).content == SECRET_JSON  # seen, not used up
    assert (await app.media.take(DOC)).content == SECRET_JSON
    assert await app.media.take(DOC) is None and await app.media.fetch(DOC) is None
    await app.media.publish(files())  # a retry of the same message: still used up
    assert await app.media.take(DOC) is None
    async with app.sessions() as session:
        used = await session.get(Media, DOC)
    assert used.content == b"" and used.used_at is not None  # the content is gone at once

    for _ in range(3):  # LINE fetches a picture more than once
        assert (await app.media.take(PIC)).content == PNG
    clock.advance(hours=23)
    assert (await app.media.fetch(PIC)).content == PNG
    clock.advance(hours=1, seconds=1)
    assert await app.media.fetch(PIC) is None
    assert await app.media.purge() == 2
    await app.close()


async def test_an_unused_document_expires_within_the_hour(database_url, clock):
    app = await make_app(database_url, clock)
    await app.media.publish(files())
    clock.advance(minutes=61)
    assert await app.media.fetch(DOC) is None and await app.media.take(DOC) is None
    assert (await app.media.fetch(PIC)).content == PNG
    assert await app.media.purge() == 1  # the document, not the picture yet
    await app.close()


async def test_files_go_with_their_message(database_url, clock):
    app = await make_app(database_url, clock)
    async with transaction(app.sessions) as session:
        written = await enqueue(
            session, [NewMessage("line", "U1", None, "reply", [{"text": "hi"}])], clock.now()
        )
    await app.media.publish(files(written[0]))
    async with transaction(app.sessions) as session:
        await session.exec(delete(OutboxMessage).where(OutboxMessage.id == written[0]))
    async with app.sessions() as session:
        assert (await session.exec(select(Media.id))).all() == []
    await app.close()


async def test_the_download_page_hands_the_document_out_on_post_only(app, clock):
    async def endpoint(request):  # noqa: ANN001, ANN202
        return await line_media.serve(app.media, request, app.content)

    web = Starlette(
        routes=[Route("/media/{media_id}/{filename}", endpoint, methods=["GET", "HEAD", "POST"])]
    )
    await app.media.publish(files())
    transport = httpx.ASGITransport(app=web)
    async with httpx.AsyncClient(transport=transport, base_url="https://bot.test") as client:
        url = f"/media/{DOC}/dlcoach-mydata.json"
        for _ in range(2):  # a link preview, then the person: neither uses it up
            page = await client.get(url)
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
            assert b"secret person" not in page.content and b'method="post"' in page.content
            assert page.headers["cache-control"] == "no-store"
        assert (await client.head(url)).status_code == 200
        got = await client.post(url)
        assert got.status_code == 200 and got.content == SECRET_JSON
        assert got.headers["content-disposition"].startswith("attachment;")
        assert got.headers["cache-control"] == "no-store"
        again = await client.post(url)
        assert again.status_code == 404 and b"secret person" not in again.content
        assert (await client.get(url)).status_code == 404

        picture = f"/media/{PIC}/image.png"
        for _ in range(2):
            shown = await client.get(picture)
            assert shown.status_code == 200 and shown.content == PNG
        clock.advance(days=1, seconds=1)
        assert (await client.get(picture)).status_code == 404
        assert (await client.get("/media/not-an-id/x.png")).status_code == 404
    assert timedelta(hours=1) == app.media.document_ttl
