"""Channels: one adapter per platform, all behind `bot.channels.base.Channel`."""
