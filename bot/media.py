"""Published files (charts, documents) kept in the database for the channels that
fetch them by URL (LINE): the `MediaStore` a channel is given, over `storage`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import delete
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.channels.base import MediaFile
from handlers.clock import Clock
from storage.db import transaction
from storage.models import Media
from storage.timeutil import as_utc

# Links are short-lived. LINE fetches a picture more than once (a preview, the
# original, again on another device), so a picture is served for a day; a
# document (an export, a person's copy of their data) is handed out once,
# within an hour of being sent. Ask again for a new link.
IMAGE_TTL = timedelta(days=1)
DOCUMENT_TTL = timedelta(hours=1)


class DatabaseMedia:
    """Files in the `media` table: pictures served until they expire, documents
    handed out once (`take`) before they expire."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        image_ttl: timedelta = IMAGE_TTL,
        document_ttl: timedelta = DOCUMENT_TTL,
        *,
        read_sessions: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self.sessions, self.clock = sessions, clock
        # `fetch` only reads: with read-only sessions it never waits for SQLite's write lock.
        self.read_sessions = read_sessions or sessions
        self.image_ttl, self.document_ttl = image_ttl, document_ttl

    def _ttl(self, content_type: str) -> timedelta:
        return self.image_ttl if content_type.startswith("image/") else self.document_ttl

    def _expired(self, now: datetime) -> ColumnElement[bool]:
        image = Media.content_type.startswith("image/")  # type: ignore[attr-defined]
        return or_(
            and_(image, Media.created_at < now - self.image_ttl),
            and_(~image, Media.created_at < now - self.document_ttl),
        )

    def _served(self, item: Media | None, now: datetime) -> bool:
        return (
            item is not None
            and item.used_at is None
            and as_utc(item.created_at) >= now - self._ttl(item.content_type)
        )

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
                            outbox_id=file.outbox_id,
                        )
                    )
            await self._purge(session, now)

    async def purge(self) -> int:
        """Delete every expired file; returns how many."""
        async with transaction(self.sessions) as session:
            return await self._purge(session, self.clock.now())

    async def _purge(self, session: AsyncSession, now: datetime) -> int:
        result = await session.exec(delete(Media).where(self._expired(now)))
        return result.rowcount or 0

    async def fetch(self, media_id: str) -> MediaFile | None:
        async with self.read_sessions() as session:
            item = await session.get(Media, media_id)
        if not self._served(item, self.clock.now()):
            return None
        return _file(item)

    async def take(self, media_id: str) -> MediaFile | None:
        now = self.clock.now()
        async with transaction(self.sessions) as session:
            item = await session.get(Media, media_id)
            if not self._served(item, now):
                return None
            file = _file(item)
            if file.is_image:
                return file  # pictures are not used up
            # Used up: whoever marks it first gets it; the row stays (emptied) until it
            # expires, so a retry of its message does not publish the file again.
            marked = await session.exec(
                update(Media)
                .where(Media.id == media_id, Media.used_at.is_(None))  # type: ignore[union-attr]
                .values(used_at=now, content=b"")
            )
            return file if marked.rowcount == 1 else None


def _file(item: Media) -> MediaFile:
    return MediaFile(
        item.id, item.content, item.content_type, item.filename, item.created_at, item.outbox_id
    )
