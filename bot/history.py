"""A chat's history, for a channel that has no platform to keep it (the web chat).

The outbox is where every message to a chat is written, so it is also the
history: the rows sent to the chat, drawn again as delivery drew them. Nothing
is kept in the process, so a page reload, a restart or another instance shows
the same conversation, and an erased person's history goes with their rows.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.channels.base import DeliveryError, OutboundMessage
from bot.delivery import drawn, to_outbound
from handlers.messages import Reply
from storage.outbox import sent_to_chat

log = logging.getLogger(__name__)


class ChatHistory:
    """`await history(channel, chat_id, after)`: the messages sent to the chat after
    outbox row `after`, oldest first, at most a page of them."""

    def __init__(self, read_sessions: async_sessionmaker[AsyncSession], lang: str) -> None:
        self.read_sessions, self.lang = read_sessions, lang

    async def __call__(self, channel: str, chat_id: str, after: int) -> list[OutboundMessage]:
        async with self.read_sessions() as session:
            rows = await sent_to_chat(session, channel, chat_id, after)
        messages = []
        for row in rows:
            try:
                replies = await drawn(row.payload)
            except DeliveryError:  # a document that cannot be drawn: its text stands
                replies = tuple(Reply.from_json(item) for item in row.payload)
                replies = tuple(
                    Reply(text=r.text, choices=r.choices, question_seq=r.question_seq)
                    for r in replies
                )
            messages.append(to_outbound(row, replies, self.lang))
        return messages
