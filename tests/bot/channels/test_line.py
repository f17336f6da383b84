"""The LINE channel end to end: signed webhooks over HTTP in, the real
line-bot-sdk out, against the local fake Messaging API.

The bot's web app runs under uvicorn on loopback in the test's own event loop;
the fake LINE server runs in its thread. Both read the same FakeClock, so
reply tokens expire when the test says so. Every event the tests build is
checked to parse as its proper SDK class (never UnknownEvent), and any ERROR
logged by the bot fails the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import select
from starlette.applications import Starlette

from bot.app import App
from bot.channels.line import CHANNEL, LineChannel, retry_key, verify_signature
from bot.channels.line.quota import QuotaMeter
from bot.channels.line.render import decode_postback
from bot.delivery import to_outbound
from handlers.clock import FakeClock
from handlers.messages import Reply
from storage.db import transaction
from storage.models import (
    Agency,
    AuditLog,
    ChannelAccount,
    Journey,
    Nudge,
    OutboxMessage,
    ProcessedEvent,
    PushMonth,
)
from storage.models import Person as PersonRow
from tests.drivers.chat import START, make_app, t
from tests.drivers.journey import onboard, whole_journey
from tests.drivers.paths import LINE_SAMPLE_EVENTS
from tests.drivers.reminders import Profile, bkk, seed
from tests.drivers.web import serve
from tests.fakes.line_api import INVALID_REPLY_TOKEN, FakeLineServer, validate_messages
from tests.fakes.line_webhook import (
    assert_known_event,
    encode_body,
    follow_event,
    join_event,
    post_webhook,
    postback_event,
    sign,
    text_message_event,
    unfollow_event,
    webhook_body,
)

SECRET = "line-test-channel-secret"
TOKEN = "line-test-access-token"
PUBLIC_URL = "https://bot.example.go.th"
SHARED_FIXTURE = LINE_SAMPLE_EVENTS
GROUP = "Ca56f94637cc4347f90a25382909b24b9"


def new_user() -> str:
    return "U" + uuid.uuid4().hex


# --------------------------------------------------------------------- harness


@dataclass
class Harness:
    """The bot (App + LineChannel behind uvicorn), the fake LINE API, and a shared clock."""

    app: App
    line: FakeLineServer
    channel: LineChannel
    clock: FakeClock
    base_url: str
    client: httpx.AsyncClient
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}/webhooks/line"

    async def post(self, *events: dict[str, Any], deliver: bool = True) -> httpx.Response:
        """Sign and post `events` like LINE does, then run delivery (unless told not to)."""
        for event in events:
            assert_known_event(event)
        self.events.extend(events)
        response = await post_webhook(
            self.webhook_url, webhook_body(*events), SECRET, client=self.client
        )
        assert response.status_code == 200, response.text
        if deliver:
            await self.deliver()
        return response

    async def deliver(self) -> int:
        return await self.app.delivery.drain([CHANNEL])

    async def outbox(self) -> list[OutboxMessage]:
        async with self.app.sessions() as session:
            rows = await session.exec(select(OutboxMessage).order_by(OutboxMessage.id))
            return list(rows.all())

    async def account(self, user: str) -> ChannelAccount:
        async with self.app.sessions() as session:
            query = select(ChannelAccount).where(ChannelAccount.external_id == user)
            return (await session.exec(query)).one()

    async def enqueue_nudge(self, user: str, text: str = "nudge") -> int:
        """What the reminders feature writes: a non-essential push for one person."""
        account = await self.account(user)
        now = self.clock.now()
        async with transaction(self.app.sessions) as session:
            row = OutboxMessage(
                channel=CHANNEL,
                chat_id=user,
                account_id=account.id,
                kind="nudge",
                payload=[Reply(text=text, essential=False).to_json()],
                next_attempt_at=now,
                created_at=now,
            )
            session.add(row)
            await session.flush()
            return row.id


@dataclass
class LineUser:
    """A person in LINE: follows, types, and taps the buttons the bot really sent.

    Has the same `follow` / `say` / `tap` as `tests.drivers.chat.Person`, so the
    journey walks in `tests.drivers.journey` drive it unchanged.
    """

    h: Harness
    user_id: str = field(default_factory=new_user)

    async def follow(self) -> None:
        await self.h.post(follow_event(self.user_id, server=self.h.line))

    async def say(self, text: str) -> None:
        await self.h.post(text_message_event(self.user_id, text, server=self.h.line))

    async def unfollow(self) -> None:
        await self.h.post(unfollow_event(self.user_id, server=self.h.line))

    def buttons(self) -> list[dict[str, Any]]:
        """The postback actions of the latest message that offered any (quick reply or carousel)."""
        for message in reversed(self.h.line.delivered(self.user_id)):
            quick = message.get("quickReply", {}).get("items", [])
            if quick:
                return [item["action"] for item in quick]
            contents = message.get("contents", {})
            if contents.get("type") == "carousel":
                return [
                    button["action"]
                    for bubble in contents["contents"]
                    for button in bubble["body"]["contents"]
                ]
        raise AssertionError("the bot has not offered any buttons")

    async def tap(self, which: str | int) -> None:
        """Tap a button by 1-based position, choice id, or label."""
        actions = self.buttons()
        if isinstance(which, int):
            action = actions[which - 1]
        else:
            action = next(
                (
                    a
                    for a in actions
                    if a["type"] == "postback"  # a link (the LIFF app) posts nothing back
                    and which in (decode_postback(a["data"]).choice, a["displayText"], a["label"])
                ),
                None,
            )
        assert action is not None, f"no button {which!r} in {[a['label'] for a in actions]}"
        await self.h.post(postback_event(self.user_id, action["data"], server=self.h.line))

    def texts(self) -> list[str]:
        return self.h.line.delivered_texts(self.user_id)


@contextlib.asynccontextmanager
async def line_harness(tmp_path, caplog, **settings: Any) -> AsyncIterator[Harness]:  # noqa: ANN001
    """The bot with only the LINE channel, against a fresh fake LINE API; any ERROR
    the bot logs fails the test. `settings` are added to (or override) the bot's."""
    clock = FakeClock(START)
    fake = FakeLineServer(access_token=TOKEN, clock=clock, quota=500, channel_secret=SECRET)
    async with fake as line:
        app = await make_app(
            f"sqlite:///{tmp_path / 'line.db'}",
            clock,
            **{
                "line_channel_secret": SECRET,
                "line_channel_access_token": TOKEN,
                "line_api_base_url": line.base_url,
                "dlcoach_public_url": PUBLIC_URL,
                **settings,
            },
        )
        channel = LineChannel(app.settings)
        app.add_channel(channel)
        await channel.start(app.hub())
        web = Starlette(routes=channel.routes())
        try:
            async with serve(web) as base_url, httpx.AsyncClient() as client:
                yield Harness(app, line, channel, clock, base_url, client)
        finally:
            await channel.stop()
            await app.close()
    errors = [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.split(".")[0] in ("bot", "handlers", "storage")
    ]
    assert errors == [], [r.getMessage() for r in errors]


