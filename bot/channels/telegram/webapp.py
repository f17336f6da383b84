"""Who opened a Telegram Mini App: the `initData` the app hands the page, checked
as Telegram documents it (an HMAC-SHA-256 over the sorted fields, keyed by a
hash of the bot's token), so a page post names a person only if Telegram said so."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta
from urllib.parse import parse_qsl

MAX_AGE = timedelta(hours=24)  # a Mini App opened yesterday must be opened again


def signed_fields(fields: dict[str, str], token: str) -> str:
    """The `hash` Telegram puts beside `fields` for the bot with `token`."""
    check = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    return hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()


def verified_user(
    init_data: str, token: str, now: datetime, max_age: timedelta = MAX_AGE
) -> dict | None:
    """The `user` object of `init_data` when Telegram signed it for this bot within
    `max_age` of `now`; None for anything else (forged, altered, stale, malformed)."""
    if not isinstance(init_data, str) or len(init_data) > 8192 or not token:
        return None
    try:
        fields = dict(parse_qsl(init_data, keep_blank_values=True, strict_parsing=True))
    except ValueError:
        return None
    given = fields.pop("hash", "")
    if not given or not hmac.compare_digest(given, signed_fields(fields, token)):
        return None
    auth_date = fields.get("auth_date", "")
    if not (auth_date.isascii() and auth_date.isdigit()):
        return None
    age = now.timestamp() - int(auth_date)
    if age > max_age.total_seconds() or age < -300:
        return None
    try:
        user = json.loads(fields.get("user", ""))
    except ValueError:
        return None
    if not isinstance(user, dict) or type(user.get("id")) is not int:
        return None
    return user
