"""Where LINE posts the bot's webhooks: set it, read it, and have LINE try it,
from the command line (`dlcoach line webhook set|info`) instead of the console."""

from __future__ import annotations

from dataclasses import dataclass

from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    SetWebhookEndpointRequest,
    TestWebhookEndpointRequest,
)

from bot.channels.line.api import api_configuration
from bot.config import Settings

WEBHOOK_PATH = "/webhooks/line"


@dataclass(frozen=True)
class Endpoint:
    """The webhook URL LINE holds, whether it is switched on, and what ours should be."""

    url: str
    active: bool
    expected: str | None

    @property
    def matches(self) -> bool:
        return self.expected is not None and self.url == self.expected


@dataclass(frozen=True)
class Trial:
    """LINE's test call to the endpoint: did our server answer 200, and if not, why."""

    success: bool
    status_code: int | None
    reason: str
    detail: str


def expected_endpoint(settings: Settings) -> str | None:
    """DLCOACH_PUBLIC_URL + /webhooks/line, when the public address is set."""
    public = settings.dlcoach_public_url
    return public.rstrip("/") + WEBHOOK_PATH if public else None


async def read_endpoint(settings: Settings) -> Endpoint:
    async with AsyncApiClient(api_configuration(settings)) as client:
        found = await AsyncMessagingApi(client).get_webhook_endpoint()
    return Endpoint(found.endpoint or "", bool(found.active), expected_endpoint(settings))


async def set_endpoint(settings: Settings, url: str) -> Trial:
    """Point LINE's webhook at `url`, then ask LINE to post a test event there."""
    async with AsyncApiClient(api_configuration(settings)) as client:
        api = AsyncMessagingApi(client)
        await api.set_webhook_endpoint(SetWebhookEndpointRequest(endpoint=url))
        tried = await api.test_webhook_endpoint(TestWebhookEndpointRequest(endpoint=url))
    return Trial(bool(tried.success), tried.status_code, tried.reason or "", tried.detail or "")