@pytest.fixture
async def harness(tmp_path, caplog) -> AsyncIterator[Harness]:
    async with line_harness(tmp_path, caplog) as h:
        yield h


# ---------------------------------------------------------------- the journey


async def test_a_line_user_completes_all_six_steps_by_reply(harness):
    h = harness
    h.channel.loading_after = 0  # the dots for every answer, however quick
    person = LineUser(h)
    await whole_journey(person)

    async with h.app.sessions() as session:
        [journey] = (await session.exec(select(Journey))).all()
    assert journey.completed_at is not None

    # Every answer went back by reply token: not one push was spent.
    assert h.line.pushes == []
    assert len(h.line.replies) == len(h.events)
    assert all(not r.retry_key for r in h.line.requests_to("/message/reply"))
    for reply in h.line.replies:
        assert validate_messages(reply.messages) == []
        assert 1 <= len(reply.messages) <= 5

    # The loading dots were asked for every text and tap (never for the follow).
    answers = [e for e in h.events if e["type"] in ("message", "postback")]
    assert len(h.line.loading_started) == len(answers)
    assert {s.chat_id for s in h.line.loading_started} == {person.user_id}

    # Results came as Flex cards with a text fallback, charts as images we serve.
    delivered = h.line.delivered(person.user_id)
    cards = [m for m in delivered if m["type"] == "flex" and "header" in m["contents"]]
    assert any(t(h.app, "s2.result_title") in m["altText"] for m in cards)
    assert any(
        m["contents"]["header"]["contents"][0]["text"] == t(h.app, "s6.result_title") for m in cards
    )
    images = [m for m in delivered if m["type"] == "image"]
    assert len(images) == 2
    for image in images:
        url = image["originalContentUrl"]
        assert url.startswith(PUBLIC_URL + "/media/")
        served = await h.client.get(h.base_url + url.removeprefix(PUBLIC_URL))
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/png"
        assert served.content.startswith(b"\x89PNG")
    assert (await h.client.get(h.base_url + "/media/" + "0" * 32 + "/x.png")).status_code == 404

    # Every event fixture these tests built is complete for the SDK.
    for event in h.events:
        assert_known_event(event)


