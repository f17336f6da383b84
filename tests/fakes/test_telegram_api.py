"""The fake Bot API server, exercised with the real python-telegram-bot client over HTTP.

If PTB cannot parse what the fake answers, or the fake does not fail the way Telegram does,
every Telegram channel test built on it proves nothing; these tests pin that down.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import http.server
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from tests.fakes.telegram_api import FakeTelegramServer

TOKEN = "123456:TEST-token_abc"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x40\x00\x00\x00\xf0\x08\x02\x00\x00\x00"
    + bytes(range(256))
    + b"\r\n\r\n--\r\n"
)


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(token=TOKEN) as srv:
        yield srv


@pytest.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=server.base_url) as b:
        yield b


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data)] for text, data in pairs]
    )


async def test_get_me_is_parsed_by_ptb(server: FakeTelegramServer, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, "dlcoach_test_bot")
    assert me.can_join_groups is True
    assert [c.method for c in server.calls()] == ["getMe", "getMe"]  # initialize() + ours


async def test_wrong_token_and_unknown_method(server: FakeTelegramServer, bot: Bot) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("999:WRONG", base_url=server.base_url):
            pass
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendTelepathy")
    async with httpx.AsyncClient() as client:
        response = await client.post(server.method_url("sendTelepathy"))
        wrong = await client.post(f"{server.base_url}999:WRONG/getMe")
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_send_message_with_keyboard_round_trips(server: FakeTelegramServer, bot: Bot) -> None:
    markup = keyboard(("ใช่", "step:1:yes"), ("No", "step:1:no"))
    first = await bot.send_message(42, "สวัสดี <b>ครับ</b>", parse_mode="HTML", reply_markup=markup)
    second = await bot.send_message(42, "again")
    other = await bot.send_message(7, "other chat")

    assert first.reply_markup == markup
    assert first.text == "สวัสดี ครับ"
    assert isinstance(first.date, dtm.datetime) and abs(first.date.timestamp() - time.time()) < 5
    assert (first.message_id, second.message_id, other.message_id) == (1, 2, 1)
    assert first.from_user.id == 123456 and first.chat.id == 42

    call = server.calls("sendMessage")[0]
    assert call.params["chat_id"] == 42 and call.params["parse_mode"] == "HTML"
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "step:1:yes"
    assert server.texts(42) == ["สวัสดี ครับ", "again"]
    assert server.keyboards == [markup.to_dict()]


async def test_text_limits(server: FakeTelegramServer, bot: Bot) -> None:
    await bot.send_message(1, "ก" * 4096)  # characters, not bytes
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(1, "x" * 4097)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(1, "  ")
    await bot.send_message(1, "<b>" + "y" * 4096 + "</b>", parse_mode="HTML")  # after parsing
    with pytest.raises(BadRequest, match="parse entities"):
        await bot.send_message(1, "a <unknown> tag", parse_mode="HTML")
    assert [c.status for c in server.calls("sendMessage")] == [200, 400, 400, 200, 400]
    assert len(server.sent_messages(1)) == 2


async def test_callback_data_limit_is_64_bytes(server: FakeTelegramServer, bot: Bot) -> None:
    await bot.send_message(1, "ok", reply_markup=keyboard(("a", "x" * 64)))
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(1, "too long", reply_markup=keyboard(("a", "x" * 65)))
    with pytest.raises(BadRequest, match="Button_data_invalid"):  # 22 Thai letters = 66 bytes
        await bot.send_message(1, "too long", reply_markup=keyboard(("a", "ก" * 22)))
    assert server.texts(1) == ["ok"]


async def test_uploads_are_recorded_byte_for_byte(server: FakeTelegramServer, bot: Bot) -> None:
    pdf = b"%PDF-1.4\r\n" + bytes(range(256)) * 3 + b"\n--boundary\r\n\r\n"
    photo = await bot.send_photo(42, PNG, caption="กราฟ", filename="chart.png")
    document = await bot.send_document(42, pdf, filename="รายงาน ปี 2567.pdf")

    sent_photo, sent_doc = server.uploads
    assert sent_photo.content == PNG and sent_photo.filename == "chart.png"
    assert sent_doc.content == pdf and sent_doc.filename == "รายงาน ปี 2567.pdf"
    assert server.calls("sendDocument")[0].params["document"] == sent_doc
    assert (photo.photo[-1].width, photo.photo[-1].height) == (320, 240)
    assert photo.caption == "กราฟ"
    assert document.document.file_name == "รายงาน ปี 2567.pdf"
    assert server.file_content(document.document.file_id) == pdf

    again = await bot.send_document(7, document.document.file_id)  # re-send by file_id
    assert again.document.file_id == document.document.file_id
    await bot.send_document(7, b"x", filename='odd "name"\\ 100%.txt')
    assert server.uploads[-1].filename == 'odd "name"\\ 100%.txt'
    with pytest.raises(BadRequest, match="File must be non-empty"):
        await bot.send_document(7, b"", filename="empty.txt")
    with pytest.raises(BadRequest, match="Wrong file identifier"):
        await bot.send_document(7, "no-such-file-id")


# PTB 22 warns that RetryAfter.retry_after will become a timedelta; both forms are handled.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_fail_next_429_raises_retry_after(server: FakeTelegramServer, bot: Bot) -> None:
    server.fail_next("sendMessage", status=429, retry_after=3)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(1, "hello")
    retry_after = caught.value.retry_after
    seconds = retry_after.total_seconds() if isinstance(retry_after, dtm.timedelta) else retry_after
    assert seconds == 3
    assert server.calls("sendMessage")[0].status == 429
    await bot.send_message(1, "hello")  # only the next call failed
    assert server.texts(1) == ["hello"]

    server.fail_next("sendMessage", status=500, times=2)
    for _ in range(2):
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_message(1, "x")
    await bot.send_message(1, "after 500s")
    assert server.texts(1) == ["hello", "after 500s"]


async def test_blocked_user_is_forbidden(server: FakeTelegramServer, bot: Bot) -> None:
    server.block(5)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(5, "hi")
    with pytest.raises(Forbidden):
        await bot.send_photo(5, PNG)
    await bot.send_message(6, "others still get messages")
    assert server.sent_messages(5) == [] and server.uploads == []
    server.unblock(5)
    await bot.send_message(5, "back")
    assert server.texts(5) == ["back"]


async def test_edits_and_callback_answers(server: FakeTelegramServer, bot: Bot) -> None:
    sent = await bot.send_message(9, "Pick one", reply_markup=keyboard(("A", "a")))
    edited = await bot.edit_message_text("Picked A", chat_id=9, message_id=sent.message_id)
    assert edited.text == "Picked A" and edited.reply_markup is None  # keyboard dropped
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("Picked A", chat_id=9, message_id=sent.message_id)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", chat_id=9, message_id=999)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_reply_markup(chat_id=9, message_id=999)
    marked = await bot.edit_message_reply_markup(
        9, sent.message_id, reply_markup=keyboard(("B", "b"))
    )
    assert marked.reply_markup == keyboard(("B", "b"))
    assert server.message(9, sent.message_id)["text"] == "Picked A"
    assert server.sent_messages(9)[0]["text"] == "Pick one"  # as sent, before the edits

    update = server.user_presses(9, sent.message_id, "b")
    query_id = update["callback_query"]["id"]
    assert await bot.answer_callback_query(query_id, text="ok")
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query_id)  # answered already
    assert server.answered_callbacks == [{"callback_query_id": query_id, "text": "ok"}]


async def test_webhook_commands_and_chat_action(server: FakeTelegramServer, bot: Bot) -> None:
    assert await bot.set_webhook("http://127.0.0.1:1/webhooks/telegram", secret_token="s3cr-et_")
    assert server.webhook["secret_token"] == "s3cr-et_"
    info = await bot.get_webhook_info()
    assert info.url == "http://127.0.0.1:1/webhooks/telegram"
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    with pytest.raises(BadRequest):
        await bot.set_webhook("http://127.0.0.1:1/", secret_token="has space")
    assert await bot.delete_webhook()
    assert server.webhook == {} and (await bot.get_webhook_info()).url == ""

    await bot.set_my_commands([("start", "เริ่ม"), ("help", "ช่วยเหลือ")], language_code="th")
    await bot.set_my_commands([("start", "Start")])
    assert [c.command for c in await bot.get_my_commands(language_code="th")] == ["start", "help"]
    assert server.commands == {
        "th": [
            {"command": "start", "description": "เริ่ม"},
            {"command": "help", "description": "ช่วยเหลือ"},
        ],
        "": [{"command": "start", "description": "Start"}],
    }
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([("Start-Now", "bad")])
    assert await bot.send_chat_action(1, "typing")
    with pytest.raises(BadRequest):
        await bot.send_chat_action(1, "dancing")


async def test_long_poll_waits_then_returns_early(server: FakeTelegramServer, bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=0.3) == ()
    assert 0.25 < time.monotonic() - started < 2

    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await server.wait_for(lambda: server.polling)
    started = time.monotonic()
    injected = server.user_sends_text(11, "/start", first_name="Somchai", language_code="th")
    (update,) = await poll
    assert time.monotonic() - started < 1
    assert update.update_id == injected["update_id"]
    assert update.message.text == "/start" and update.message.from_user.first_name == "Somchai"
    assert update.message.entities[0].type == "bot_command"

    # Without confirmation the update comes again; with offset it is gone for good.
    assert [u.update_id for u in await bot.get_updates()] == [update.update_id]
    assert await bot.get_updates(offset=update.update_id + 1) == ()
    assert await bot.get_updates() == ()


async def test_update_helpers_parse_in_ptb(server: FakeTelegramServer, bot: Bot) -> None:
    text = server.user_sends_text(3, "hi")
    server.edited_message(3, text["message"]["message_id"], "hi, edited")
    server.user_blocks(3)
    server.group_message(-100, 3, "in a group")
    webhook_only = server.user_sends_text(3, "for the webhook", queue=False)

    updates = await bot.get_updates()
    ids = [u.update_id for u in updates]
    assert ids == sorted(ids) and len(set(ids)) == 4 and webhook_only["update_id"] > ids[-1]
    assert updates[1].edited_message.text == "hi, edited"
    assert updates[2].my_chat_member.new_chat_member.status == "kicked"
    assert updates[3].message.chat.type == "group" and updates[3].message.chat.id == -100
    with pytest.raises(Forbidden):
        await bot.send_message(3, "you blocked me")
    parsed = Update.de_json(webhook_only, bot)
    assert parsed.message.text == "for the webhook"


async def test_application_polling_end_to_end(server: FakeTelegramServer) -> None:
    """A real PTB Application polls the fake, answers a text and a button press."""
    handled: list[int] = []

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        handled.append(update.update_id)
        await update.message.reply_text(
            f"echo: {update.message.text}", reply_markup=keyboard(("Again", "again"))
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        handled.append(update.update_id)
        await update.callback_query.answer("noted")
        await update.callback_query.edit_message_text(f"pressed {update.callback_query.data}")

    app = Application.builder().token(TOKEN).base_url(server.base_url).build()
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(CallbackQueryHandler(pressed))
    await app.initialize()
    await app.start()
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        server.user_sends_text(77, "สวัสดี")
        reply = (await server.wait_for_calls("sendMessage"))[0]
        assert reply.params["text"] == "echo: สวัสดี" and reply.params["chat_id"] == 77

        server.user_presses_button(77, "Again")
        await server.wait_for_calls("editMessageText")
        assert server.answered_callbacks[0]["text"] == "noted"
        assert server.message(77, 2)["text"] == "pressed again"
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()

    delivered = [u["update_id"] for u in server.delivered]
    assert len(delivered) == 2 and len(set(delivered)) == 2 and sorted(handled) == delivered
    # The final getUpdates on stop confirmed everything: nothing is handed out again.
    async with Bot(TOKEN, base_url=server.base_url) as bot:
        assert await bot.get_updates(timeout=0) == ()


async def test_redeliver_hands_out_a_confirmed_update_again(
    server: FakeTelegramServer, bot: Bot
) -> None:
    update = server.user_sends_text(1, "once")
    (first,) = await bot.get_updates()
    assert await bot.get_updates(offset=first.update_id + 1) == ()
    server.redeliver(update)
    (again,) = await bot.get_updates(offset=first.update_id + 1)
    assert again.update_id == first.update_id and again.message.text == "once"
    assert await bot.get_updates(offset=first.update_id + 1) == ()
    assert [u["update_id"] for u in server.delivered] == [first.update_id] * 2


async def test_second_poller_is_a_conflict(server: FakeTelegramServer, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=3))
    await server.wait_for(lambda: server.polling)
    async with Bot(TOKEN, base_url=server.base_url) as other:
        assert await other.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates"):
        await first


def test_json_bodies_and_sync_use() -> None:
    """Clients other than PTB post JSON; a sync ``with`` runs the server for sync tests."""
    with FakeTelegramServer(token=TOKEN) as server:
        body = {
            "chat_id": 5,
            "text": "json",
            "reply_markup": {"inline_keyboard": [[{"text": "t", "callback_data": "d"}]]},
        }
        response = httpx.post(server.method_url("sendMessage"), json=body)
        assert response.json()["result"]["reply_markup"] == body["reply_markup"]
        assert httpx.get(server.method_url("getMe")).json()["result"]["is_bot"] is True
        assert server.texts(5) == ["json"]


@contextlib.contextmanager
def webhook_receiver(answer: bytes = b"") -> Iterator[tuple[str, list[tuple[str | None, dict]]]]:
    """A bot's webhook endpoint in a thread: its URL, and the (secret header, update)
    of each POST it got; it answers 200, with `answer` as a JSON body when given."""
    received: list[tuple[str | None, dict]] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers["X-Telegram-Bot-Api-Secret-Token"], json.loads(body)))
            self.send_response(200)
            if answer:
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    receiver = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{receiver.server_address[1]}/webhooks/telegram", received
    finally:
        receiver.shutdown()
        receiver.server_close()


async def test_post_to_webhook_sends_update_and_secret(
    server: FakeTelegramServer, bot: Bot
) -> None:
    with webhook_receiver() as (url, received):
        await bot.set_webhook(url, secret_token="abc_123")
        update = server.user_sends_text(8, "via webhook", queue=False)
        response = await server.post_to_webhook(update)
        assert response.status_code == 200
        assert received == [("abc_123", update)]
        await server.post_to_webhook(update, secret_token="")
        assert received[-1] == (None, update)  # no header: a forged request, for tests


async def test_a_method_named_in_the_answer_to_a_webhook_call_is_performed(
    server: FakeTelegramServer, bot: Bot
) -> None:
    """As Telegram does: a 200 whose JSON names `method` has that call made, after
    the answer; anything else in an answer is ignored."""
    update = server.user_presses(9, 1, "ok", queue=False)
    query_id = update["callback_query"]["id"]
    answer = {"method": "answerCallbackQuery", "callback_query_id": query_id, "text": "seen"}

    with webhook_receiver(json.dumps(answer).encode()) as (url, _):
        await server.post_to_webhook(update, url=url)
        await server.wait_for(lambda: server.answered_callbacks != [])
    assert server.answered_callbacks == [{"callback_query_id": query_id, "text": "seen"}]
    [call] = server.calls("answerCallbackQuery")
    assert call.via == "webhook answer"
    server.webhook_answered(500, json.dumps(answer).encode())  # not a 200: nothing is done
    server.webhook_answered(200, b"not json")
    server.webhook_answered(200, b'{"method": "noSuchMethod"}')
    await asyncio.sleep(0.1)
    assert len(server.calls("answerCallbackQuery")) == 1
