"""The one-screen self-assessment inside LINE, as a LIFF app.

LINE opens `https://liff.line.me/{LIFF id}`, which shows the page registered as
the LIFF app's endpoint (`/assess/line` under the bot's public address). The
page starts LINE's LIFF SDK, which gives it the person's ID token, and posts the
nine levels with that token. Who sent them is never taken from the page: the
server asks LINE (`POST /oauth2/v2.1/verify`) whether the token is genuine,
unexpired and issued for our LINE Login channel, and uses the user id LINE
returns. A token LINE refuses is answered 403 with nothing stored; when LINE
cannot be asked, 503 (the page says to try again).

The user id of a LINE Login channel is the one the Messaging API sees only
when both channels belong to the same provider (as LINE documents), so the
LIFF app must be made under the bot's provider.
"""

from __future__ import annotations

import logging

import httpx

from bot.config import Settings

log = logging.getLogger(__name__)

ASSESS_PAGE = "/assess/line"  # the LIFF app's endpoint URL
ASSESS_API = "/assess/api/line"
LIFF_SDK = "https://static.line-scdn.net/liff/edge/2/sdk.js"
# What the SDK loads and calls once started (its scripts, LINE's APIs).
LIFF_SCRIPTS = "https://static.line-scdn.net"
LIFF_CONNECTS = "https://api.line.me https://access.line.me https://liffsdk.line-scdn.net"
VERIFY_PATH = "/oauth2/v2.1/verify"
VERIFY_TIMEOUT = 5.0
MAX_TOKEN = 4096  # an ID token is a JWT of a few hundred characters


class LineUnreachable(Exception):
    """LINE's verify endpoint did not answer (or answered 5xx): nothing is known."""


def liff_url(settings: Settings) -> str | None:
    """The link that opens the LIFF app in LINE, when it is set up: a LIFF id, and
    the bot's public https address that serves its endpoint."""
    public = settings.dlcoach_public_url
    if not settings.line_liff_id or not public or not public.startswith("https://"):
        return None
    return f"https://liff.line.me/{settings.line_liff_id}"


def login_channel_id(settings: Settings) -> str:
    """The LINE Login channel the ID tokens must be issued for."""
    if settings.line_login_channel_id:
        return settings.line_login_channel_id
    return (settings.line_liff_id or "").split("-", 1)[0]


async def verified_user_id(
    http: httpx.AsyncClient, settings: Settings, id_token: object
) -> str | None:
    """The LINE user id of a genuine, unexpired ID token issued for our channel;
    None for anything else. Raises LineUnreachable when LINE cannot say.

    LINE checks the signature, the expiry and the channel (client_id); the
    audience is checked again here so a mistaken setting can never let in a
    token of another channel."""
    channel = login_channel_id(settings)
    if not isinstance(id_token, str) or not id_token or len(id_token) > MAX_TOKEN or not channel:
        return None
    url = settings.line_api_base_url.rstrip("/") + VERIFY_PATH
    try:
        answer = await http.post(
            url, data={"id_token": id_token, "client_id": channel}, timeout=VERIFY_TIMEOUT
        )
    except httpx.HTTPError as error:
        raise LineUnreachable(str(error)) from error
    if answer.status_code >= 500 or answer.status_code == 429:
        raise LineUnreachable(f"verify answered {answer.status_code}")
    if answer.status_code != 200:
        log.info("line: an ID token was refused (%s)", answer.status_code)
        return None
    try:
        claims = answer.json()
    except ValueError:
        raise LineUnreachable("verify answered something that is not JSON") from None
    if not isinstance(claims, dict):
        return None
    subject, audience = claims.get("sub"), claims.get("aud")
    if str(audience) != channel:
        return None
    if not isinstance(subject, str) or not subject.startswith("U") or len(subject) > 64:
        return None
    return subject
