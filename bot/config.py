"""Settings, read once from the environment and `.env`.

One class so that every knob the bot has is visible in one place; the names
are the public contract documented in DESIGN.md and the README.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE_FILE = "dlcoach.db"


class Settings(BaseSettings):
    """Everything configurable from outside the code."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(default=f"sqlite:///{DEFAULT_SQLITE_FILE}")
    telegram_bot_token: str | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = None
    line_channel_secret: str | None = None
    line_channel_access_token: str | None = None
    line_api_base_url: str = "https://api.line.me"
    dlcoach_timezone: str = "Asia/Bangkok"
    dlcoach_lang: str = "th"
    dlcoach_content_dir: Path | None = None
    # A demo agency (code DEMO) lets the terminal work with no set-up at all.
    dlcoach_demo_agency: bool = True
    # Delivery tuning: how many outbox rows one tick claims, and for how long.
    dlcoach_outbox_batch: int = 50
    dlcoach_outbox_lease_seconds: int = 60
    dlcoach_outbox_max_attempts: int = 8

    @property
    def timezone(self) -> str:
        return self.dlcoach_timezone

    @property
    def default_lang(self) -> str:
        return self.dlcoach_lang if self.dlcoach_lang in ("th", "en") else "th"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own `Settings(...)`)."""
    return Settings()
