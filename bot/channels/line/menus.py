"""Linking each person's rich menu as they move through the journey.

A row whose replies carry a menu (`OutboundMessage.menu`) links that menu to the
person before its messages go. The menu is found by its alias (see
`richmenu.alias_for`), whose rich menu id is kept for a few minutes. When LINE
is busy or failing the whole row waits and is tried again (nothing of it was
sent yet); when the menus were never installed or LINE refuses the link, the
messages go all the same and the refusal is logged: a person is never left
without their answer for the sake of a menu.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

from linebot.v3.messaging import ApiException, AsyncMessagingApi

from bot.channels.base import OutboundMessage, PermanentFailure, RetryLater
from bot.channels.line.api import NETWORK_ERRORS, QUICK_TIMEOUT, delivery_error, short
from bot.channels.line.richmenu import alias_for

log = logging.getLogger(__name__)

T = TypeVar("T")
KEEP_SECONDS = 300.0  # how long an alias's rich menu id is trusted without asking again


class MenuLinks:
    """Links the menus that rows carry, with the aliases' menu ids kept a while."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._ids: dict[str, tuple[str | None, float]] = {}

    async def follow(self, api: AsyncMessagingApi, message: OutboundMessage) -> None:
        """Link the menu `message` carries to its chat (when it carries one, on its first try
        of its first part); raise `RetryLater` when LINE is busy or unreachable."""
        if message.sent_parts:
            return
        if message.clears_menu:
            await self._unlink(api, message)
            return
        menu = message.menu
        if menu is None:
            return
        alias = alias_for(menu)
        for fresh in (False, True):
            if fresh:  # the kept id may be of a menu replaced since: ask for the alias again
                self._ids.pop(alias, None)
            menu_id = await self._menu_id(api, alias)
            if menu_id is None:
                return
            link = partial(
                api.link_rich_menu_id_to_user,
                message.chat_id,
                menu_id,
                _request_timeout=QUICK_TIMEOUT,
            )
            _, refusal = await _asked(link, "rich menu link")
            if refusal is None:
                return
        self._ids.pop(alias, None)
        log.warning("outbox %s: LINE refused the menu %s: %s", message.outbox_id, alias, refusal)

    async def _unlink(self, api: AsyncMessagingApi, message: OutboundMessage) -> None:
        """Take the person's own menu away (best effort: LINE may have none for them)."""
        unlink = api.unlink_rich_menu_id_from_user
        await _asked(
            lambda: unlink(message.chat_id, _request_timeout=QUICK_TIMEOUT), "rich menu unlink"
        )

    async def _menu_id(self, api: AsyncMessagingApi, alias: str) -> str | None:
        """The rich menu `alias` points at; None when there is no such alias."""
        kept = self._ids.get(alias)
        if kept is not None and self._clock() - kept[1] < KEEP_SECONDS:
            return kept[0]
        found, refusal = await _asked(
            lambda: api.get_rich_menu_alias(alias, _request_timeout=QUICK_TIMEOUT),
            "rich menu alias",
        )
        if refusal is not None:
            log.warning(
                "LINE has no rich menu %s (%s): run `dlcoach line richmenu`", alias, refusal
            )
        menu_id = found.rich_menu_id if found is not None else None
        self._ids[alias] = (menu_id, self._clock())
        return menu_id


async def _asked(call: Callable[[], Awaitable[T]], what: str) -> tuple[T | None, str | None]:
    """(LINE's answer, None), or (None, why) when LINE refused for good (4xx); raises
    `RetryLater` when LINE is busy, failing or unreachable (the row is tried again)."""
    try:
        return await call(), None
    except ApiException as exc:
        error = delivery_error(exc, what)
        if not isinstance(error, PermanentFailure):
            raise error from exc
        return None, short(exc)
    except NETWORK_ERRORS as exc:
        raise RetryLater(f"{what}: {short(exc)}") from exc
