"""The one-screen self-assessment page: the nine skills and their five levels on
one page, opened from the chat (a Telegram Mini App, a LIFF app in LINE),
instead of nine questions.

The page only collects the levels; the platform's channel checks who sent them
and hands them to the core as one answer ("all:" and a digit per skill), which
stores the same assessment and sends the same result to the chat as the nine
questions would. Texts come from content/ and are escaped; the page's script
runs under a nonce."""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from bot.channels.base import CoreUnavailable, Hub
from bot.channels.http import Malformed, parse_json, read_body, too_large, unavailable
from bot.channels.web.pages import page_response, script_json
from content.loader import Content
from handlers.messages import ALL_AT_ONCE, Incoming

PAGE_TEXTS = ("title", "intro", "submit", "missing", "saved", "refused", "failed", "levels")


def assessment_page(
    content: Content,
    lang: str,
    *,
    endpoint: str,
    platform_script: str = "",
    script_host: str = "",
    connects: str = "",
    frames: str = "'none'",
    liff_id: str = "",
) -> HTMLResponse:
    """The page, posting `{"proof": ..., "levels": "..."}` to `endpoint`.
    `platform_script` is the platform's SDK (`script_host` its origin and
    `connects` what it calls, let through the content policy; `frames` who may
    show the page in a frame). With `liff_id` the proof is the LIFF ID token,
    otherwise Telegram's initData."""
    texts = {key: content.t(f"assess_page.{key}", lang) for key in PAGE_TEXTS}
    skills = []
    for skill in content.skills:
        levels = "".join(
            f'<label class="level"><input type="radio" name="{html.escape(skill.id)}"'
            f' value="{lv.level}" required><span>{lv.level} '
            f"{html.escape(content.scale_label(lv.level, lang))}</span></label>"
            for lv in skill.scale
        )
        meaning = "".join(
            f"<li>{lv.level} {html.escape(content.scale_label(lv.level, lang))}: "
            f"{html.escape(lv.description.get(lang))}</li>"
            for lv in skill.scale
        )
        skills.append(
            f'<fieldset id="skill-{html.escape(skill.id)}"><legend>'
            f"{html.escape(skill.name.get(lang))}</legend>"
            f'<div class="levels">{levels}</div>'
            f"<details><summary>{html.escape(texts['levels'])}</summary><ul>{meaning}</ul>"
            "</details></fieldset>"
        )
    script = f'<script src="{html.escape(platform_script)}"></script>' if platform_script else ""
    values = {
        "lang": lang,
        "title": html.escape(texts["title"]),
        "intro": html.escape(texts["intro"]),
        "submit": html.escape(texts["submit"]),
        "skills": "".join(skills),
        "platform_script": script,
        "config": script_json(
            {
                "endpoint": endpoint,
                "skills": [s.id for s in content.skills],
                "texts": texts,
                "liffId": liff_id,
            }
        ),
    }
    return page_response(
        "assess.html",
        values,
        scripts=script_host,
        connects=connects,
        frames=frames,
    )


MAX_POST = 16 * 1024


@dataclass(frozen=True)
class Posted:
    """What the page posted: the platform's proof (unchecked: the channel checks
    it) and one digit per skill."""

    proof: object
    levels: str

    def event_id(self, prefix: str) -> str:
        """The same proof posting the same levels twice is one answer."""
        digest = hashlib.sha256(str(self.proof).encode()).hexdigest()[:32]
        return f"{prefix}:{digest}:{self.levels}"


async def posted_levels(request: Request) -> Posted | Response:
    """The page's `{"proof": ..., "levels": "232143221"}`, or the answer to a post
    that is too large (413), not JSON or without digits for levels (400)."""
    body = await read_body(request, MAX_POST)
    if body is None:
        return too_large()
    try:
        data = parse_json(body)
    except Malformed:
        return Response(status_code=400)
    if not isinstance(data, dict):
        return Response(status_code=400)
    levels = data.get("levels")
    if (
        not isinstance(levels, str)
        or not (levels.isascii() and levels.isdigit())
        or len(levels) > 32
    ):
        return JSONResponse({"error": "levels must be digits"}, status_code=400)
    return Posted(data.get("proof"), levels)


async def hand_over(
    hub: Hub, posted: Posted, channel: str, user_id: str, lang_hint: str | None = None
) -> Response:
    """The levels, as one answer of the person the channel verified, to the core;
    202 once stored, 503 when the database cannot store them (the page retries)."""
    incoming = Incoming(
        channel=channel,
        user_id=user_id,
        chat_id=user_id,
        kind="choice",
        choice=ALL_AT_ONCE + posted.levels,
        text="",
        event_id=posted.event_id(f"assess-{channel}"),
        lang_hint=lang_hint,
    )
    try:
        await hub.handle(incoming.cleaned())
    except CoreUnavailable:
        return unavailable()
    return JSONResponse({"ok": True}, status_code=202)
