"""The working group's dashboard at /admin: server-rendered pages (no script) over
the same core and database as the chat. See `routes` for the map."""

from bot.dashboard.routes import routes

__all__ = ["routes"]
