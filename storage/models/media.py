"""Files the bot serves over its own https address, because LINE only accepts
images and documents by URL (Telegram takes the bytes directly).

Ids are unguessable (an HMAC of the outbox row, keyed by the channel secret),
so nobody can enumerate them. A file belongs to the outbox row it was
published for and goes with it (erasing a person deletes their rows, and so
their files). Links are short-lived: a picture is served for a day, a
document (an export, a person's copy of their data) once, within an hour of
publishing; `used_at` marks a document that was downloaded (its content is
emptied, and the row stays until it expires so a retry of the row does not
publish it again). Expired rows are purged.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from storage.timeutil import utcnow


class Media(SQLModel, table=True):
    """One served file: a chart, a certificate, an export."""

    id: str = Field(primary_key=True, max_length=64)
    content: bytes
    content_type: str = Field(max_length=128)
    filename: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    outbox_id: int | None = Field(
        default=None, foreign_key="outboxmessage.id", index=True, ondelete="CASCADE"
    )
    used_at: datetime | None = None
