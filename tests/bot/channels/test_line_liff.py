"""The one-screen assessment as a LIFF app in LINE: the button that opens it, the
ID token verified with LINE (the fake's POST /oauth2/v2.1/verify) before anything
is stored, and the same assessment and result in the chat as the nine questions."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.channels.line import liff
from bot.channels.line.render import render
from bot.config import Settings
from handlers.messages import ASSESS_PAGE as ASSESS_CHOICE
from handlers.messages import Choice, Reply
from tests.bot.channels.test_line import LineUser, line_harness
from tests.bot.channels.test_line import harness as harness  # noqa: F401 - the fixture
from tests.bot.channels.test_telegram_webapp import ratings
from tests.drivers.chat import t
from tests.drivers.journey import PRE, first_step1, onboard
from tests.fakes.line_api import validate_messages

LIFF_ID = "2001234567-AbCdEfGh"
LOGIN_CHANNEL = "2001234567"
OPEN = f"https://liff.line.me/{LIFF_ID}"


def levels() -> str:
    return "".join(str(level) for level in PRE)


async def at_step_two(h) -> LineUser:  # noqa: ANN001
    person = LineUser(h)
    await onboard(person)
    await first_step1(person)
    return person


def test_the_page_button_is_a_link_where_the_liff_app_is_set_up() -> None:
    reply = Reply(
        "intro",
        choices=(Choice("start", "เริ่ม"), Choice(ASSESS_CHOICE, "ประเมินในหน้าเดียว")),
        question_seq=3,
    )
    [message] = render([reply], lambda key, **_: key, pages={ASSESS_CHOICE: OPEN})
    actions = [item["action"] for item in message["quickReply"]["items"]]
    assert [a["type"] for a in actions] == ["postback", "uri"]
    assert actions[1]["uri"] == OPEN and actions[1]["label"] == "ประเมินในหน้าเดียว"
    assert validate_messages([message]) == []
    [plain] = render([reply], lambda key, **_: key)
    assert [i["action"]["type"] for i in plain["quickReply"]["items"]] == ["postback"]


async def test_step_two_offers_the_liff_app_and_a_verified_token_stores_it(tmp_path, caplog):
    async with line_harness(tmp_path, caplog, line_liff_id=LIFF_ID) as h:
        person = await at_step_two(h)
        links = [a for a in person.buttons() if a["type"] == "uri"]
        assert [a["uri"] for a in links] == [OPEN]
        token = h.line.issue_id_token(person.user_id, LOGIN_CHANNEL)
        answer = await h.client.post(
            h.base_url + liff.ASSESS_API, json={"proof": token, "levels": levels()}
        )
        assert answer.status_code == 202, answer.text
        await h.deliver()
        expected = dict(zip([s.id for s in h.app.content.skills], PRE, strict=True))
        assert await ratings(h.app) == expected
        assert any(t(h.app, "s2.result_title") in text for text in person.texts())
        again = await h.client.post(  # the page posting twice stores nothing twice
            h.base_url + liff.ASSESS_API, json={"proof": token, "levels": levels()}
        )
        assert again.status_code == 202
        assert await ratings(h.app) == expected


async def test_forged_foreign_and_expired_tokens_store_nothing(tmp_path, caplog):
    async with line_harness(tmp_path, caplog, line_liff_id=LIFF_ID) as h:
        person = await at_step_two(h)
        other_channel = h.line.issue_id_token(person.user_id, "1999999999")
        expired = h.line.issue_id_token(person.user_id, LOGIN_CHANNEL, lifetime=60)
        h.clock.advance(minutes=2)
        for proof in ("forged.token.value", other_channel, expired, "", None, 42, "x" * 5000):
            answer = await h.client.post(
                h.base_url + liff.ASSESS_API, json={"proof": proof, "levels": levels()}
            )
            assert answer.status_code == 403, (proof, answer.text)
        bad = await h.client.post(h.base_url + liff.ASSESS_API, content=b"{not json")
        assert bad.status_code == 400
        await h.deliver()
        assert await ratings(h.app) == {}
        assert not any(t(h.app, "s2.result_title") in text for text in person.texts())


async def test_when_line_cannot_verify_the_page_is_asked_to_try_again(tmp_path, caplog):
    async with line_harness(tmp_path, caplog, line_liff_id=LIFF_ID) as h:
        person = await at_step_two(h)
        token = h.line.issue_id_token(person.user_id, LOGIN_CHANNEL)
        h.line.fail_next("/oauth2/v2.1/verify", status=500)
        answer = await h.client.post(
            h.base_url + liff.ASSESS_API, json={"proof": token, "levels": levels()}
        )
        assert answer.status_code == 503
        assert await ratings(h.app) == {}
        retried = await h.client.post(
            h.base_url + liff.ASSESS_API, json={"proof": token, "levels": levels()}
        )
        assert retried.status_code == 202


async def test_the_page_loads_the_liff_sdk_under_its_content_policy(tmp_path, caplog):
    async with line_harness(tmp_path, caplog, line_liff_id=LIFF_ID) as h:
        page = await h.client.get(h.base_url + liff.ASSESS_PAGE)
        assert page.status_code == 200
        assert f'<script src="{liff.LIFF_SDK}"></script>' in page.text
        assert LIFF_ID in page.text
        policy = page.headers["content-security-policy"]
        assert "script-src 'nonce-" in policy and liff.LIFF_SCRIPTS in policy
        assert "https://api.line.me" in policy.split("connect-src", 1)[1].split(";")[0]


async def test_without_a_liff_app_there_is_no_button_and_no_page(harness):
    person = await at_step_two(harness)
    assert [a for a in person.buttons() if a["type"] == "uri"] == []
    page = await harness.client.get(harness.base_url + liff.ASSESS_PAGE)
    assert page.status_code == 404
    post = await harness.client.post(
        harness.base_url + liff.ASSESS_API, json={"proof": "x", "levels": levels()}
    )
    assert post.status_code == 404


def test_the_liff_settings_are_checked_and_need_an_https_address() -> None:
    with pytest.raises(ValidationError):
        Settings(line_liff_id="not a liff id")
    assert liff.liff_url(Settings(line_liff_id=LIFF_ID)) is None  # no public address
    public = Settings(line_liff_id=LIFF_ID, dlcoach_public_url="https://bot.example.go.th")
    assert liff.liff_url(public) == OPEN and liff.login_channel_id(public) == LOGIN_CHANNEL
    own = Settings(line_liff_id=LIFF_ID, line_login_channel_id="1600000000")
    assert liff.login_channel_id(own) == "1600000000"