async def test_progress_is_a_flex_card_and_the_rich_menu_buttons_work(harness):
    h = harness
    person = LineUser(h)
    await onboard(person)
    await h.post(postback_event(person.user_id, "c=go:progress", server=h.line))
    last = h.line.replies[-1].messages
    card = next(m for m in last if m["type"] == "flex")
    assert card["contents"]["header"]["contents"][0]["text"] == t(h.app, "progress.title")
    assert "\u25b0" in card["altText"] or "\u25b1" in card["altText"]  # the text bar
    assert "quickReply" in last[-1]  # and the current question again

    await h.post(postback_event(person.user_id, "c=go:help", server=h.line))
    assert any(t(h.app, "help") in text for text in h.line.delivered_texts(person.user_id))
    # Reminders may not have a command yet: the person still gets a helpful answer.
    await h.post(postback_event(person.user_id, "c=go:remind", server=h.line))
    assert h.line.delivered_texts(person.user_id)[-1]


async def test_a_long_list_becomes_a_carousel_that_can_be_tapped(harness):
    h = harness
    async with transaction(h.app.sessions) as session:
        for i in range(20):
            name = f"Agency number {i:02} of the test ministry"
            session.add(Agency(code=f"A{i:02}", name=name, open_join=True))
    person = LineUser(h)
    await person.follow()
    await person.tap(1)
    await person.say("Somsri")
    carousel = h.line.delivered(person.user_id)[-1]
    assert carousel["type"] == "flex" and carousel["contents"]["type"] == "carousel"
    assert len(person.buttons()) == 21
    await person.tap("Agency number 13 of the test ministry")
    async with h.app.sessions() as session:
        [stored] = (await session.exec(select(PersonRow))).all()
        agency = await session.get(Agency, stored.agency_id)
    assert agency.code == "A13"


