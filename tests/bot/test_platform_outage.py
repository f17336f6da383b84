"""LINE and Telegram down for ten minutes (every call a 5xx, then a few 429s),
on a fake clock: nothing queued is lost, nothing fails, nothing arrives twice,
each chat keeps its order, and everything is delivered within one capped
back-off (five minutes) of the platforms coming back.

The real SDKs talk to the local fake platforms; delivery runs as the server's
tick does, every few (fake) seconds.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.channels.line import LineChannel
from bot.channels.telegram import TelegramChannel
from handlers.clock import FakeClock
from handlers.messages import Reply
from storage import outbox as queries
from storage.db import transaction
from storage.models import OutboxMessage
from tests.drivers.chat import START, make_app
from tests.fakes.line_api import FakeLineServer
from tests.fakes.telegram_api import FakeTelegramServer

LINE_TOKEN, LINE_SECRET = "outage-token", "outage-secret"
TELEGRAM_TOKEN = "123456:platform-outage"
CHATS, MESSAGES = 12, 3
TICK = timedelta(seconds=5)


async def test_a_ten_minute_platform_outage_loses_and_doubles_nothing(database_url):
    clock = FakeClock(START)
    async with (
        FakeLineServer(access_token=LINE_TOKEN, clock=clock, quota=10_000) as line,
        FakeTelegramServer(token=TELEGRAM_TOKEN) as telegram,
    ):
        app = await make_app(
            database_url,
            clock,
            line_channel_secret=LINE_SECRET,
            line_channel_access_token=LINE_TOKEN,
            line_api_base_url=line.base_url,
            telegram_bot_token=TELEGRAM_TOKEN,
            telegram_api_base_url=telegram.base_url,
            telegram_webhook_url="https://bot.example.go.th/webhooks/telegram",
            telegram_webhook_secret="s",
        )
        channels = [LineChannel(app.settings), TelegramChannel(app.settings)]
        for channel in channels:
            app.add_channel(channel)
            await channel.start(app.hub())
        try:
            line_chats = [f"U{n:032x}" for n in range(1, CHATS + 1)]
            telegram_chats = [str(5_600_000 + n) for n in range(CHATS)]
            for chat in telegram_chats:  # they wrote to the bot once
                telegram.user_sends_text(int(chat), "/start", queue=False)
            line.fail_next("/message/push", status=500, times=1_000_000)
            telegram.fail_next("sendMessage", 502, times=1_000_000)
            async with transaction(app.sessions) as session:
                messages = [
                    queries.NewMessage(
                        channel=name,
                        chat_id=chat,
                        account_id=None,
                        kind="reply",
                        payload=[Reply(text=f"{chat} message {m}").to_json()],
                    )
                    for name, chats in (("line", line_chats), ("telegram", telegram_chats))
                    for m in range(MESSAGES)
                    for chat in chats
                ]
                await queries.enqueue(session, messages, clock.now())

            outage_ends = clock.now() + timedelta(minutes=10)
            while clock.now() < outage_ends:
                await app.delivery.drain()
                clock.advance(seconds=TICK.total_seconds())
            assert line.deliveries == [] and telegram.sent_messages() == []
            async with app.sessions() as session:
                statuses = {r.status for r in (await session.exec(select(OutboxMessage))).all()}
            assert statuses == {"pending"}, "ten minutes of 5xx fail nothing"

            # The platforms come back (Telegram with a burst of 429s), then answer normally.
            line.clear_faults()
            telegram.clear_faults()
            telegram.fail_next("sendMessage", 429, retry_after=3, times=5)
            back = clock.now()
            while clock.now() < back + timedelta(minutes=6):
                await app.delivery.drain()
                clock.advance(seconds=TICK.total_seconds())

            for chat in line_chats:
                assert line.delivered_texts(chat) == [f"{chat} message {m}" for m in range(3)]
            for chat in telegram_chats:
                assert telegram.texts(int(chat)) == [f"{chat} message {m}" for m in range(3)]
            async with app.sessions() as session:
                rows = (await session.exec(select(OutboxMessage))).all()
            assert {r.status for r in rows} == {"sent"}
            assert max(r.attempts for r in rows) > 5, "retried all along the outage"
        finally:
            for channel in channels:
                await channel.stop()
            await app.close()
