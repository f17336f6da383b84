"""The one-screen assessment as a Telegram Mini App: the button that opens it, the
initData signature checked before anything is stored, and the same assessment and
result in the chat as the nine questions give."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx
from sqlmodel import select

from bot.channels.telegram.channel import ASSESS_API, ASSESS_PAGE
from bot.channels.telegram.render import keyboard
from bot.channels.telegram.webapp import signed_fields, verified_user
from handlers.messages import ASSESS_PAGE as ASSESS_CHOICE
from handlers.messages import Choice, Reply
from storage.models import Assessment, AssessmentAnswer
from tests.bot.channels.test_telegram import TOKEN, TelegramUser, running_bot
from tests.bot.channels.test_telegram import server as server  # noqa: F401 - the fixture
from tests.drivers.chat import t
from tests.drivers.journey import PRE, first_step1, onboard

PUBLIC = "https://bot.example.go.th"


def init_data(user_id: int, token: str = TOKEN, *, at: float | None = None, **extra: str) -> str:
    """initData as Telegram hands it to a Mini App, signed for the bot with `token`."""
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps({"id": user_id, "first_name": "Somchai", "language_code": "th"}),
        "auth_date": str(int(at if at is not None else time.time())),
        **extra,
    }
    return urlencode({**fields, "hash": signed_fields(fields, token)})


def test_only_initdata_signed_for_this_bot_and_recent_names_a_person() -> None:
    now = datetime.now(UTC)
    good = init_data(42)
    assert verified_user(good, TOKEN, now)["id"] == 42
    assert verified_user(good, "999:other-bot", now) is None
    altered = good.replace("%22id%22%3A+42", "%22id%22%3A+43")
    assert altered != good and verified_user(altered, TOKEN, now) is None
    stale = init_data(42, at=(now - timedelta(days=2)).timestamp())
    assert verified_user(stale, TOKEN, now) is None
    unsigned = good.split("&hash=")[0]
    assert verified_user(unsigned, TOKEN, now) is None
    for junk in ("", "hash=abc", "%%%", None, 42, "x" * 9000):
        assert verified_user(junk, TOKEN, now) is None  # type: ignore[arg-type]


def test_the_page_button_opens_a_mini_app_where_there_is_a_public_address() -> None:
    reply = Reply(
        "intro",
        choices=(Choice(ASSESS_CHOICE, "one page"), Choice("start", "Start")),
        question_seq=3,
    )
    markup = keyboard(reply, {ASSESS_CHOICE: PUBLIC + ASSESS_PAGE})
    *rest, last = markup.inline_keyboard
    assert last[0].web_app.url == PUBLIC + ASSESS_PAGE and last[0].callback_data is None
    assert [b.callback_data for row in rest for b in row] == ["3|start"]
    plain = keyboard(reply)
    assert [b.callback_data for row in plain.inline_keyboard for b in row] == ["3|start"]


async def ratings(app) -> dict[str, int]:  # noqa: ANN001
    async with app.sessions() as session:
        rows = await session.exec(
            select(AssessmentAnswer.skill_id, AssessmentAnswer.level).join(
                Assessment, Assessment.id == AssessmentAnswer.assessment_id
            )
        )
        return dict(rows.all())


async def test_the_mini_app_stores_the_assessment_and_the_result_comes_in_the_chat(
    server, tmp_path
) -> None:
    async with running_bot(server, tmp_path, webhook=True, dlcoach_public_url=PUBLIC) as bot:
        user = TelegramUser(bot)
        await onboard(user)
        await first_step1(user)
        [intro] = server.sent_messages(user.user_id)[-1:]
        buttons = [b for row in intro["reply_markup"]["inline_keyboard"] for b in row]
        assert [b["web_app"]["url"] for b in buttons if "web_app" in b] == [PUBLIC + ASSESS_PAGE]
        base = bot.webhook_url.rsplit("/webhooks", 1)[0]
        levels = "".join(str(level) for level in PRE)
        async with httpx.AsyncClient(base_url=base) as client:
            page = await client.get(ASSESS_PAGE)
            assert page.status_code == 200 and "telegram-web-app.js" in page.text
            assert all(skill.name.get("th") in page.text for skill in bot.app.content.skills)
            forged = await client.post(
                ASSESS_API,
                json={
                    "proof": init_data(user.user_id, "1:wrong", at=bot.clock.now().timestamp()),
                    "levels": levels,
                },
            )
            assert forged.status_code == 403
            signed_proof = init_data(user.user_id, at=bot.clock.now().timestamp())
            for junk in ("9" * 5000, "2,3", 232143221, None):
                refused = await client.post(
                    ASSESS_API, json={"proof": signed_proof, "levels": junk}
                )
                assert refused.status_code == 400
            assert (await client.post(ASSESS_API, content=b"{nope")).status_code == 400
            assert await ratings(bot.app) == {}
            sent_before = len(server.sent_messages(user.user_id))
            signed = await client.post(
                ASSESS_API,
                json={
                    "proof": init_data(user.user_id, at=bot.clock.now().timestamp()),
                    "levels": levels,
                },
            )
            assert signed.status_code == 202

        async def stored(session) -> bool:  # noqa: ANN001
            found = await session.exec(
                select(Assessment).where(Assessment.completed_at.is_not(None))  # type: ignore[union-attr]
            )
            return found.first() is not None

        await bot.wait_db(stored)
        assert await ratings(bot.app) == dict(
            zip([s.id for s in bot.app.content.skills], PRE, strict=True)
        )

        async def result_sent() -> bool:
            texts = [m.get("text", "") for m in server.sent_messages(user.user_id)[sent_before:]]
            return any(t(bot.app, "s2.result_title") in text for text in texts)

        for _ in range(200):
            if await result_sent():
                break
            await asyncio.sleep(0.05)
        assert await result_sent()
