"""The one-screen self-assessment page: the nine skills and their five levels on
one page, opened from the chat (a Telegram Mini App), instead of nine questions.

The page only collects the levels; the platform's channel checks who sent them
and hands them to the core as one answer ("all:" and a digit per skill), which
stores the same assessment and sends the same result to the chat as the nine
questions would. Texts come from content/ and are escaped; the page's script
runs under a nonce."""

from __future__ import annotations

import html

from starlette.responses import HTMLResponse

from bot.channels.web.pages import page_response, script_json
from content.loader import Content

PAGE_TEXTS = ("title", "intro", "submit", "missing", "saved", "refused", "failed", "levels")


def assessment_page(
    content: Content, lang: str, *, endpoint: str, platform_script: str = "", script_host: str = ""
) -> HTMLResponse:
    """The page, posting `{"proof": ..., "levels": "..."}` to `endpoint`.
    `platform_script` is the platform's SDK (`script_host` its origin, let through
    the content policy)."""
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
            {"endpoint": endpoint, "skills": [s.id for s in content.skills], "texts": texts}
        ),
    }
    return page_response(
        "assess.html",
        values,
        scripts=script_host,
        frames="https://web.telegram.org https://*.telegram.org",
    )
