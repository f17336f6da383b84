"""The one interface every platform implements.

A channel turns platform updates into `Incoming` (and hands them to
`App.handle`), and sends `OutboundMessage`s rendered for its platform. It
knows nothing about the six steps. Delivery failures are reported by raising
one of the errors below; the outbox decides what to do about them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from handlers.messages import Reply

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from bot.app import App


class DeliveryError(Exception):
    """Base class of send failures."""


class RetryLater(DeliveryError):
    """The platform is busy or failing (429, 5xx, network): try again later.

    `retry_after` is the platform's own hint in seconds, when it gave one.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RecipientBlocked(DeliveryError):
    """The person blocked the bot: stop sending until they write again."""


class PermanentFailure(DeliveryError):
    """The message can never be delivered as it is (bad request): do not retry."""


class Deferred(DeliveryError):
    """Not sent on purpose, and not to be retried by the outbox: e.g. a nudge
    while the platform's monthly push quota is nearly used up. The row is set
    aside as "deferred" so it does not hold back later messages to the chat."""


@dataclass(frozen=True)
class OutboundMessage:
    """What the outbox hands to a channel: one outbox row's replies for one chat.

    `retry_key` is stable across retries of the same row (LINE's X-Line-Retry-Key
    is derived from it). `reply_token` may be stale: the channel decides
    whether to use it and falls back to a push.
    """

    outbox_id: int
    channel: str
    chat_id: str
    account_id: int | None
    kind: str
    replies: tuple[Reply, ...]
    reply_token: str | None
    reply_token_expires_at: datetime | None
    retry_key: str
    attempt: int
    # Platform messages of this row already delivered by an earlier attempt
    # (see `storage.outbox.record_progress`): a retry starts after them.
    sent_parts: int = 0


class Channel(ABC):
    """A platform adapter."""

    name: str

    async def start(self, app: App) -> None:  # noqa: B027
        """Open clients, register webhooks or start polling. Default: nothing."""

    async def stop(self) -> None:  # noqa: B027
        """Close whatever `start` opened. Default: nothing."""

    def routes(self) -> list[BaseRoute]:
        """Web routes (webhooks) this channel serves under `dlcoach serve`."""
        return []

    @abstractmethod
    async def send(self, message: OutboundMessage) -> None:
        """Deliver `message` or raise a `DeliveryError`."""
