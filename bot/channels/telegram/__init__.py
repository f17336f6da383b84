"""Telegram: the channel (`channel.py`) and how replies become Bot API calls (`render.py`)."""

from bot.channels.telegram.channel import (
    CHANNEL,
    WEBHOOK_PATH,
    TelegramChannel,
    delivery_error,
    file_base_url,
    menu_commands,
)

__all__ = [
    "CHANNEL",
    "WEBHOOK_PATH",
    "TelegramChannel",
    "delivery_error",
    "file_base_url",
    "menu_commands",
]
