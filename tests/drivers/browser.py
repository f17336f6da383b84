"""A person using the web chat (/try) in a real browser page (Playwright).

It answers to the same calls as `tests.drivers.chat.Person` (follow, say, tap,
question, text), so the walks of `tests.drivers.journey` drive the page too:
each call clicks or types as a person would and waits for the coach's next
message to appear on the page."""

from __future__ import annotations

from dataclasses import dataclass

from playwright.async_api import Page

from handlers.messages import Choice, Reply
from tests.drivers.chat import last_question

WAIT_MS = 20_000

# Each coach bubble as the page shows it: its text, and its buttons still enabled.
_READ = """() => Array.from(document.querySelectorAll('#log .msg.coach')).map((div) => ({
  text: Array.from(div.childNodes).filter((n) => n.nodeType === 3).map((n) => n.textContent).join(''),
  choices: Array.from(div.querySelectorAll('.choices button:not([disabled])'))
    .map((b) => ({ id: b.dataset.choice, label: b.textContent })),
}))"""


@dataclass
class BrowserPerson:
    """One visitor's page; `question` is the latest message whose buttons are enabled."""

    page: Page
    base: str

    async def _bubbles(self) -> int:
        return await self.page.locator("#log .msg.coach").count()

    async def _after(self, before: int) -> None:
        await self.page.wait_for_function(
            "n => document.querySelectorAll('#log .msg.coach').length > n",
            arg=before,
            timeout=WAIT_MS,
        )

    async def read(self) -> list[Reply]:
        """Every coach message on the page, as replies (buttons: only the enabled ones)."""
        shown = await self.page.evaluate(_READ)
        return [
            Reply(
                text=item["text"],
                choices=tuple(Choice(c["id"], c["label"]) for c in item["choices"]),
                question_seq=0 if item["choices"] else None,
            )
            for item in shown
        ]

    async def follow(self) -> None:
        """Open the page: a new visitor is greeted without doing anything."""
        await self.page.goto(f"{self.base}/try")
        await self._after(0)
        self._question = last_question(await self.read())

    async def say(self, text: str) -> None:
        before = await self._bubbles()
        await self.page.locator("#text").fill(text)
        await self.page.locator("#text").press("Enter")
        await self._after(before)
        await self._refresh()

    async def tap(self, which: str | int) -> None:
        """Click a button of the latest question, by id, exact label, or 1-based position."""
        buttons = self.page.locator("#log .choices button:not([disabled])")
        if isinstance(which, int):
            target = buttons.nth(which - 1)
        else:
            choices = self.question.choices
            found = [i for i, c in enumerate(choices) if which in (c.id, c.label)]
            assert found, f"no button {which!r} in {[c.label for c in choices]}"
            target = buttons.nth(found[0])
        before = await self._bubbles()
        await target.click()
        await self._after(before)
        await self._refresh()

    async def _refresh(self) -> None:
        shown = await self.read()
        asked = [r for r in shown if r.choices]
        self._question = asked[-1] if asked else Reply(text="", question_seq=0)

    @property
    def question(self) -> Reply:
        return self._question

    _question: Reply = Reply(text="")
