"""Settings, read once from the environment and `.env`.

One class so that every knob the bot has is visible in one place; the names
are the public contract documented in DESIGN.md and the README.
"""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from handlers.policy import Policy, Thresholds

DEFAULT_SQLITE_FILE = "dlcoach.db"


class Settings(BaseSettings):
    """Everything configurable from outside the code."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(default=f"sqlite:///{DEFAULT_SQLITE_FILE}")
    # SQLite only: how long a write waits for another process holding the file.
    dlcoach_sqlite_busy_ms: int = Field(default=10_000, ge=0)
    # PostgreSQL only: connections kept open, and turns run at once (more wait
    # their turn in the process instead of timing out at the pool); the jobs and
    # the delivery may open up to `dlcoach_db_max_overflow` more.
    dlcoach_db_pool_size: int = Field(default=10, ge=1)
    dlcoach_db_max_overflow: int = Field(default=10, ge=0)
    telegram_bot_token: str | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = None
    line_channel_secret: str | None = None
    line_channel_access_token: str | None = None
    line_api_base_url: str = "https://api.line.me"
    # GET /metrics (Prometheus) for a scraper sending this bearer token; unset: no page.
    dlcoach_metrics_token: str | None = Field(default=None, min_length=16)
    # Log lines as JSON objects (time, level, logger, message) for a log collector.
    dlcoach_log_json: bool = False
    # The LIFF app of the one-screen self-assessment ("1234567890-AbCdEfGh"), and
    # the LINE Login channel it belongs to (by default the digits the LIFF id
    # starts with): ID tokens from the page are verified for that channel.
    line_liff_id: str | None = Field(default=None, pattern=r"^[0-9]{6,20}-[A-Za-z0-9]{4,40}$")
    line_login_channel_id: str | None = Field(default=None, pattern=r"^[0-9]{6,20}$")
    dlcoach_timezone: str = "Asia/Bangkok"
    dlcoach_lang: str = "th"
    dlcoach_content_dir: Path | None = None
    # A demo agency (code DEMO) lets the terminal work with no set-up at all.
    dlcoach_demo_agency: bool = True
    # The web chat at /try (same core, same database): for trying the coach before
    # LINE or Telegram is set up, and for staff at a desk. Off: /try is not served.
    dlcoach_web_chat: bool = True
    # Delivery tuning: how many outbox rows one tick claims, and for how long.
    dlcoach_outbox_batch: int = 50
    # A claim's lease; the sender renews it while it works, so a sender that
    # dies holds its rows this long at most (none at all after a restart here).
    dlcoach_outbox_lease_seconds: int = Field(default=15, ge=1)
    # A busy or failing platform is waited out this long before a row fails.
    dlcoach_outbox_horizon_hours: float = Field(default=24, gt=0)
    # Unexpected send errors (bugs, not the platform) fail a row after this many tries.
    dlcoach_outbox_max_attempts: int = 8
    # How many sends this process has in flight at once (every claim together, each to a different chat).
    dlcoach_outbox_concurrency: int = Field(default=8, ge=1)
    # Fair share: each person may send `burst` messages at once, then this many a
    # second; the first message over it is answered "please slow down", the rest
    # of a flood is dropped. Per instance (see bot/flood.py). 0 switches it off.
    dlcoach_flood_burst: int = Field(default=30, ge=0)
    dlcoach_flood_per_second: float = Field(default=2.0, gt=0)
    # Retention: processed-event ids (they guard against redeliveries, which come
    # within a day) and finished outbox rows (sent, dropped, deferred, failed).
    dlcoach_keep_event_days: float = Field(default=7, gt=0)
    dlcoach_keep_outbox_days: float = Field(default=30, gt=0)
    # The bot's own public https address (e.g. https://bot.agency.go.th): LINE
    # fetches charts and documents from it. Unset: LINE gets the text instead.
    dlcoach_public_url: str | None = None
    # Where the working group opens the dashboard (/admin), for the sign-in links
    # that /web sends: default DLCOACH_PUBLIC_URL, else serve's own local address.
    dlcoach_dashboard_url: str | None = None
    # Above this share of the monthly LINE push quota, nudges wait; replies never do.
    dlcoach_line_quota_share: float = 0.9
    # The working group: when the weekly summary is posted to its chat (in the
    # agency's time zone; Monday is 0, so 4 is Friday), how long an invite code
    # lasts, and after how many idle days /inactive and /nudge list someone.
    dlcoach_weekly_day: int = Field(default=4, ge=0, le=6)
    dlcoach_weekly_time: str = Field(default="15:00", pattern=r"^([01]?\d|2[0-3]):[0-5]\d$")
    dlcoach_invite_hours: int = Field(default=72, ge=1)
    dlcoach_inactive_days: int = Field(default=14, ge=1, le=365)
    # Reminders and nudges (see handlers/reminders/rules.py for what each means).
    dlcoach_nudge_stuck_days: int = Field(default=7, ge=1)
    dlcoach_nudge_inactive_days: int = Field(default=3, ge=1)
    dlcoach_nudge_max_ignored: int = Field(default=3, ge=1)
    dlcoach_nudge_goal_days_before: int = Field(default=3, ge=0)
    dlcoach_nudge_backoff_days: int = Field(default=2, ge=1)
    dlcoach_nudge_recall_days: int = Field(default=3, ge=1)
    # A nudge missed by downtime still goes this long after its time, else it is skipped.
    dlcoach_nudge_grace_minutes: int = Field(default=120, ge=0)
    # The reminder ladder: one follow-up this many minutes after an unanswered
    # check-in (same day, up to the latest local time), and a pause after this
    # many unanswered reminders in a row; a first message after this many silent
    # days is welcomed back.
    dlcoach_nudge_followup_minutes: int = Field(default=120, ge=1)
    dlcoach_nudge_followup_until: str = Field(
        default="20:00", pattern=r"^([01]?\d|2[0-3]):[0-5]\d$"
    )
    dlcoach_nudge_max_unanswered: int = Field(default=5, ge=1)
    dlcoach_comeback_days: int = Field(default=7, ge=1)
    # How far ahead nudges are planned, how often, and how many people one send claims.
    dlcoach_nudge_lookahead_hours: int = Field(default=24, ge=1)
    dlcoach_nudge_plan_minutes: int = Field(default=5, ge=1)
    dlcoach_nudge_send_seconds: int = Field(default=30, ge=1)
    dlcoach_nudge_batch: int = Field(default=200, ge=1)
    # Stop turning nudges into messages while this many wait in the outbox (0: no limit),
    # so a wave of nudges is decided close to its delivery and the outbox stays small.
    dlcoach_nudge_outbox_high_water: int = Field(default=2000, ge=0)

    @model_validator(mode="after")
    def _public_url_is_https(self) -> Settings:
        """LINE fetches images and files only over https: a plain http address
        would make LINE refuse every image message, so it is refused here."""
        url = self.dlcoach_public_url
        if url and not url.lower().startswith("https://"):
            raise ValueError(
                f"DLCOACH_PUBLIC_URL must be an https:// address (LINE refuses others): {url}"
            )
        return self

    @model_validator(mode="after")
    def _webhook_needs_its_secret(self) -> Settings:
        """A Telegram webhook without a secret would accept anyone's updates."""
        if (
            self.telegram_bot_token
            and self.telegram_webhook_url
            and not self.telegram_webhook_secret
        ):
            raise ValueError(
                "TELEGRAM_WEBHOOK_URL is set but TELEGRAM_WEBHOOK_SECRET is not: "
                "refusing to accept unauthenticated webhooks"
            )
        return self

    @property
    def timezone(self) -> str:
        return self.dlcoach_timezone

    @property
    def default_lang(self) -> str:
        return self.dlcoach_lang if self.dlcoach_lang in ("th", "en") else "th"

    def policy(self) -> Policy:
        """What the handlers need of these settings, typed (built once per app)."""
        hours, minutes = (int(part) for part in self.dlcoach_weekly_time.split(":"))
        return Policy(
            timezone=self.timezone,
            lang=self.default_lang,
            inactive_days=self.dlcoach_inactive_days,
            weekly_day=self.dlcoach_weekly_day,
            weekly_time=time(hours, minutes),
            dashboard_url=(
                self.dlcoach_dashboard_url or self.dlcoach_public_url or "http://127.0.0.1:8080"
            ).rstrip("/"),
            nudges=Thresholds(
                stuck_days=self.dlcoach_nudge_stuck_days,
                inactive_days=self.dlcoach_nudge_inactive_days,
                max_ignored=self.dlcoach_nudge_max_ignored,
                goal_days_before=self.dlcoach_nudge_goal_days_before,
                backoff_days=self.dlcoach_nudge_backoff_days,
                recall_days=self.dlcoach_nudge_recall_days,
                grace=timedelta(minutes=self.dlcoach_nudge_grace_minutes),
                followup_delay=timedelta(minutes=self.dlcoach_nudge_followup_minutes),
                followup_until=time(
                    *(int(p) for p in self.dlcoach_nudge_followup_until.split(":"))
                ),
                max_unanswered=self.dlcoach_nudge_max_unanswered,
                comeback_days=self.dlcoach_comeback_days,
            ),
        )
