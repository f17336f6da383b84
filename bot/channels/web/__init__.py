"""The web chat (/try): the coach in a browser page, for an agency to try it before
it has LINE or Telegram, and for staff at a desk."""

from bot.channels.web.channel import CHANNEL, WebChannel

__all__ = ["CHANNEL", "WebChannel"]
