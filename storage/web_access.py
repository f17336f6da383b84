"""Signing in to the working group's dashboard: one-time links and browser sessions.

A link is made for an admin in chat (/web) and works once, for minutes; using it
opens a session, whose secret lives only in the browser's cookie. Both are kept
as SHA-256 hashes of their secrets (secrets of 256 random bits, so a plain hash
is enough), so a copy of the database signs no one in. A session also carries
the token that every form of the dashboard sends back (CSRF).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import WebSession, WebSignIn

MAX_SECRET = 128  # longer than any secret made here: longer input is refused unread


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


def _plausible(secret: object) -> bool:
    return isinstance(secret, str) and 16 <= len(secret) <= MAX_SECRET


async def new_sign_in(
    session: AsyncSession, person_id: int, agency_id: int, now: datetime, valid_for: timedelta
) -> str:
    """Store a one-time sign-in link for the admin and return its secret (shown once)."""
    secret = secrets.token_urlsafe(32)
    session.add(
        WebSignIn(
            token_hash=secret_hash(secret),
            person_id=person_id,
            agency_id=agency_id,
            created_at=now,
            expires_at=now + valid_for,
        )
    )
    await session.flush()
    return secret


async def use_sign_in(
    session: AsyncSession, secret: object, now: datetime
) -> tuple[int, int] | None:
    """Use a sign-in link once: (person id, agency id), or None when the link is
    unknown, used or expired. One conditional UPDATE, so two browsers racing with
    the same link cannot both get in, even on two instances."""
    if not _plausible(secret):
        return None
    claimed = await session.exec(
        update(WebSignIn)
        .where(
            WebSignIn.token_hash == secret_hash(str(secret)),
            WebSignIn.used_at.is_(None),  # type: ignore[union-attr]
            WebSignIn.expires_at > now,
        )
        .values(used_at=now)
        .returning(WebSignIn.person_id, WebSignIn.agency_id)
    )
    row = claimed.first()
    return (int(row[0]), int(row[1])) if row is not None else None


async def open_session(
    session: AsyncSession,
    person_id: int,
    agency_id: int,
    lang: str,
    now: datetime,
    valid_for: timedelta,
) -> str:
    """Start a browser session; returns the cookie's secret (never stored as such)."""
    secret = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            token_hash=secret_hash(secret),
            person_id=person_id,
            agency_id=agency_id,
            form_token=secrets.token_urlsafe(24),
            lang=lang,
            created_at=now,
            expires_at=now + valid_for,
        )
    )
    await session.flush()
    return secret


async def live_session(session: AsyncSession, secret: object, now: datetime) -> WebSession | None:
    """The unexpired session whose cookie holds `secret`."""
    if not _plausible(secret):
        return None
    found = await session.exec(
        select(WebSession).where(
            WebSession.token_hash == secret_hash(str(secret)), WebSession.expires_at > now
        )
    )
    return found.first()


async def set_lang(session: AsyncSession, secret: object, lang: str) -> None:
    """The language this browser reads the dashboard in."""
    if _plausible(secret):
        await session.exec(
            update(WebSession)
            .where(WebSession.token_hash == secret_hash(str(secret)))
            .values(lang=lang)
        )


async def close_session(session: AsyncSession, secret: object) -> None:
    """Sign one browser out."""
    if _plausible(secret):
        await session.exec(
            delete(WebSession).where(WebSession.token_hash == secret_hash(str(secret)))
        )


async def close_sessions_of(session: AsyncSession, person_id: int) -> None:
    """Sign every browser of a person out (their admin seat was revoked)."""
    await session.exec(delete(WebSession).where(WebSession.person_id == person_id))
    await session.exec(
        delete(WebSignIn).where(WebSignIn.person_id == person_id, WebSignIn.used_at.is_(None))  # type: ignore[union-attr]
    )


async def forget_expired(session: AsyncSession, now: datetime) -> None:
    """Drop sessions and links that can no longer be used."""
    await session.exec(delete(WebSession).where(WebSession.expires_at <= now))
    await session.exec(delete(WebSignIn).where(WebSignIn.expires_at <= now))
