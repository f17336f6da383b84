"""LINE's monthly push quota: read it, and set nudges aside before it runs out.

Replies by reply token are free and never wait; pushes count. Above the
configured share of the month's quota a nudge (a message that is not
essential) is deferred; when LINE refuses a push because the quota is used
up, that message is deferred too. Each deferral carries what the audit log
needs, so the working group sees who missed which message and why.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from linebot.v3.messaging import ApiException, AsyncMessagingApi

from bot.channels.base import Deferred, OutboundMessage
from bot.channels.line.api import NETWORK_ERRORS, QUICK_TIMEOUT, short
from handlers import metrics
from handlers.clock import Clock
from handlers.pushes import PushBudget

log = logging.getLogger(__name__)

QUOTA_CACHE = timedelta(seconds=60)
AUDIT_ACTION = "line.quota_deferred"


@dataclass
class QuotaReading:
    """The month's push allowance (None: unlimited) and how much of it is used."""

    limit: int | None
    used: int
    read_at: datetime

    def share_used(self) -> float:
        if self.limit is None:
            return 0.0
        return 1.0 if self.limit <= 0 else self.used / self.limit


class QuotaMeter:
    """The push quota as this process last read it (at most once a minute)."""

    def __init__(self, clock: Clock, share: float) -> None:
        self.clock = clock
        self.share = share
        self.reading: QuotaReading | None = None

    async def read(self, api: AsyncMessagingApi) -> QuotaReading | None:
        """The quota and this month's use (None if LINE cannot say: then nudges go out
        rather than silently stop)."""
        now = self.clock.now()
        if self.reading is not None and now - self.reading.read_at < QUOTA_CACHE:
            return self.reading
        try:
            quota = await api.get_message_quota(_request_timeout=QUICK_TIMEOUT)
            used = await api.get_message_quota_consumption(_request_timeout=QUICK_TIMEOUT)
        except (ApiException, *NETWORK_ERRORS) as exc:
            log.warning("could not read the LINE push quota: %s", short(exc))
            return None
        limit = quota.value if str(getattr(quota.type, "value", quota.type)) == "limited" else None
        self.reading = QuotaReading(limit=limit, used=int(used.total_usage or 0), read_at=now)
        metrics.LINE_PUSHES_USED.set(self.reading.used)
        metrics.LINE_PUSH_QUOTA.set(-1 if limit is None else limit)
        return self.reading

    def nudge_limit(self, limit: int) -> int:
        """How many of `limit` pushes nudges may use: `guard` lets a nudge go while
        the share used is below the configured share."""
        if limit <= 0:
            return 0
        cap = min(limit, math.ceil(limit * self.share))
        while cap > 0 and (cap - 1) / limit >= self.share:  # float edges, both ways
            cap -= 1
        while cap < limit and cap / limit < self.share:
            cap += 1
        return cap

    async def budget(self, api: AsyncMessagingApi) -> PushBudget | None:
        """The month's pushes as a `PushBudget` (None: unlimited, or LINE cannot say)."""
        reading = await self.read(api)
        if reading is None or reading.limit is None:
            return None
        return PushBudget(
            quota=reading.limit, used=reading.used, nudge_limit=self.nudge_limit(reading.limit)
        )

    def pushed(self) -> None:
        """One push went out: count it until the next reading."""
        if self.reading is not None:
            self.reading.used += 1

    async def guard(self, api: AsyncMessagingApi, message: OutboundMessage) -> None:
        """Defer a nudge when the month's pushes are at or above the configured share."""
        reading = await self.read(api)
        if reading is None or reading.limit is None or reading.share_used() < self.share:
            return
        raise self.deferral(
            message,
            "quota_share",
            reading,
            f"LINE push quota {reading.used}/{reading.limit} is at or above {self.share:.0%}: "
            "nudge deferred",
        )

    async def used_up(self, api: AsyncMessagingApi, message: OutboundMessage) -> Deferred:
        """LINE refused a push because the month's quota is used up."""
        reading = await self.read(api)
        return self.deferral(
            message, "monthly_limit", reading, "LINE push quota for the month is used up"
        )

    def deferral(
        self, message: OutboundMessage, reason: str, reading: QuotaReading | None, text: str
    ) -> Deferred:
        log.warning(
            "LINE push quota: outbox %s (%s) deferred (%s, %s of %s used)",
            message.outbox_id,
            message.kind,
            reason,
            reading.used if reading else "?",
            reading.limit if reading else "?",
        )
        detail = {
            "outbox_id": message.outbox_id,
            "kind": message.kind,
            "reason": reason,
            "used": reading.used if reading else None,
            "quota": reading.limit if reading else None,
            "share": self.share,
        }
        return Deferred(text, audit_action=AUDIT_ACTION, detail=detail)
