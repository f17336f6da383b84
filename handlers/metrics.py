"""The process's Prometheus metrics (prometheus-client), served at /metrics.

One module for every series so their names and labels are in one place. Labels
are only channels, outcomes and reasons: never a person, a chat or a text.
Counters count what this process did since it started (Prometheus sums the
instances); gauges of shared state (the outbox) are read from the database when
/metrics is scraped.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

WEBHOOKS = Counter(
    "dlcoach_webhook_requests",
    "Webhook requests received, by channel and HTTP status answered.",
    ["channel", "status"],
)
WEBHOOKS_REJECTED = Counter(
    "dlcoach_webhook_rejected",
    "Webhook requests refused, by channel and reason (bad signature, malformed...).",
    ["channel", "reason"],
)
TURNS = Counter(
    "dlcoach_turns",
    "Incoming messages handled by the core, by channel and outcome.",
    ["channel", "outcome"],
)
TURN_SECONDS = Histogram(
    "dlcoach_turn_seconds",
    "Time to handle one incoming message (stored, answered in the outbox).",
    ["channel"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DELIVERIES = Counter(
    "dlcoach_deliveries",
    "Outbox rows handed to a platform, by channel and outcome.",
    ["channel", "outcome"],
)
OUTBOX_PENDING = Gauge(
    "dlcoach_outbox_pending",
    "Outbox rows waiting to be sent, by channel (read at scrape time).",
    ["channel"],
)
OUTBOX_OLDEST_SECONDS = Gauge(
    "dlcoach_outbox_oldest_pending_seconds",
    "Age of the oldest outbox row waiting, by channel (read at scrape time).",
    ["channel"],
)
NUDGES = Counter(
    "dlcoach_nudges",
    "Nudges planned, sent, cancelled and skipped (by reason).",
    ["outcome", "reason"],
)
LINE_PUSHES_USED = Gauge(
    "dlcoach_line_pushes_used", "LINE push messages used this month, as LINE last said."
)
LINE_PUSH_QUOTA = Gauge(
    "dlcoach_line_push_quota", "LINE's monthly push quota (-1: unlimited), as LINE last said."
)
