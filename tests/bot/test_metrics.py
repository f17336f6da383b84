"""GET /metrics: only for a scraper with the token, and the listed series move as
a person talks to the coach on LINE (the webhooks posted through the whole web
app, so the middleware counts them too)."""

from __future__ import annotations

import json
import logging
import sys

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bot.logs import JsonLines
from bot.server import build_web
from tests.bot.channels.test_line import SECRET, LineUser, line_harness
from tests.drivers.chat import RecordingChannel, make_app
from tests.drivers.journey import first_step1, onboard
from tests.drivers.reminders import Profile, World, bkk
from tests.fakes.line_webhook import post_webhook, text_message_event, webhook_body

METRICS_TOKEN = "scraper-token-0123456789"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition, by name and sorted labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_the_page_needs_the_token(tmp_path, caplog) -> None:
    async with line_harness(tmp_path, caplog) as h:
        web = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=build_web(h.app)), base_url="http://t"
        )
        async with web:
            assert (await web.get("/metrics")).status_code == 404  # no token set: no page
    (tmp_path / "2").mkdir()
    async with line_harness(tmp_path / "2", caplog, dlcoach_metrics_token=METRICS_TOKEN) as h:
        web = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=build_web(h.app)), base_url="http://t"
        )
        async with web:
            assert (await web.get("/metrics")).status_code == 401
            wrong = {"Authorization": "Bearer " + "x" * 24}
            assert (await web.get("/metrics", headers=wrong)).status_code == 401
            page = await web.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/plain")
            assert "dlcoach_turn_seconds" in page.text


async def test_the_series_move_during_a_journey(tmp_path, caplog) -> None:
    (tmp_path / "db").mkdir()
    async with line_harness(tmp_path / "db", caplog, dlcoach_metrics_token=METRICS_TOKEN) as h:
        transport = httpx.ASGITransport(app=build_web(h.app))
        async with httpx.AsyncClient(transport=transport, base_url="http://bot") as web:

            async def scrape() -> dict:
                page = await web.get(
                    "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
                )
                return samples(page.text)

            before = await scrape()
            person = LineUser(h)
            await onboard(person)
            await first_step1(person)
            event = text_message_event(person.user_id, "สวัสดี", server=h.line)
            posted = await post_webhook(
                "http://bot/webhooks/line", webhook_body(event), SECRET, client=web
            )
            assert posted.status_code == 200
            forged = await post_webhook(
                "http://bot/webhooks/line", webhook_body(event), SECRET, signature="bad", client=web
            )
            assert forged.status_code == 401
            queued = await scrape()  # the answer to the last message waits in the outbox
            await h.deliver()
            await h.enqueue_nudge(person.user_id)
            planned = await h.app.nudges.plan()
            waiting = await scrape()
            await h.deliver()  # the nudge is a push: LINE's quota is read first
            after = await scrape()

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("dlcoach_webhook_requests_total", channel="line", status="200") == 1
    assert moved("dlcoach_webhook_requests_total", channel="line", status="401") == 1
    assert moved("dlcoach_webhook_rejected_total", channel="line", reason="bad signature") == 1
    turns = moved("dlcoach_turns_total", channel="line", outcome="handled")
    assert turns >= 5  # onboarding and step 1 by the harness's own posts, and the one above
    assert moved("dlcoach_turn_seconds_count", channel="line") == turns
    assert moved("dlcoach_deliveries_total", channel="line", outcome="sent") >= 1
    assert value(queued, "dlcoach_outbox_pending", channel="line") >= 1
    assert value(waiting, "dlcoach_outbox_pending", channel="line") == 1  # the nudge row
    assert value(after, "dlcoach_outbox_pending", channel="line") == 0
    assert planned > 0 and moved("dlcoach_nudges_total", outcome="planned", reason="") == planned
    assert value(after, "dlcoach_line_push_quota") == 500  # the fake's quota


def test_json_log_lines_are_one_object_each() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord(
            "bot.delivery", logging.ERROR, __file__, 1, "outbox %s failed", (42,), sys.exc_info()
        )
    line = JsonLines().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "ERROR" and entry["logger"] == "bot.delivery"
    assert entry["message"] == "outbox 42 failed" and "ValueError: boom" in entry["error"]
    assert entry["time"].endswith("+00:00")


async def test_nudges_sent_skipped_and_cancelled_move_once_committed(tmp_path, clock) -> None:
    """A server down from before 07:30 to 10:00: the 07:30 check-in is skipped as
    late (and its follow-up cancelled), the 08:30 one still goes; /metrics says so."""
    clock.set(bkk(7, 23))
    app = await make_app(
        f"sqlite:///{tmp_path / 'nudges.db'}", clock, dlcoach_metrics_token=METRICS_TOKEN
    )
    w = World(app, RecordingChannel())
    app.add_channel(w.channel)
    transport = httpx.ASGITransport(app=build_web(app))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bot") as web:

            async def scrape() -> dict:
                headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
                return samples((await web.get("/metrics", headers=headers)).text)

            await w.add(Profile("early", time="07:30"), user="early")
            await w.add(Profile("later", time="08:30"), user="later")
            before = await scrape()
            await app.nudges.plan()
            clock.set(bkk(8, 10, 0))
            await w.tick(app.nudges, plan=True)
            after = await scrape()
    finally:
        await app.close()

    def moved(outcome: str, reason: str = "") -> float:
        labels = {"outcome": outcome, "reason": reason}
        return value(after, "dlcoach_nudges_total", **labels) - value(
            before, "dlcoach_nudges_total", **labels
        )

    assert [item.user for item in w.received] == ["later"]
    assert moved("sent") == 1
    assert moved("skipped", "late") == 1
    assert moved("cancelled") == 1
