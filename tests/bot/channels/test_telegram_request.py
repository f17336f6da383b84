"""PTB's Bot API calls over aiohttp: what reaches Telegram, and how failures read.

The channel's retry rules (bot/channels/telegram/channel.py) tell failures apart
by PTB's own error classes, so the transport must raise `TimedOut` for a
silent server and `NetworkError` for a refused connection, as PTB's httpx
transport does; Telegram's own answers (400, 403, 429) stay PTB's to read.
"""

from __future__ import annotations

import asyncio
import io
import socket

import pytest
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.channels.telegram.request import AiohttpRequest
from tests.drivers.proxy import recording_proxy
from tests.fakes.telegram_api import FakeTelegramServer

TOKEN = "123:ABC"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81"
    b"\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def server():
    with FakeTelegramServer(token=TOKEN) as fake:
        yield fake


async def test_calls_and_uploads_reach_telegram_as_ptb_sends_them(server) -> None:
    async with Bot(TOKEN, base_url=server.base_url, request=AiohttpRequest()) as bot:
        sent = await bot.send_message(chat_id=42, text="สวัสดีครับ 👋", reply_markup=None)
        photo = await bot.send_photo(chat_id=42, photo=io.BytesIO(PNG), caption="กราฟ")
    assert sent.text == "สวัสดีครับ 👋"
    assert photo.caption == "กราฟ"
    assert server.texts(42) == ["สวัสดีครับ 👋", "กราฟ"]
    (upload,) = server.calls("sendPhoto")
    assert upload.status == 200


async def test_telegram_refusals_stay_ptb_errors(server) -> None:
    async with Bot(TOKEN, base_url=server.base_url, request=AiohttpRequest()) as bot:
        with pytest.raises(BadRequest):
            await bot.send_message(chat_id=42, text="x" * 5000)
        server.block(43)
        with pytest.raises(Forbidden):
            await bot.send_message(chat_id=43, text="hello")
        server.fail_next("sendMessage", status=429, retry_after=3)
        with pytest.raises(RetryAfter):
            await bot.send_message(chat_id=42, text="hello")


async def test_a_refused_connection_is_a_network_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nobody listens there
    request = AiohttpRequest(connect_timeout=2)
    bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=request)
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as caught:
            await bot.send_message(chat_id=42, text="hello")
    finally:
        await request.shutdown()
    assert not isinstance(caught.value, TimedOut)


async def test_a_silent_server_times_out_within_the_read_limit() -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def never_answer(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    listener = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    request = AiohttpRequest(read_timeout=0.3)
    bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=request)
    await request.initialize()
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(TimedOut):
            await bot.send_message(chat_id=42, text="hello")
        assert asyncio.get_running_loop().time() - started < 5
    finally:
        await request.shutdown()
        for writer in accepted:
            writer.close()
        listener.close()
        await listener.wait_closed()


async def test_a_call_before_initialize_is_refused_plainly() -> None:
    with pytest.raises(RuntimeError, match="not initialized"):
        await AiohttpRequest().do_request("http://127.0.0.1:9/bot", "POST")


async def test_calls_go_through_the_environments_proxy(monkeypatch) -> None:
    """Agencies often reach the internet only through a proxy (HTTP_PROXY, as
    PTB's own transport honours it); NO_PROXY hosts are reached directly."""
    async with recording_proxy(b'{"ok": true, "result": true}') as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "direct.invalid")
        request = AiohttpRequest()
        await request.initialize()
        try:
            bot = Bot(TOKEN, base_url="http://api.telegram.invalid/bot", request=request)
            assert await bot.delete_webhook() is True
            assert request._proxy("http://direct.invalid/bot1/getMe") is None
        finally:
            await request.shutdown()
    assert proxy.request_lines == [
        b"POST http://api.telegram.invalid/bot123:ABC/deleteWebhook HTTP/1.1"
    ]
