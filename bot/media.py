"""Published files (charts, documents) kept in the database for the channels that
fetch them by URL (LINE): the `MediaStore` a channel is given, over `storage`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import delete
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.channels.base import MediaFile
from handlers.clock import Clock
from storage.db import transaction
from storage.models import Media
from storage.timeutil import as_utc

MEDIA_TTL = timedelta(days=30)  # how long a published file stays reachable


class DatabaseMedia:
    """Files in the `media` table; an id is published once and expires after `ttl`."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Clock, ttl: timedelta = MEDIA_TTL
    ) -> None:
        self.sessions, self.clock, self.ttl = sessions, clock, ttl

    async def publish(self, files: Sequence[MediaFile]) -> None:
        now = self.clock.now()
        async with transaction(self.sessions) as session:
            for file in files:
                if await session.get(Media, file.id) is None:
                    session.add(
                        Media(
                            id=file.id,
                            content=file.content,
                            content_type=file.content_type,
                            filename=file.filename,
                            created_at=now,
                        )
                    )
            await session.exec(delete(Media).where(Media.created_at < now - self.ttl))

    async def fetch(self, media_id: str) -> MediaFile | None:
        async with self.sessions() as session:
            item = await session.get(Media, media_id)
        if item is None or as_utc(item.created_at) < self.clock.now() - self.ttl:
            return None
        return MediaFile(item.id, item.content, item.content_type, item.filename, item.created_at)
