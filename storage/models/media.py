"""Files the bot serves over its own https address, because LINE only accepts
images and documents by URL (Telegram takes the bytes directly).

Ids are unguessable (an HMAC of the outbox row, keyed by the channel secret),
so a link works for the person it was sent to and nobody can enumerate them;
rows older than the retention period are no longer served and are purged.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from storage.timeutil import utcnow


class Media(SQLModel, table=True):
    """One served file: a chart, a certificate, an export."""

    id: str = Field(primary_key=True, max_length=64)
    content: bytes
    content_type: str = Field(max_length=64)
    filename: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, index=True)
