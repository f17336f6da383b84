"""The one interface every platform implements, and what a channel may use of the core.

A channel turns platform updates into `Incoming` and hands them to the core
(`Hub.handle`); it renders and sends the `OutboundMessage`s that delivery
gives it. It knows nothing about the six steps and never touches the
database: delivery tells it who the recipient is, takes its progress, and
records its failures, which it reports by raising one of the errors below.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from content.loader import Content
from handlers.clock import Clock
from handlers.messages import NO_MENU, Incoming, Menu, Reply
from handlers.pushes import PushBudget

if TYPE_CHECKING:
    from starlette.routing import BaseRoute


class CoreUnavailable(Exception):
    """The core could not record what came in (the database is unreachable or
    locked): nothing was stored, so the channel must not acknowledge it. A
    webhook answers 503 with Retry-After so the platform delivers it again
    (the turn's dedupe makes that safe); polling waits and tries again."""


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
    aside as "deferred" so it does not hold back later messages to the chat;
    delivery writes `audit_action` with `detail` to the audit log, so the
    working group sees who missed which message and why."""

    def __init__(
        self, message: str, *, audit_action: str | None = None, detail: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.audit_action = audit_action
        self.detail = detail or {}


@dataclass(frozen=True)
class OutboundMessage:
    """What delivery hands to a channel: one outbox row's replies for one chat,
    with every chart and document already drawn.

    `retry_key` is stable across retries of the same row (LINE's X-Line-Retry-Key
    is derived from it). `reply_token` may be stale: the channel decides
    whether to use it and falls back to a push. `lang` is the recipient's
    language (for the few words a channel adds itself, e.g. "download here").
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
    # Platform messages of this row already delivered by an earlier attempt:
    # a retry starts after them.
    sent_parts: int = 0
    lang: str = "th"

    @property
    def menu(self) -> Menu | None:
        """The menu the chat should show from this row on (None: leave it as it is)."""
        keys = [reply.menu for reply in self.replies if reply.menu is not None]
        return Menu.parse(keys[-1]) if keys else None

    @property
    def clears_menu(self) -> bool:
        """The person erased their data: their chat's own menu goes (back to the default)."""
        return any(reply.menu == NO_MENU for reply in self.replies)


class Progress(Protocol):
    """Called by a channel as a row goes out, so that a retry neither repeats nor skips.

    `progress(n)` records that the first n platform messages of the row went
    out (a retry resumes after them). `progress(n, token_refused=True)`
    records, before anything else is tried, that the platform refused the
    row's reply token: a retry then knows the token was not spent on this
    row and pushes instead of inferring that the reply went out.
    """

    async def __call__(self, sent_parts: int, *, token_refused: bool = False) -> None: ...


async def no_progress(sent_parts: int, *, token_refused: bool = False) -> None:
    """A `Progress` that records nothing (a single send, a test)."""


@dataclass(frozen=True)
class MediaFile:
    """A file published at a public address (LINE fetches images and documents by URL).

    `outbox_id` is the outbox row it was published for: the file goes when the
    row goes (an erasure deletes the person's rows, and so their files)."""

    id: str
    content: bytes
    content_type: str
    filename: str
    created_at: datetime | None = None
    outbox_id: int | None = None

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class MediaStore(Protocol):
    """Where published files are kept (the database, behind this interface).

    Links are short-lived: a picture is served for a while (LINE fetches it
    more than once), a document is handed out once (`take`), soon after it
    was published."""

    async def publish(self, files: Sequence[MediaFile]) -> None:
        """Keep `files` (an id already kept is left as it is) and forget expired ones."""
        ...

    async def fetch(self, media_id: str) -> MediaFile | None:
        """The file `media_id`, unless it is unknown, expired or (a document) taken."""
        ...

    async def take(self, media_id: str) -> MediaFile | None:
        """The document `media_id`, handed out once: later calls get None."""
        ...


class History(Protocol):
    """A chat's messages as delivery gave them to the channel, read back from the
    core (for a channel whose platform keeps no history of its own: the web chat)."""

    async def __call__(self, channel: str, chat_id: str, after: int) -> list[OutboundMessage]:
        """The messages sent to `chat_id` after `OutboundMessage.outbox_id` `after`,
        oldest first (a page of them: ask again after the last one for more)."""
        ...


@dataclass(frozen=True)
class Hub:
    """What a channel may use of the core: hand in what people did, read the
    content and the clock, publish files, read a chat's history."""

    handle: Callable[[Incoming], Awaitable[Any]]
    content: Content
    clock: Clock
    media: MediaStore | None = None
    history: History | None = None


class Channel(ABC):
    """A platform adapter."""

    name: str

    async def start(self, hub: Hub) -> None:  # noqa: B027
        """Open clients, register webhooks or start polling. Default: nothing."""

    async def stop(self) -> None:  # noqa: B027
        """Close whatever `start` opened. Default: nothing."""

    def routes(self) -> list[BaseRoute]:
        """Web routes (webhooks) this channel serves under `dlcoach serve`."""
        return []

    async def push_budget(self) -> PushBudget | None:
        """The month's pushes left for nudges, on a platform that counts pushes
        against a monthly quota (replies are free). Default: None, no limit."""
        return None

    @abstractmethod
    async def send(self, message: OutboundMessage, progress: Progress = no_progress) -> None:
        """Deliver `message` or raise a `DeliveryError`; call `progress` between the
        platform messages of a row that needs several."""
