"""The dashboard's HTML: one layout, and the few pieces every page is made of
(tables with their numbers, bars drawn from the same numbers, forms carrying the
session's form token). Every text is escaped here, so nothing a person typed
(a name, an idea) ever becomes markup."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from starlette.responses import HTMLResponse

from bot.channels.web.pages import page_response
from content.loader import Content

NAV = ("overview", "people", "ideas", "exports", "settings")
NAV_PATHS = {name: "" if name == "overview" else name for name in NAV}


def esc(text: object) -> str:
    """Text as HTML, braces included (a typed "{{nonce}}" stays text in the template)."""
    return html.escape(str(text), quote=True).replace("{", "&#123;").replace("}", "&#125;")


@dataclass(frozen=True)
class Cell:
    """A table cell: its text (escaped when drawn), or ready-made markup in `raw`."""

    text: object = ""
    css: str = ""
    raw: str | None = None

    def td(self) -> str:
        inner = self.raw if self.raw is not None else esc(self.text)
        return f'<td class="{self.css}">{inner}</td>' if self.css else f"<td>{inner}</td>"


def n(value: object) -> Cell:
    """A number, right-aligned."""
    return Cell(value, css="n")


def bar(value: float, largest: float, label: str) -> Cell:
    """A bar as long as `value` is of `largest`; `label` says it for screen readers
    (the number itself is in the row, so the bar only draws it)."""
    width = 0 if largest <= 0 else max(0.0, min(100.0, 100 * value / largest))
    return Cell(
        css="bar",
        raw=f'<span role="img" aria-label="{esc(label)}" style="width:{width:.1f}%"></span>',
    )


def table(
    caption: str,
    heads: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    *,
    numeric: Iterable[int] = (),
) -> str:
    """A table with a caption and column headings (columns in `numeric` right-aligned)."""
    right = set(numeric)
    head = "".join(
        f'<th scope="col"{" class=n" if i in right else ""}>{esc(h)}</th>'
        for i, h in enumerate(heads)
    )
    body = "".join("<tr>" + "".join(c.td() for c in row) + "</tr>" for row in rows)
    return (
        f'<div class="scroll"><table><caption>{esc(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def hidden(name: str, value: str) -> str:
    return f'<input type="hidden" name="{esc(name)}" value="{esc(value)}">'


def post_form(action: str, token: str, inner: str, *, css: str = "") -> str:
    """A form posting to `action` with the session's form token (CSRF)."""
    klass = f' class="{esc(css)}"' if css else ""
    return (
        f'<form method="post" action="{esc(action)}"{klass}>'
        f"{hidden('form_token', token)}{inner}</form>"
    )


def options(choices: Iterable[tuple[str, str]], chosen: str) -> str:
    """<option>s of (value, label), `chosen` selected."""
    return "".join(
        f'<option value="{esc(v)}"{" selected" if v == chosen else ""}>{esc(label)}</option>'
        for v, label in choices
    )


def flash(text: str, *, bad: bool = False) -> str:
    klass = "flash bad" if bad else "flash"
    return f'<p class="{klass}" role="status">{esc(text)}</p>'


@dataclass(frozen=True)
class Frame:
    """What the layout needs besides the page's own body."""

    content: Content
    lang: str
    code: str | None = None  # the agency's code when signed in (for the menu)
    current: str | None = None  # which menu entry this page is
    who: str = ""  # "name (role) - agency"
    form_token: str = ""
    here: str = ""  # this page's path and query, to come back to after a switch of language

    def t(self, key: str, **values: object) -> str:
        return self.content.t(key, self.lang, **values)


def _nav(frame: Frame) -> str:
    if frame.code is None:
        return ""
    base = f"/admin/{esc(frame.code)}/"
    items = "".join(
        f'<li><a href="{base}{NAV_PATHS[name]}"'
        f"{' aria-current=page' if name == frame.current else ''}>"
        f"{esc(frame.t(f'dash.nav.{name}'))}</a></li>"
        for name in NAV
    )
    return f'<nav aria-label="{esc(frame.t("dash.nav"))}"><ul>{items}</ul></nav>'


def _top(frame: Frame) -> str:
    if frame.code is None:
        return ""
    other = "en" if frame.lang == "th" else "th"
    base = f"/admin/{frame.code}"
    switch = post_form(
        f"{base}/lang",
        frame.form_token,
        hidden("lang", other)
        + hidden("back", frame.here)
        + f'<button class="plain" type="submit" lang="{other}">{esc(frame.t("dash.other_lang"))}</button>',
    )
    signout = post_form(
        "/admin/signout",
        frame.form_token,
        f'<button class="plain" type="submit">{esc(frame.t("dash.signout"))}</button>',
    )
    return f'<span class="who">{esc(frame.who)}</span><span>{switch} {signout}</span>'


def page(frame: Frame, heading: str, body: str, *, status_code: int = 200) -> HTMLResponse:
    """A whole page: the layout with the menu, and `body` (already markup) under `heading`."""
    values = {
        "lang": frame.lang,
        "title": esc(frame.t("dash.title")),
        "skip": esc(frame.t("dash.skip")),
        "top": _top(frame),
        "nav": _nav(frame),
        "body": f"<h2>{esc(heading)}</h2>{body}",
    }
    return page_response(
        "layout.html",
        values,
        package="bot.dashboard",
        status_code=status_code,
        referrer="same-origin",  # the forms are checked by their Origin; no link leaves
    )
