"""What every web page of the bot shares: its template filled in safely, one nonce
for its own script, and the security headers that go with it.

A template is an HTML file beside this module with `{{name}}` places and a
`{{head}}` at the top. Values are inserted as given (callers escape text with
`html.escape`); `script_json` is for data inside a <script> element."""

from __future__ import annotations

import json
import secrets
from importlib import resources
from typing import Any

from starlette.responses import HTMLResponse

HEAD = """<!doctype html>
<html lang="{{lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}}</title>
<link rel="stylesheet" href="/fonts/sarabun.css">"""


def script_json(data: Any) -> str:
    """JSON to place inside a <script> element: no "<", ">" or "&" that could close it."""
    text = json.dumps(data, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def page_response(
    template: str,
    values: dict[str, str],
    *,
    scripts: str = "",
    frames: str = "'none'",
    images: str = "'none'",
    package: str = "bot.channels.web",
    status_code: int = 200,
    referrer: str = "no-referrer",
    connects: str = "",
) -> HTMLResponse:
    """The template filled with `values` (which include `lang` and `title`) under a
    content policy that runs only the page's own script (and `scripts`, an origin
    such as a platform's SDK, which may call `connects`), may be framed only by
    `frames`, and shows pictures only from `images`. Templates are read from
    `package`. Pages that post forms checked by their Origin take
    `referrer="same-origin"`: under "no-referrer" a browser sends `Origin: null`
    with every form it posts."""
    nonce = secrets.token_urlsafe(16)
    page = resources.files(package).joinpath(template).read_text("utf-8")
    page = page.replace("{{head}}", HEAD)
    for key, value in {**values, "nonce": nonce}.items():
        page = page.replace("{{" + key + "}}", value)
    policy = (
        f"default-src 'none'; script-src 'nonce-{nonce}' {scripts}; "
        f"style-src 'self' 'unsafe-inline'; img-src {images}; font-src 'self'; "
        f"connect-src 'self' {connects}; form-action 'self'; frame-ancestors {frames}; base-uri 'none'"
    )
    return HTMLResponse(
        page,
        status_code=status_code,
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": policy,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": referrer,
        },
    )