def flex_button_actions(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The postback actions of every button in a Flex message, in order."""
    if message.get("type") != "flex":
        return []
    contents = message["contents"]
    bubbles = contents["contents"] if contents["type"] == "carousel" else [contents]
    actions: list[dict[str, Any]] = []

    def walk(node: dict[str, Any]) -> None:
        if node.get("type") == "button":
            actions.append(node["action"])
        for child in node.get("contents", []):
            walk(child)

    for bubble in bubbles:
        walk(bubble["body"])
    return actions


async def test_desktop_users_answer_with_the_flex_buttons(harness):
    """LINE for PC shows no quick replies: the same choices are Flex buttons whose
    postback, sent back through the webhook, is understood as the same choice."""
    h = harness
    mobile, desktop = LineUser(h), LineUser(h)
    for person in (mobile, desktop):
        await person.follow()
    [question] = [m for m in h.line.delivered(desktop.user_id) if flex_button_actions(m)]
    assert question == h.line.delivered(desktop.user_id)[-1]  # it carries the quick reply too
    buttons = flex_button_actions(question)
    quick = [item["action"] for item in question["quickReply"]["items"]]
    assert [b["data"] for b in buttons] == [q["data"] for q in quick]
    body_text = question["contents"]["body"]["contents"][0]
    assert body_text["wrap"] is True and body_text["text"] == question["altText"]

    seen = len(h.line.delivered(desktop.user_id))
    await mobile.tap(1)  # the quick reply
    await h.post(postback_event(desktop.user_id, buttons[0]["data"], server=h.line))
    after_desktop = h.line.delivered(desktop.user_id)[seen:]
    after_mobile = h.line.delivered(mobile.user_id)[seen:]

    def gist(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
        return [(m["type"], m.get("text") or m.get("altText", "")) for m in messages]

    # The very same answer (the name question offers each person their own LINE name).
    assert after_desktop and gist(after_desktop) == gist(after_mobile)
    async with h.app.sessions() as session:
        people = (await session.exec(select(PersonRow))).all()
    assert len(people) == 2  # both consented and were recorded
    for reply in h.line.replies:
        assert validate_messages(reply.messages) == []


# ----------------------------------------------------------------- webhooks


async def test_bad_or_missing_signature_is_401_and_nothing_happens(harness):
    h = harness
    body = encode_body(webhook_body(follow_event(new_user(), server=h.line)))
    wrong = await post_webhook(h.webhook_url, body, SECRET, signature=sign(body, "other"))
    assert wrong.status_code == 401
    missing = await h.client.post(
        h.webhook_url, content=body, headers={"Content-Type": "application/json"}
    )
    assert missing.status_code == 401
    tampered = await post_webhook(h.webhook_url, body + b" ", SECRET, signature=sign(body, SECRET))
    assert tampered.status_code == 401
    async with h.app.sessions() as session:
        assert (await session.exec(select(ProcessedEvent))).all() == []
    assert await h.outbox() == []
    assert h.line.requests == []


async def test_forged_webhooks_are_counted_not_logged_one_line_each(harness, caplog):
    h = harness
    body = encode_body(webhook_body(follow_event(new_user(), server=h.line)))
    caplog.clear()
    for _ in range(50):
        forged = await post_webhook(h.webhook_url, body, SECRET, signature=sign(body, "x"))
        assert forged.status_code == 401
    assert h.channel.rejections.totals["bad signature"] == 50
    lines = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(lines) <= 1, [r.getMessage() for r in lines]


async def test_malformed_body_is_400(harness):
    h = harness
    for raw in (b"{not json", b'{"destination": "x"}', b"[]", b"\xff\xfe"):
        response = await post_webhook(h.webhook_url, raw, SECRET)
        assert response.status_code == 400, raw
    huge = await post_webhook(h.webhook_url, b"{" + b" " * (2 << 20) + b"}", SECRET)
    assert huge.status_code == 413
    empty = await post_webhook(h.webhook_url, webhook_body(), SECRET)  # LINE's "verify" button
    assert empty.status_code == 200
    assert await h.outbox() == []


def test_signature_check_is_exact():
    body = b'{"events":[]}'
    assert verify_signature(body, sign(body, SECRET), SECRET)
    assert not verify_signature(body, sign(body, SECRET), "other")
    assert not verify_signature(body, None, SECRET)
    assert not verify_signature(body, "", SECRET)
    assert not verify_signature(body, "\u0e01", SECRET)  # not even ASCII


async def test_a_redelivered_event_is_handled_once(harness):
    h = harness
    user = new_user()
    event = follow_event(user, server=h.line)
    await h.post(event)
    again = {**event, "deliveryContext": {"isRedelivery": True}}
    await h.post(again)
    assert len(h.line.replies) == 1
    assert len(h.line.delivered(user)) == len(h.line.replies[0].messages)


async def test_the_loading_dots_go_up_only_when_the_answer_is_slow(harness):
    h = harness
    user = new_user()
    h.channel.loading_after = 30.0  # far longer than any answer here takes
    await h.post(follow_event(user, server=h.line))
    await h.post(text_message_event(user, "สวัสดี", server=h.line))
    assert h.line.loading_started == []
    assert len(h.line.replies) == 2

    # An answer that is slow to come (delivery held back here): the dots go up,
    # and their request reaches LINE before the answer does.
    h.channel.loading_after = 0.05
    await h.post(text_message_event(user, "ขอความช่วยเหลือ", server=h.line), deliver=False)
    for _ in range(200):
        if h.line.loading_started:
            break
        await asyncio.sleep(0.01)
    assert [s.chat_id for s in h.line.loading_started] == [user]
    await h.deliver()
    assert len(h.line.replies) == 3
    paths = [r.path for r in h.line.requests if "loading" in r.path or "reply" in r.path]
    assert paths[-2:] == ["/v2/bot/chat/loading/start", "/v2/bot/message/reply"]


async def test_events_we_do_not_use_are_acknowledged_and_ignored(harness):
    h = harness
    await h.post(join_event(group_id=GROUP, server=h.line))
    await h.post(text_message_event(new_user(), "hello all", group_id=GROUP, server=h.line))
    assert h.line.requests == []
    # A command typed in a group gets a pointer to the private chat, in the group.
    await h.post(text_message_event(new_user(), "/progress", group_id=GROUP, server=h.line))
    assert h.line.delivered_texts(GROUP) == [t(h.app, "group.private_only")]
    assert h.line.loading_started == []


async def test_stickers_and_unknown_buttons_get_a_polite_answer(harness):
    h = harness
    person = LineUser(h)
    await person.follow()
    for step in (1, "Somchai", 1, 1):  # consent, name, agency, unit: now the group question
        await (person.tap(step) if isinstance(step, int) else person.say(step))
    sticker = text_message_event(person.user_id, "x", server=h.line)
    sticker["message"] = {
        "id": "100001",
        "type": "sticker",
        "packageId": "446",
        "stickerId": "1988",
        "stickerResourceType": "STATIC",
        "quoteToken": "q-token",
    }
    await h.post(sticker)
    assert h.line.delivered_texts(person.user_id)[-1] == t(h.app, "common.pick_one")
    await h.post(postback_event(person.user_id, "action=buyItem&itemId=1", server=h.line))
    assert h.line.delivered_texts(person.user_id)[-2] == t(h.app, "common.stale_button")


async def test_every_kind_of_line_event_gets_200(harness):
    """LINE's own sample body: each event alone, then all at once, then each with
    its own event id (the sample shares one) so that every one is really handled."""
    h = harness
    body = json.loads(SHARED_FIXTURE.read_text(encoding="utf-8"))
    events = body["events"]
    assert len(events) == 28
    for event in events:
        response = await post_webhook(h.webhook_url, {**body, "events": [event]}, SECRET)
        assert response.status_code == 200, (event["type"], response.text)
    whole = await post_webhook(h.webhook_url, body, SECRET)
    assert whole.status_code == 200
    for event in events:
        unique = {**event, "webhookEventId": uuid.uuid4().hex}
        response = await post_webhook(h.webhook_url, {**body, "events": [unique]}, SECRET)
        assert response.status_code == 200, (event["type"], response.text)
    await h.deliver()
    # The sample's reply tokens are not real: answers fell back to pushes, none were lost.
    rows = await h.outbox()
    assert rows and {r.status for r in rows} == {"sent"}


# ------------------------------------------------------------------ delivery


async def test_an_expired_reply_token_falls_back_to_push(harness):
    h = harness
    user = new_user()
    await h.post(follow_event(user, server=h.line), deliver=False)
    h.clock.advance(seconds=61)  # we waited too long: do not even try the token
    await h.deliver()
    assert h.line.replies == [] and len(h.line.pushes) == 1
    [row] = await h.outbox()
    assert h.line.pushes[0].retry_key == retry_key(to_outbound(row, (), "th"))
    uuid.UUID(h.line.pushes[0].retry_key)

    # LINE rejects a token our clock still thinks is fresh: push instead.
    other = new_user()
    token = h.line.issue_reply_token(other, lifetime=0.5)
    await h.post(follow_event(other, server=h.line, reply_token=token), deliver=False)
    h.clock.advance(seconds=1)
    await h.deliver()
    assert [r.status for r in h.line.requests_to("/message/reply")] == [400]
    assert json.loads(h.line.requests_to("/message/reply")[0].body)["replyToken"] == token
    assert h.line.delivered_texts(other) and h.line.pushes[-1].to == other
    assert INVALID_REPLY_TOKEN  # the fake's wording, which the channel recognises


async def test_a_reply_whose_answer_was_lost_is_not_pushed_again(harness):
    """LINE used the reply token but the response never came back: the retry finds
    the token spent, knows its own earlier try spent it, and sends nothing more."""
    h = harness
    user = new_user()
    h.line.fail_next("/message/reply", status=500, after_processing=True)
    await h.post(follow_event(user, server=h.line))
    [row] = await h.outbox()
    assert row.status == "pending" and len(h.line.replies) == 1
    h.clock.advance(seconds=2)
    await h.deliver()
    assert [r.status for r in h.line.requests_to("/message/reply")] == [500, 400]
    assert h.line.pushes == [], "the reply went out: no paid push repeats it"
    assert len(h.line.delivered(user)) == 1
    [row] = await h.outbox()
    assert row.status == "sent"


async def test_a_refused_token_is_recorded_before_the_push(harness):
    """The token was refused and the push then failed: the retry pushes (with the
    same retry key) rather than taking the refused token for a sent reply."""
    h = harness
    user = new_user()
    token = h.line.issue_reply_token(user, lifetime=0.5)
    h.line.fail_next("/message/push", status=503)
    await h.post(follow_event(user, server=h.line, reply_token=token), deliver=False)
    h.clock.advance(seconds=1)
    await h.deliver()
    [row] = await h.outbox()
    assert row.status == "pending" and row.reply_token is None
    h.clock.advance(seconds=5)
    await h.deliver()
    assert len(h.line.delivered(user)) == 1 and len(h.line.pushes) == 1


async def test_a_push_retry_never_delivers_twice(harness):
    h = harness
    person = LineUser(h)
    await person.follow()
    await person.tap(1)
    nudge = await h.enqueue_nudge(person.user_id, "retry me")
    h.line.fail_next("/message/push", status=500, after_processing=True)
    await h.deliver()  # LINE delivered, but the response was lost
    [row] = [r for r in await h.outbox() if r.id == nudge]
    assert row.status == "pending"
    h.clock.advance(seconds=5)
    await h.deliver()
    statuses = [r.status for r in h.line.requests_to("/message/push")]
    assert statuses == [500, 409]
    assert h.line.delivered_texts(person.user_id).count("retry me") == 1
    [row] = [r for r in await h.outbox() if r.id == nudge]
    assert row.status == "sent"


async def test_rate_limited_push_waits_for_retry_after(harness):
    h = harness
    person = LineUser(h)
    await person.follow()
    await person.tap(1)
    nudge = await h.enqueue_nudge(person.user_id, "later")
    h.line.fail_next("/message/push", status=429, headers={"Retry-After": "30"})
    await h.deliver()
    [row] = [r for r in await h.outbox() if r.id == nudge]
    assert row.status == "pending"
    assert row.next_attempt_at.replace(tzinfo=None) >= (
        h.clock.now() + timedelta(seconds=30)
    ).replace(tzinfo=None)
    h.clock.advance(seconds=31)
    await h.deliver()
    assert h.line.delivered_texts(person.user_id)[-1] == "later"


async def test_more_than_five_messages_reply_first_then_push(harness):
    h = harness
    person = LineUser(h)
    await person.follow()
    await person.tap(1)
    account = await h.account(person.user_id)
    token = h.line.issue_reply_token(person.user_id)
    card = {"title": "card", "rows": [["a", "1", 0.5]], "footer": ""}
    now = h.clock.now()
    async with transaction(h.app.sessions) as session:
        session.add(
            OutboxMessage(
                channel=CHANNEL,
                chat_id=person.user_id,
                account_id=account.id,
                payload=[{"text": f"card {i}", "card": card} for i in range(7)],
                reply_token=token,
                reply_token_expires_at=now + timedelta(seconds=50),
                next_attempt_at=now,
                created_at=now,
            )
        )
    before = len(h.line.replies)
    h.line.fail_next("/message/push", status=503)
    await h.deliver()  # the reply went out, the push after it did not
    assert [len(r.messages) for r in h.line.replies[before:]] == [5]
    row = (await h.outbox())[-1]
    assert (row.status, row.sent_parts) == ("pending", 1)
    h.clock.advance(seconds=5)
    await h.deliver()  # the retry resumes with the push: the reply is not repeated
    assert len(h.line.replies) == before + 1
    assert [len(p.messages) for p in h.line.pushes] == [2]
    assert h.line.pushes[0].retry_key == retry_key(to_outbound(row, (), "th"), 1)
    delivered = h.line.delivered(person.user_id)
    cards = [m["altText"] for m in delivered if m["type"] == "flex" and "header" in m["contents"]]
    assert cards == [f"card {i}" for i in range(7)]
    assert (await h.outbox())[-1].status == "sent"


# --------------------------------------------------------------------- quota


async def test_quota_nearly_used_defers_nudges_but_replies_still_work(harness):
    h = harness
    person = LineUser(h)
    await person.follow()
    await person.tap(1)
    h.line.quota, h.line.quota_used = 10, 9  # 90 % used: at the default share
    nudge = await h.enqueue_nudge(person.user_id, "please learn today")
    await h.deliver()
    assert h.line.pushes == []
    rows = {r.id: r for r in await h.outbox()}
    assert rows[nudge].status == "deferred"
    async with h.app.sessions() as session:
        [audit] = (await session.exec(select(AuditLog))).all()
    account = await h.account(person.user_id)
    assert audit.action == "line.quota_deferred"
    assert audit.subject_person_id == account.person_id
    assert audit.detail["used"] == 9 and audit.detail["quota"] == 10

    # The person writes: the answer goes out by reply, not held behind the nudge.
    await person.say("Somchai")
    assert h.line.replies[-1].to == person.user_id
    assert "please learn today" not in h.line.delivered_texts(person.user_id)


async def test_quota_used_up_defers_even_an_essential_push(harness):
    h = harness
    person = LineUser(h)
    await person.follow()
    await person.tap(1)
    h.line.quota, h.line.quota_used = 10, 10
    await h.post(text_message_event(person.user_id, "Somchai", server=h.line), deliver=False)
    h.clock.advance(seconds=120)  # the reply token is gone: this answer needs a push
    await h.deliver()
    assert [r.status for r in h.line.requests_to("/message/push")] == [429]
    assert (await h.outbox())[-1].status == "deferred"
    async with h.app.sessions() as session:
        [audit] = (await session.exec(select(AuditLog))).all()
    assert audit.detail["reason"] == "monthly_limit"
    await person.say("/help")  # replies still work
    assert h.line.replies[-1].to == person.user_id


def test_the_nudge_limit_is_where_the_quota_guard_starts_deferring():
    for share in (0.9, 0.75, 0.333, 1.0, 0.0):
        meter = QuotaMeter(FakeClock(START), share)
        for limit in (1, 10, 15, 200, 1000):
            cap = meter.nudge_limit(limit)
            assert 0 <= cap <= limit
            # guard lets a nudge go while used / limit < share: exactly `cap` of them
            assert cap == sum(1 for used in range(limit) if used / limit < share), (share, limit)


async def test_push_budget_is_read_from_line_and_counts_each_push_until_the_next_read(harness):
    h = harness
    person = LineUser(h)
    await person.follow()
    await person.tap(1)
    h.line.quota, h.line.quota_used = 10, 3
    budget = await h.channel.push_budget()
    assert budget is not None
    assert (budget.quota, budget.used, budget.nudge_limit, budget.remaining) == (10, 3, 9, 6)
    reads = len(h.line.requests_to("/message/quota/consumption"))
    assert reads == 1

    for count in (1, 2):  # each push moves the count at once, without asking LINE again
        await h.enqueue_nudge(person.user_id, f"nudge {count}")
        await h.deliver()
        budget = await h.channel.push_budget()
        assert budget is not None and (budget.used, budget.remaining) == (3 + count, 6 - count)
    assert len(h.line.pushes) == 2
    assert len(h.line.requests_to("/message/quota/consumption")) == reads

    h.line.quota_used += 2  # another instance pushed twice: seen at the next reading
    assert (await h.channel.push_budget()).used == 5
    h.clock.advance(seconds=61)
    budget = await h.channel.push_budget()
    assert budget is not None and (budget.used, budget.remaining) == (7, 2)
    assert len(h.line.requests_to("/message/quota/consumption")) == reads + 1

    await h.post(text_message_event(person.user_id, "/help", server=h.line))
    assert h.line.replies[-1].to == person.user_id  # a reply is free: nothing counted
    assert (await h.channel.push_budget()).used == 7

    h.line.quota = None  # a plan without a limit
    h.clock.advance(seconds=61)
    assert await h.channel.push_budget() is None


async def test_the_planner_spends_the_pushes_left_on_line_on_the_plan_quoting_nudges(harness):
    h = harness
    h.clock.set(bkk(8, 6))  # Tuesday 8 December 2026; slots at 07:30
    people = {
        "plan": Profile("plan"),
        "goal": Profile("goal", plan=None, goals=(("word", bkk(9, 12).date()),)),
        "silent": Profile("silent", last_active=bkk(1, 10)),
        "plain": Profile("plain", plan=None),
    }
    users = {name: new_user() for name in people}
    for name, profile in people.items():
        await seed(h.app, profile, users[name], CHANNEL)
    h.line.quota, h.line.quota_used = 10, 7  # nine for nudges: two left

    await h.app.nudges.plan()
    h.clock.set(bkk(8, 7, 31))
    await h.app.nudges.send()
    await h.deliver()

    assert {push.to for push in h.line.pushes} == {users["plan"], users["goal"]}
    assert h.line.quota_used == 9
    async with h.app.sessions() as session:
        skipped = (await session.exec(select(Nudge).where(Nudge.reason == "quota"))).all()
        [month] = (await session.exec(select(PushMonth))).all()
    assert {n.person_id for n in skipped if n.kind != "followup"} == {
        (await h.account(users[name])).person_id for name in ("silent", "plain")
    }
    # The three check-ins' follow-ups (pushes of their own, worth a plain check-in,
    # due later) are set aside too.
    assert sum(1 for n in skipped if n.kind == "followup") == 3
    assert (month.channel, month.quota, month.used, month.planned, month.dropped) == (
        CHANNEL,
        10,
        7,
        2,
        2 + 3,
    )


# -------------------------------------------------------------------- unfollow


async def test_unfollow_stops_pushes(harness):
    h = harness
    person = LineUser(h)
    await person.follow()
    await person.tap(1)
    queued = await h.enqueue_nudge(person.user_id, "queued before")
    await person.unfollow()
    account = await h.account(person.user_id)
    assert not account.active and account.inactive_reason == "unfollowed"
    later = await h.enqueue_nudge(person.user_id, "written after")
    await h.deliver()
    assert h.line.pushes == []
    rows = {r.id: r for r in await h.outbox()}
    assert rows[queued].status == "dropped" and rows[later].status == "dropped"

    # Coming back (unblock) makes them reachable again.
    await h.post(follow_event(person.user_id, server=h.line, is_unblocked=True))
    assert (await h.account(person.user_id)).active
    await h.enqueue_nudge(person.user_id, "welcome back nudge")
    await h.deliver()
    assert h.line.delivered_texts(person.user_id)[-1] == "welcome back nudge"


# ------------------------------------------------------------------- serving


async def test_dlcoach_serve_wiring_answers_a_follow(tmp_path, caplog):
    """The real `serve` composition: enabled_channels + build_web + Runtime."""
    from bot.server import build_web, enabled_channels

    clock = FakeClock(START)
    async with FakeLineServer(access_token=TOKEN, clock=clock) as line:
        app = await make_app(
            f"sqlite:///{tmp_path / 'serve.db'}",
            clock,
            line_channel_secret=SECRET,
            line_channel_access_token=TOKEN,
            line_api_base_url=line.base_url,
        )
        channel, web = enabled_channels(app.settings)  # the web chat (/try) is on by default
        assert isinstance(channel, LineChannel) and web.name == "web"
        app.add_channel(channel)
        app.add_channel(web)
        async with serve(build_web(app), lifespan="on") as base, httpx.AsyncClient() as client:
            health = await client.get(base + "/healthz")
            assert health.json()["channels"] == ["line", "web"]
            user = new_user()
            event = follow_event(user, server=line)
            response = await post_webhook(base + "/webhooks/line", webhook_body(event), SECRET)
            assert response.status_code == 200
            for _ in range(300):  # the runtime delivers on its own
                if line.replies:
                    break
                await asyncio.sleep(0.01)
            assert [r.to for r in line.replies] == [user]
            assert line.pushes == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_unknown_postback_from_a_stranger_shows_the_notice(harness):
    h = harness
    user = new_user()
    await h.post(postback_event(user, "c=go:progress", server=h.line))
    assert h.line.delivered_texts(user)[-1].startswith(
        t(h.app, "consent.notice", version="พฤศจิกายน 2569")[:20]
    )
    async with h.app.sessions() as session:
        assert (await session.exec(select(PersonRow))).all() == []
