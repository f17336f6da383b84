"""Telegram's webhook registration: what the channel does at start in webhook
mode, and what `dlcoach telegram webhook set|info|delete` does without starting
the bot (a standalone PTB Bot pointed at TELEGRAM_API_BASE_URL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram import Bot, Update, WebhookInfo

from bot.channels.telegram.request import AiohttpRequest
from bot.config import Settings

ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]


async def register_webhook(bot: Bot, settings: Settings) -> None:
    """Tell Telegram to post our updates to TELEGRAM_WEBHOOK_URL, with the secret."""
    await bot.set_webhook(
        settings.telegram_webhook_url or "",
        secret_token=settings.telegram_webhook_secret,
        allowed_updates=ALLOWED_UPDATES,
    )


@asynccontextmanager
async def standalone_bot(settings: Settings) -> AsyncIterator[Bot]:
    bot = Bot(
        settings.telegram_bot_token or "",
        base_url=settings.telegram_api_base_url,
        request=AiohttpRequest(),
    )
    async with bot:
        yield bot


async def set_webhook(settings: Settings) -> WebhookInfo:
    """Register the webhook; returns what Telegram then reports."""
    async with standalone_bot(settings) as bot:
        await register_webhook(bot, settings)
        return await bot.get_webhook_info()


async def webhook_info(settings: Settings) -> WebhookInfo:
    async with standalone_bot(settings) as bot:
        return await bot.get_webhook_info()


async def delete_webhook(settings: Settings) -> None:
    """Back to long polling (pending updates are kept)."""
    async with standalone_bot(settings) as bot:
        await bot.delete_webhook()
