"""The LINE channel's own client: replies and pushes posted below the SDK's model
layer, on a session that looks up the environment's proxy once.

The bodies are checked by `message_bodies` (tests/bot/channels/test_line_render.py);
here: that what reaches LINE is signed and addressed as the SDK's own methods
would send it, that LINE's refusals still read as the SDK's `ApiException`, and
that an agency's proxy is used.
"""

from __future__ import annotations

import uuid

import pytest
from linebot.v3.messaging import ApiException

from bot.channels.line.api import (
    PUSH_PATH,
    REPLY_PATH,
    error_message,
    message_bodies,
    open_client,
    post_messages,
)
from bot.config import Settings
from tests.drivers.proxy import recording_proxy
from tests.fakes.line_api import INVALID_REPLY_TOKEN, RETRY_KEY_ACCEPTED, FakeLineServer

TOKEN = "test-channel-token"
USER = "U206d25c2ea6bd87c17655609a1c37cb8"
HELLO = message_bodies([{"type": "text", "text": "สวัสดีครับ 🌱"}])


def settings(base_url: str, token: str = TOKEN) -> Settings:
    return Settings(line_api_base_url=base_url, line_channel_access_token=token)


async def test_a_reply_and_a_push_reach_line_as_the_sdk_sends_them() -> None:
    async with FakeLineServer(access_token=TOKEN, quota=10) as line:
        client = await open_client(settings(line.base_url))
        try:
            reply = {
                "replyToken": line.issue_reply_token(USER),
                "messages": HELLO,
                "notificationDisabled": False,
            }
            await post_messages(client, REPLY_PATH, reply, request_timeout=5)
            key = str(uuid.uuid4())
            push = {"to": USER, "messages": HELLO, "notificationDisabled": False}
            await post_messages(
                client, PUSH_PATH, push, headers={"X-Line-Retry-Key": key}, request_timeout=5
            )
            with pytest.raises(ApiException) as again:  # the same retry key: LINE has it
                await post_messages(
                    client, PUSH_PATH, push, headers={"X-Line-Retry-Key": key}, request_timeout=5
                )
            with pytest.raises(ApiException) as spent:
                await post_messages(client, REPLY_PATH, reply, request_timeout=5)
        finally:
            await client.close()
        assert line.delivered_texts(USER) == ["สวัสดีครับ 🌱", "สวัสดีครับ 🌱"]
        [sent_push] = line.pushes
        assert sent_push.retry_key == key
        requests = line.requests_to("/message/")
        assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in requests)
        assert all(r.headers["user-agent"].startswith("line-bot-sdk-python/") for r in requests)
    assert (again.value.status, error_message(again.value)) == (409, RETRY_KEY_ACCEPTED)
    assert (spent.value.status, error_message(spent.value)) == (400, INVALID_REPLY_TOKEN)


async def test_a_wrong_token_is_refused_as_an_api_exception() -> None:
    async with FakeLineServer(access_token=TOKEN, quota=10) as line:
        client = await open_client(settings(line.base_url, token="not-the-token"))
        try:
            with pytest.raises(ApiException) as refused:
                push = {"to": USER, "messages": HELLO, "notificationDisabled": False}
                await post_messages(client, PUSH_PATH, push, request_timeout=5)
        finally:
            await client.close()
        assert line.pushes == []
    assert refused.value.status == 401


async def test_sends_go_through_the_environments_proxy(monkeypatch) -> None:
    """Agencies often reach LINE only through a proxy; the client's session does not
    read the environment itself on every call (it is looked up once)."""
    async with recording_proxy(b'{"sentMessages": []}') as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        client = await open_client(settings("http://api.line.invalid"))
        try:
            assert client.rest_client.pool_manager.trust_env is False
            push = {"to": USER, "messages": HELLO, "notificationDisabled": False}
            await post_messages(client, PUSH_PATH, push, request_timeout=5)
        finally:
            await client.close()
    assert proxy.request_lines == [b"POST http://api.line.invalid/v2/bot/message/push HTTP/1.1"]
