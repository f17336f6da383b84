"""The fake LINE API and the webhook driver, exercised with the real line-bot-sdk."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.messaging import (
    ApiException,
    AsyncApiClient,
    AsyncMessagingApi,
    AsyncMessagingApiBlob,
    Configuration,
    FlexBox,
    FlexBubble,
    FlexButton,
    FlexMessage,
    FlexText,
    PostbackAction,
    PushMessageRequest,
    QuickReply,
    QuickReplyItem,
    ReplyMessageRequest,
    RichMenuArea,
    RichMenuBounds,
    RichMenuRequest,
    RichMenuSize,
    ShowLoadingAnimationRequest,
    TextMessage,
)
from linebot.v3.webhooks import (
    FollowEvent,
    JoinEvent,
    LeaveEvent,
    MessageEvent,
    PostbackEvent,
    UnfollowEvent,
)

from tests.drivers.paths import LINE_SAMPLE_EVENTS
from tests.fakes.line_api import INVALID_REPLY_TOKEN, MONTHLY_LIMIT, FakeLineServer
from tests.fakes.line_webhook import (
    assert_known_event,
    encode_body,
    follow_event,
    join_event,
    leave_event,
    new_webhook_event_id,
    parse_with_sdk,
    post_webhook,
    postback_event,
    sign,
    text_message_event,
    unfollow_event,
    webhook_body,
)

TOKEN = "test-channel-token"
USER = "U206d25c2ea6bd87c17655609a1c37cb8"
OTHER = "U0000000000000000000000000000beef"
GROUP = "Ca56f94637cc4347f90a25382909b24b9"
ROOM = "Ra8dbf4673c4c812cd491258042226c99"
SHARED_FIXTURE = LINE_SAMPLE_EVENTS
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
async def line():
    async with FakeLineServer(access_token=TOKEN, quota=3) as server:
        yield server


@pytest.fixture
async def client(line):
    async with AsyncApiClient(Configuration(host=line.base_url, access_token=TOKEN)) as api_client:
        yield api_client


@pytest.fixture
def api(client):
    return AsyncMessagingApi(client)


def body_of(exc: ApiException) -> dict:
    return json.loads(exc.body)


def text(s: str) -> TextMessage:
    return TextMessage(text=s)


# ---------------------------------------------------------------------- replies


async def test_reply_with_fresh_token_delivers(line, api):
    token = line.issue_reply_token(USER)
    result = await api.reply_message(
        ReplyMessageRequest(reply_token=token, messages=[text("สวัสดี")])
    )
    assert len(result.sent_messages) == 1
    assert line.delivered_texts(USER) == ["สวัสดี"]
    assert [r.reply_token for r in line.replies] == [token]
    assert line.quota_used == 0  # replies are free


async def test_reply_token_is_single_use(line, api):
    token = line.issue_reply_token(USER)
    await api.reply_message(ReplyMessageRequest(reply_token=token, messages=[text("one")]))
    with pytest.raises(ApiException) as caught:
        await api.reply_message(ReplyMessageRequest(reply_token=token, messages=[text("two")]))
    assert caught.value.status == 400
    assert body_of(caught.value) == {"message": INVALID_REPLY_TOKEN}
    assert line.delivered_texts(USER) == ["one"]


async def test_reply_token_expires_on_the_injected_clock(line, api):
    fresh = line.issue_reply_token(USER)
    stale = line.issue_reply_token(USER)
    line.clock.advance(seconds=59)
    await api.reply_message(ReplyMessageRequest(reply_token=fresh, messages=[text("in time")]))
    line.clock.advance(seconds=2)
    with pytest.raises(ApiException) as caught:
        await api.reply_message(ReplyMessageRequest(reply_token=stale, messages=[text("late")]))
    assert caught.value.status == 400
    assert body_of(caught.value)["message"] == INVALID_REPLY_TOKEN
    assert line.delivered_texts(USER) == ["in time"]


async def test_unknown_reply_token_is_rejected(line, api):
    with pytest.raises(ApiException) as caught:
        await api.reply_message(ReplyMessageRequest(reply_token="nope", messages=[text("x")]))
    assert caught.value.status == 400
    assert line.delivered(USER) == []


async def test_wrong_access_token_is_401(line):
    config = Configuration(host=line.base_url, access_token="wrong")
    async with AsyncApiClient(config) as other_client:
        with pytest.raises(ApiException) as caught:
            await AsyncMessagingApi(other_client).get_message_quota()
    assert caught.value.status == 401
    assert "message" in body_of(caught.value)


def test_sync_use_and_a_clock_object_with_now():
    class WallClock:  # the shape of handlers.clock.FakeClock: an object with .now()
        def __init__(self):
            self.moment = datetime(2025, 3, 1, tzinfo=UTC)

        def now(self):
            return self.moment

        def advance(self, **delta):
            self.moment += timedelta(**delta)

    clock = WallClock()
    with FakeLineServer(access_token=TOKEN, clock=clock) as server:
        token = server.issue_reply_token(USER)
        clock.advance(minutes=2)
        response = httpx.post(
            f"{server.base_url}/v2/bot/message/reply",
            json={"replyToken": token, "messages": [{"type": "text", "text": "late"}]},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    assert response.status_code == 400
    assert response.json() == {"message": INVALID_REPLY_TOKEN}


async def test_retry_key_on_reply_is_400(line):
    token = line.issue_reply_token(USER)
    async with httpx.AsyncClient(base_url=line.base_url) as raw:
        response = await raw.post(
            "/v2/bot/message/reply",
            json={"replyToken": token, "messages": [{"type": "text", "text": "x"}]},
            headers={"Authorization": f"Bearer {TOKEN}", "X-Line-Retry-Key": str(uuid.uuid4())},
        )
    assert response.status_code == 400
    assert line.delivered(USER) == []


# ------------------------------------------------------------------------ pushes


async def test_push_retry_key_twice_is_409_and_delivered_once(line, api):
    key = str(uuid.uuid4())
    request = PushMessageRequest(to=USER, messages=[text("nudge")])
    first = await api.push_message_with_http_info(request, x_line_retry_key=key)
    assert first.status_code == 200
    with pytest.raises(ApiException) as caught:
        await api.push_message(request, x_line_retry_key=key)
    assert caught.value.status == 409
    accepted = caught.value.headers.get("x-line-accepted-request-id")
    assert accepted == first.headers.get("x-line-request-id")
    assert line.delivered_texts(USER) == ["nudge"]
    assert [p.retry_key for p in line.pushes] == [key]
    assert line.quota_used == 1


async def test_lost_response_then_retry_gets_409_without_duplicate(line, api):
    key = str(uuid.uuid4())
    request = PushMessageRequest(to=USER, messages=[text("once")])
    line.fail_next("/message/push", status=500, after_processing=True)
    with pytest.raises(ApiException) as caught:
        await api.push_message(request, x_line_retry_key=key)
    assert caught.value.status == 500
    with pytest.raises(ApiException) as again:
        await api.push_message(request, x_line_retry_key=key)
    assert again.value.status == 409
    assert line.delivered_texts(USER) == ["once"]


async def test_injected_failures_deliver_nothing_until_they_run_out(line, api):
    line.fail_next("/message/push", status=429, times=2)
    request = PushMessageRequest(to=USER, messages=[text("later")])
    statuses = []
    for _ in range(3):
        try:
            await api.push_message(request, x_line_retry_key=str(uuid.uuid4()))
            statuses.append(200)
        except ApiException as exc:
            statuses.append(exc.status)
    assert statuses == [429, 429, 200]
    assert line.delivered_texts(USER) == ["later"]
    assert [r.status for r in line.requests_to("/message/push")] == [429, 429, 200]


async def test_quota_used_up_is_429(line, api):
    for i in range(3):
        await api.push_message(PushMessageRequest(to=USER, messages=[text(f"p{i}")]))
    with pytest.raises(ApiException) as caught:
        await api.push_message(PushMessageRequest(to=USER, messages=[text("over")]))
    assert caught.value.status == 429
    assert body_of(caught.value) == {"message": MONTHLY_LIMIT}
    assert line.delivered_texts(USER) == ["p0", "p1", "p2"]
    # a reply still works when pushes are exhausted
    token = line.issue_reply_token(USER)
    await api.reply_message(ReplyMessageRequest(reply_token=token, messages=[text("free")]))
    assert line.delivered_texts(USER)[-1] == "free"


async def test_push_to_blocked_user_is_200_but_not_delivered(line, api):
    line.block(USER)
    result = await api.push_message(PushMessageRequest(to=USER, messages=[text("hello?")]))
    assert len(result.sent_messages) == 1
    assert line.delivered(USER) == []
    assert line.pushes[0].delivered is False
    assert line.quota_used == 0  # LINE does not count undelivered messages
    await api.push_message(PushMessageRequest(to=OTHER, messages=[text("hi")]))
    assert line.delivered_texts(OTHER) == ["hi"]


async def test_six_messages_is_400(line, api):
    # The SDK's own model refuses six messages, so bypass its validation to reach the server.
    with pytest.raises(ValueError):
        PushMessageRequest(to=USER, messages=[text(str(i)) for i in range(6)])
    request = PushMessageRequest.construct(to=USER, messages=[text(str(i)) for i in range(6)])
    with pytest.raises(ApiException) as caught:
        await api.push_message(request)
    assert caught.value.status == 400
    assert body_of(caught.value)["details"][0]["property"] == "messages"
    assert line.delivered(USER) == []


@pytest.mark.parametrize(
    ("message", "bad_property"),
    [
        ({"type": "text", "text": "ก" * 5001}, "messages[0].text"),
        ({"type": "text", "text": ""}, "messages[0].text"),
        (
            {
                "type": "text",
                "text": "pick",
                "quickReply": {
                    "items": [
                        {
                            "type": "action",
                            "action": {"type": "postback", "label": str(i), "data": "x"},
                        }
                        for i in range(14)
                    ]
                },
            },
            "messages[0].quickReply.items",
        ),
        (
            {
                "type": "text",
                "text": "pick",
                "quickReply": {
                    "items": [
                        {
                            "type": "action",
                            "action": {"type": "postback", "label": "a", "data": "d" * 301},
                        }
                    ]
                },
            },
            "messages[0].quickReply.items[0].action.data",
        ),
        ({"type": "flex", "contents": {"type": "bubble"}}, "messages[0].altText"),
        ({"type": "flex", "altText": "card"}, "messages[0].contents"),
        ({"type": "nonsense"}, "messages[0].type"),
    ],
)
async def test_invalid_message_objects_are_400(line, message, bad_property):
    async with httpx.AsyncClient(base_url=line.base_url) as raw:
        response = await raw.post(
            "/v2/bot/message/push",
            json={"to": USER, "messages": [message]},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    assert response.status_code == 400
    assert bad_property in [d["property"] for d in response.json()["details"]]
    assert line.delivered(USER) == []


def _button(label: str = "ตกลง", data: str = "c=ok", kind: str = "postback") -> dict:
    return {"type": "button", "action": {"type": kind, "label": label, "data": data}}


def _flex(*components: dict, alt: str = "choose") -> dict:
    body = {"type": "box", "layout": "vertical", "contents": list(components)}
    return {"type": "flex", "altText": alt, "contents": {"type": "bubble", "body": body}}


BODY = "messages[0].contents.body"


@pytest.mark.parametrize(
    ("message", "bad_property"),
    [
        (_flex(_button(label="ก" * 41)), f"{BODY}.contents[0].action.label"),
        (_flex(_button(label="")), f"{BODY}.contents[0].action.label"),
        (_flex(_button(data="d" * 301)), f"{BODY}.contents[0].action.data"),
        (_flex(_button(data="")), f"{BODY}.contents[0].action.data"),
        (_flex(_button(kind="camera")), f"{BODY}.contents[0].action.type"),
        (_flex({"type": "button"}), f"{BODY}.contents[0].action.type"),
        (_flex({"type": "text", "text": "x", "wrap": "yes"}), f"{BODY}.contents[0].wrap"),
        (_flex({"type": "text", "text": ""}), f"{BODY}.contents[0].text"),
        (_flex({"type": "marquee"}), f"{BODY}.contents[0].type"),
        (_flex({"type": "box", "contents": []}), f"{BODY}.contents[0].layout"),
        (_flex(_button(), alt="ก" * 1501), "messages[0].altText"),
        (_flex(*[{"type": "text", "text": "ก" * 5000}] * 3), "messages[0].contents"),
        (
            {"type": "flex", "altText": "a", "contents": {"type": "bubble"}},
            "messages[0].contents",
        ),
        (
            {
                "type": "flex",
                "altText": "a",
                "contents": {"type": "bubble", "body": {"type": "text", "text": "x"}},
            },
            BODY,
        ),
        (
            {
                "type": "flex",
                "altText": "a",
                "contents": {"type": "carousel", "contents": [{"type": "box"}]},
            },
            "messages[0].contents.contents[0]",
        ),
        (
            {
                "type": "flex",
                "altText": "a",
                "contents": {"type": "carousel", "contents": [_flex(_button())["contents"]] * 13},
            },
            "messages[0].contents",
        ),
    ],
)
async def test_malformed_flex_is_400(line, message, bad_property):
    async with httpx.AsyncClient(base_url=line.base_url) as raw:
        response = await raw.post(
            "/v2/bot/message/push",
            json={"to": USER, "messages": [message]},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    assert response.status_code == 400, response.text
    assert bad_property in [d["property"] for d in response.json()["details"]]
    assert line.delivered(USER) == []


async def test_flex_from_the_sdk_is_checked_like_line(line, api):
    """The real SDK's Flex models: a well-formed bubble of buttons goes through, one
    without altText (which the SDK's model alone would refuse) is a LINE 400."""
    button = FlexButton(action=PostbackAction(label="ก" * 40, data="q=1&c=a", display_text="ก"))
    body = FlexBox(layout="vertical", contents=[FlexText(text="เลือก", wrap=True), button])
    good = FlexMessage(alt_text="เลือก", contents=FlexBubble(body=body))
    await api.push_message(PushMessageRequest(to=USER, messages=[good]))
    [delivered] = line.delivered(USER)
    assert delivered["contents"]["body"]["contents"][1]["action"]["data"] == "q=1&c=a"

    with pytest.raises(ValueError):
        FlexMessage(contents=FlexBubble(body=body))
    bad = FlexMessage.construct(type="flex", contents=FlexBubble(body=body))
    with pytest.raises(ApiException) as caught:
        await api.push_message(PushMessageRequest(to=USER, messages=[bad]))
    assert caught.value.status == 400
    assert "messages[0].altText" in [d["property"] for d in body_of(caught.value)["details"]]
    assert len(line.delivered(USER)) == 1


async def test_text_at_the_limits_is_accepted(line, api):
    items = [
        QuickReplyItem(action=PostbackAction(label=f"ข้อ {i}", data="d" * 300)) for i in range(13)
    ]
    message = TextMessage(text="ก" * 5000, quick_reply=QuickReply(items=items))
    await api.push_message(PushMessageRequest(to=USER, messages=[message]))
    [delivered] = line.delivered(USER)
    assert len(delivered["quickReply"]["items"]) == 13


# ------------------------------------------------------- loading, quota, profile


async def test_loading_animation_is_recorded(line, api):
    await api.show_loading_animation(ShowLoadingAnimationRequest(chat_id=USER, loading_seconds=10))
    [started] = line.loading_started
    assert (started.chat_id, started.loading_seconds) == (USER, 10)


async def test_quota_and_consumption_read_back(line, api):
    line.quota_used = 2
    quota = await api.get_message_quota()
    assert (quota.type.value, quota.value) == ("limited", 3)
    assert (await api.get_message_quota_consumption()).total_usage == 2
    await api.push_message(PushMessageRequest(to=USER, messages=[text("a"), text("b")]))
    assert (await api.get_message_quota_consumption()).total_usage == 3


async def test_profile_and_blocked_profile(line, api):
    line.add_user(USER, "สมชาย", language="th")
    profile = await api.get_profile(USER)
    assert (profile.display_name, profile.language) == ("สมชาย", "th")
    line.block(USER)
    with pytest.raises(ApiException) as caught:
        await api.get_profile(USER)
    assert caught.value.status == 404


# -------------------------------------------------------------------- rich menus


async def test_rich_menu_create_upload_and_set_default(line, client, api):
    request = RichMenuRequest(
        size=RichMenuSize(width=2500, height=843),
        selected=True,
        name="main",
        chat_bar_text="เมนู",
        areas=[
            RichMenuArea(
                bounds=RichMenuBounds(x=0, y=0, width=2500, height=843),
                action=PostbackAction(data="menu:home"),
            )
        ],
    )
    created = await api.create_rich_menu(request)
    blob = AsyncMessagingApiBlob(client)
    # The blob call sends JSON unless the content type is given as a header.
    with pytest.raises(TypeError):
        await blob.set_rich_menu_image(created.rich_menu_id, PNG)
    await blob.set_rich_menu_image(
        created.rich_menu_id, PNG, _headers={"Content-Type": "image/png"}
    )
    await api.set_default_rich_menu(created.rich_menu_id)

    menu = line.rich_menus[created.rich_menu_id]
    assert (menu.image, menu.image_content_type) == (PNG, "image/png")
    assert menu.menu["chatBarText"] == "เมนู"
    assert line.default_rich_menu_id == created.rich_menu_id
    listed = await api.get_rich_menu_list()
    assert [m.rich_menu_id for m in listed.richmenus] == [created.rich_menu_id]
    assert bytes(await blob.get_rich_menu_image(created.rich_menu_id)) == PNG

    await api.delete_rich_menu(created.rich_menu_id)
    assert line.rich_menus == {}
    assert line.default_rich_menu_id is None


async def test_default_rich_menu_needs_an_image(line, api):
    created = await api.create_rich_menu(
        RichMenuRequest(
            size=RichMenuSize(width=2500, height=843),
            selected=False,
            name="bare",
            chat_bar_text="menu",
            areas=[],
        )
    )
    with pytest.raises(ApiException) as caught:
        await api.set_default_rich_menu(created.rich_menu_id)
    assert caught.value.status == 400
    assert line.default_rich_menu_id is None


# ---------------------------------------------------------------------- webhooks

SECRET = "channel-secret-for-tests"


def _builders(server):
    return [
        (follow_event(USER, server=server), FollowEvent),
        (follow_event(USER, server=server, is_unblocked=True), FollowEvent),
        (unfollow_event(OTHER), UnfollowEvent),
        (text_message_event(USER, "สวัสดีครับ", server=server), MessageEvent),
        (text_message_event(USER, "hi group", group_id=GROUP, server=server), MessageEvent),
        (text_message_event(USER, "hi room", room_id=ROOM, server=server), MessageEvent),
        (postback_event(USER, "step=1&skill=3", server=server), PostbackEvent),
        (postback_event(USER, "date", params={"date": "2025-01-31"}), PostbackEvent),
        (postback_event(USER, "g", group_id=GROUP, server=server), PostbackEvent),
        (postback_event(None, "r", room_id=ROOM), PostbackEvent),
        (join_event(group_id=GROUP, server=server), JoinEvent),
        (leave_event(room_id=ROOM), LeaveEvent),
    ]


async def test_every_builder_parses_as_its_proper_class(line):
    built = _builders(line)
    for event, cls in built:
        assert_known_event(event, cls)
        assert event["mode"] == "active"
        assert event["deliveryContext"] == {"isRedelivery": False}
        assert len(event["webhookEventId"]) == 26
    # all together in one signed body, verified by the SDK's own parser
    raw = encode_body(webhook_body(*(e for e, _ in built)))
    parsed = parse_with_sdk(raw, SECRET, sign(raw, SECRET))
    assert [type(e) for e in parsed] == [cls for _, cls in built]
    assert len({e["webhookEventId"] for e, _ in built}) == len(built)


def test_a_missing_field_is_caught():
    event = text_message_event(USER, "hi")
    del event["message"]["quoteToken"]
    with pytest.raises(AssertionError, match="UnknownEvent"):
        assert_known_event(event)


def test_bad_signature_is_rejected_by_the_sdk():
    raw = encode_body(webhook_body(text_message_event(USER, "hi")))
    with pytest.raises(InvalidSignatureError):
        parse_with_sdk(raw, SECRET, sign(raw, "another-secret"))


async def test_builder_reply_tokens_work_against_the_server(line, api):
    events = parse_with_sdk(
        webhook_body(
            text_message_event(USER, "hello", server=line),
            text_message_event(USER, "in group", group_id=GROUP, server=line),
        ),
        SECRET,
    )
    for event in events:
        await api.reply_message(
            ReplyMessageRequest(reply_token=event.reply_token, messages=[text("ok")])
        )
    assert line.delivered_texts(USER) == ["ok"]
    assert line.delivered_texts(GROUP) == ["ok"]


async def test_unfollow_with_server_blocks_and_follow_unblocks(line, api):
    unfollow_event(USER, server=line)
    await api.push_message(PushMessageRequest(to=USER, messages=[text("gone")]))
    assert line.delivered(USER) == []
    follow_event(USER, server=line, is_unblocked=True)
    await api.push_message(PushMessageRequest(to=USER, messages=[text("back")]))
    assert line.delivered_texts(USER) == ["back"]


async def test_post_webhook_sends_the_exact_signed_bytes():
    seen = []

    def receive(request: httpx.Request) -> httpx.Response:
        raw = request.content
        signature = request.headers["x-line-signature"]
        seen.append(parse_with_sdk(raw, SECRET, signature))
        return httpx.Response(200)

    body = webhook_body(text_message_event(USER, "ภาษาไทย"))
    async with httpx.AsyncClient(transport=httpx.MockTransport(receive)) as mock:
        response = await post_webhook("http://bot.test/webhooks/line", body, SECRET, client=mock)
        assert response.status_code == 200
        with pytest.raises(InvalidSignatureError):
            await post_webhook("http://bot.test/webhooks/line", body, SECRET, "bad", client=mock)
    [[event]] = seen
    assert event.message.text == "ภาษาไทย"


def test_shared_sample_file_parses_with_the_sdk():
    raw = SHARED_FIXTURE.read_bytes()
    events = parse_with_sdk(raw, SECRET, sign(raw, SECRET))
    assert len(events) == 28


def test_webhook_event_ids_are_unique_ulids():
    ids = {new_webhook_event_id() for _ in range(2000)}
    assert len(ids) == 2000
    alphabet = set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
    assert all(len(i) == 26 and set(i) <= alphabet for i in ids)
    assert new_webhook_event_id(1_000) < new_webhook_event_id(2_000_000_000_000)
