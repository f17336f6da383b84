"""The Telegram channel: the same coach over the Bot API, by long polling or webhook.

python-telegram-bot is the transport only. Each update becomes an `Incoming`
for the core (which dedupes by update_id and keeps every bit of conversation
state in the database); every reply leaves through the outbox, whose delivery
calls `send`. What Telegram alone needs happens here: answering button
presses, taking the keyboard off a message once it was pressed, the command
menu, the webhook's secret, and mapping Bot API failures onto the outbox's
retry / blocked / permanent outcomes.

Polling when TELEGRAM_WEBHOOK_URL is unset; otherwise Telegram posts updates to
POST /webhooks/telegram and `start` registers that URL with the secret.
TELEGRAM_API_BASE_URL points the bot at any Bot API compatible server.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import warnings
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    CallbackQuery,
    MenuButtonCommands,
    MenuButtonDefault,
    MenuButtonWebApp,
    Update,
    WebAppInfo,
)
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ContextTypes,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning

from bot.channels.base import (
    Channel,
    CoreUnavailable,
    Hub,
    OutboundMessage,
    PermanentFailure,
    Progress,
    RecipientBlocked,
    RetryLater,
    no_progress,
)
from bot.channels.http import (
    Malformed,
    Rejections,
    parse_json,
    read_body,
    too_large,
    unavailable,
)
from bot.channels.telegram.render import Part, button_label, parse_callback_data, render
from bot.channels.telegram.request import AiohttpRequest
from bot.channels.telegram.webapp import verified_user
from bot.channels.telegram.webhook import ALLOWED_UPDATES, register_webhook
from bot.channels.web.assess import assessment_page, hand_over, posted_levels
from bot.config import Settings
from handlers.messages import ASSESS_PAGE as ASSESS_PAGE_CHOICE
from handlers.messages import Incoming, Menu

if TYPE_CHECKING:
    from telegram import Bot, Message, User

    from content.loader import Content

log = logging.getLogger(__name__)

CHANNEL = "telegram"
WEBHOOK_PATH = "/webhooks/telegram"
ASSESS_PAGE = "/assess/telegram"  # the one-screen assessment, opened as a Mini App
ASSESS_API = "/assess/api/telegram"
TELEGRAM_WEB_APP_JS = "https://telegram.org/js/telegram-web-app.js"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Only what the bot acts on: edited messages and channel posts are not even fetched.
MENU_LANGUAGES = ("th", "en")
COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
MENU_PREFIX = "telegram.command."
# The working group's commands, listed in its members' own chats only (and the
# head's commands to heads only): `telegram.admin_command.<name>`, `telegram.head_command.<name>`.
ADMIN_MENU_PREFIX = "telegram.admin_command."
HEAD_MENU_PREFIX = "telegram.head_command."
# The messages the core hears: anything in a private chat (text, or an
# attachment with its caption) and commands in groups; other group talk is not ours.
WANTED_MESSAGES = filters.UpdateType.MESSAGE & (
    (filters.ChatType.PRIVATE & (filters.TEXT | filters.ATTACHMENT))
    | (filters.ChatType.GROUPS & filters.COMMAND)
)
POLLING_PATIENCE_CAP = 30.0  # seconds between tries while the database is down

ErrorHook = Callable[[BaseException], None]


# ---- updates -> Incoming ------------------------------------------------------------


def _person(user: User) -> dict[str, Any]:
    return {
        "user_id": str(user.id),
        "display_name": user.first_name or None,
        "lang_hint": user.language_code,
    }


def _chat_type(chat_type: str) -> str:
    return "private" if chat_type == ChatType.PRIVATE else "group"


def message_incoming(update: Update) -> Incoming | None:
    """A message from a person (text, a command, or an attachment with its caption)."""
    message = update.message
    if message is None or message.from_user is None:
        return None
    return Incoming(
        channel=CHANNEL,
        chat_id=str(message.chat.id),
        kind="text",
        text=message.text or message.caption or "",
        event_id=str(update.update_id),
        chat_type=_chat_type(message.chat.type),
        **_person(message.from_user),
    )


def callback_incoming(update: Update) -> Incoming | None:
    """A button press: the choice id and its question's number from the callback data."""
    query = update.callback_query
    if query is None or not query.data or not isinstance(query.data, str):
        return None
    choice, question_seq = parse_callback_data(query.data)
    message = _accessible(query)
    chat = message.chat if message is not None else None
    return Incoming(
        channel=CHANNEL,
        chat_id=str(chat.id if chat is not None else query.from_user.id),
        kind="choice",
        choice=choice,
        question_seq=question_seq,
        text=(button_label(message.reply_markup, query.data) if message else None) or "",
        event_id=str(update.update_id),
        chat_type=_chat_type(chat.type) if chat is not None else "private",
        **_person(query.from_user),
    )


def membership_incoming(update: Update) -> Incoming | None:
    """The person blocked the bot in their private chat: an unfollow. Other changes: None."""
    change = update.my_chat_member
    if change is None or change.chat.type != ChatType.PRIVATE:
        return None
    if change.new_chat_member.status != ChatMemberStatus.BANNED:  # "kicked"
        return None
    return Incoming(
        channel=CHANNEL,
        chat_id=str(change.chat.id),
        kind="unfollow",
        event_id=str(update.update_id),
        **_person(change.from_user),
    )


def _accessible(query: CallbackQuery) -> Message | None:
    """The message the button was on, unless Telegram no longer shows it to bots."""
    message = query.message
    if message is None or not message.is_accessible or message.chat is None:
        return None
    return message  # type: ignore[return-value]


def complete(update: Update) -> bool:
    """Whether an update has the chat and the sender the bot reads. Telegram's own
    always do; a forged or truncated one (posted to the webhook) may not, and is ignored."""
    if update.callback_query is not None:
        return update.callback_query.from_user is not None
    if update.my_chat_member is not None:
        change = update.my_chat_member
        return None not in (change.chat, change.from_user, change.new_chat_member)
    if update.message is not None:
        return update.message.chat is not None
    return True


# ---- small helpers ------------------------------------------------------------------------


def file_base_url(base_url: str) -> str:
    """Where files are downloaded: .../bot -> .../file/bot, as on the public Bot API."""
    if base_url.endswith("/bot"):
        return base_url.removesuffix("bot") + "file/bot"
    return base_url


def hide_token_in_logs() -> None:
    """httpx logs every request URL at INFO, and Bot API URLs contain the bot token:
    keep those lines out of the logs unless someone asked for debugging."""
    httpx_log = logging.getLogger("httpx")
    if httpx_log.getEffectiveLevel() > logging.DEBUG:
        httpx_log.setLevel(logging.WARNING)


def retry_after_seconds(error: RetryAfter) -> float:
    """Telegram's wait in seconds (PTB returns an int or a timedelta depending on its settings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def menu_commands(content: Content, lang: str, prefix: str = MENU_PREFIX) -> list[BotCommand]:
    """The command menu in `lang`: every command described in content/ under
    `prefix` (`telegram.command.<name>`), in the file's order (with a name Telegram
    accepts: 1-32 of a-z, 0-9 and _)."""
    names = [key.removeprefix(prefix) for key in content.messages if key.startswith(prefix)]
    return [
        BotCommand(name, content.t(prefix + name, lang))
        for name in names
        if COMMAND_NAME.fullmatch(name)
    ]


def chat_commands(content: Content, menu: Menu) -> list[BotCommand]:
    """The commands one person's chat lists: everyone's, then the working group's for
    its members and the head's for heads, in the person's language."""
    commands = menu_commands(content, menu.lang)
    if menu.admin:
        commands += menu_commands(content, menu.lang, ADMIN_MENU_PREFIX)
    if menu.admin == "head":
        commands += menu_commands(content, menu.lang, HEAD_MENU_PREFIX)
    return commands


def delivery_error(error: TelegramError, chat_id: int) -> Exception:
    """What a failed Bot API call means for the outbox."""
    if isinstance(error, RetryAfter):
        return RetryLater(str(error), retry_after=retry_after_seconds(error))
    if isinstance(error, Forbidden):
        if chat_id > 0:  # a person: they blocked the bot
            return RecipientBlocked(str(error))
        return PermanentFailure(f"removed from group {chat_id}: {error}")  # not the person's doing
    if isinstance(error, ChatMigrated | BadRequest):  # BadRequest is a NetworkError: test it first
        return PermanentFailure(str(error))
    if isinstance(error, NetworkError):  # 5xx, time-outs, connection trouble
        return RetryLater(str(error))
    return RetryLater(f"{type(error).__name__}: {error}")


# ---- the channel ----------------------------------------------------------------------------


class TelegramChannel(Channel):
    """Telegram through python-telegram-bot's `Application`, with our database as the memory.

    `on_error` is called with every error that reaches PTB's error handler
    (after it is logged), e.g. so that a test can fail on it.
    """

    name = CHANNEL

    def __init__(self, settings: Settings, *, on_error: ErrorHook | None = None) -> None:
        if not settings.telegram_bot_token:
            raise ValueError("TELEGRAM_BOT_TOKEN is not set")
        self.settings = settings
        self.on_error = on_error
        self.application: Application | None = None
        self._hub: Hub | None = None
        self._chores: set[asyncio.Task[None]] = set()
        self.rejections = Rejections("Telegram")

    @property
    def webhook_mode(self) -> bool:
        return bool(self.settings.telegram_webhook_url)

    # ---- lifecycle ---------------------------------------------------------------------

    def build_application(self) -> Application:
        """A PTB Application wired to our handlers (no job queue: scheduling is ours)."""
        base_url = self.settings.telegram_api_base_url
        builder = (
            ApplicationBuilder()
            .token(self.settings.telegram_bot_token or "")
            .base_url(base_url)
            .base_file_url(file_base_url(base_url))
            .job_queue(None)
            .request(AiohttpRequest())
            .get_updates_request(AiohttpRequest(connection_pool_size=1))
        )
        if self.webhook_mode:
            builder = builder.updater(None)
        application = builder.build()
        application.add_handler(TypeHandler(Update, self._on_polled))
        application.add_error_handler(self._on_error)
        return application

    async def start(self, hub: Hub) -> None:
        """Connect (getMe), publish the command menu, then poll or register the webhook."""
        hide_token_in_logs()
        self._hub = hub
        application = self.build_application()
        await application.initialize()
        self.application = application  # before listening: the first replies need the bot
        try:
            await self._publish_commands(application.bot, hub.content)
            await application.start()
            await self._listen(application)
        except BaseException:
            await self.stop()
            raise

    async def _listen(self, application: Application) -> None:
        """Webhook mode: tell Telegram where to post (and the secret). Else: long polling."""
        if self.webhook_mode:
            await register_webhook(application.bot, self.settings)
            log.info("telegram: webhook set to %s", self.settings.telegram_webhook_url)
            return
        assert application.updater is not None
        await application.updater.start_polling(
            allowed_updates=ALLOWED_UPDATES, error_callback=self._on_polling_error
        )
        log.info("telegram: long polling %s", self.settings.telegram_api_base_url)

    async def stop(self) -> None:
        """Stop polling and close PTB's HTTP clients (the webhook stays set for other instances)."""
        application, self.application = self.application, None
        if application is None:
            return
        if self._chores:
            await asyncio.gather(*self._chores, return_exceptions=True)
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()

    async def _publish_commands(self, bot: Bot, content: Content) -> None:
        """setMyCommands in Thai and English, plus a default for other languages.

        A failure here is logged, not fatal: the commands work without the menu.
        """
        try:
            for lang in MENU_LANGUAGES:
                await bot.set_my_commands(menu_commands(content, lang), language_code=lang)
            await bot.set_my_commands(menu_commands(content, self.settings.default_lang))
        except TelegramError as exc:
            log.warning("telegram: could not set the command menu: %s", exc)

    # ---- incoming ------------------------------------------------------------------------

    async def _handle(self, incoming: Incoming | None) -> None:
        if incoming is not None and self._hub is not None:
            await self._hub.handle(incoming)

    async def _dispatch(self, update: Update, bot: Bot, *, answer: bool = True) -> bool:
        """One update in either mode: into the core, then Telegram's own chores.

        Private messages (text, or an attachment with its caption), commands in
        groups, button presses and blocks reach the core; group talk does not.
        A button's spinner is stopped (answerCallbackQuery) while the core works
        and its keyboard is taken off afterwards, both in the background: the
        answer to Telegram waits only for the core to store the update. With
        `answer` False the spinner is left to the caller (the webhook names that
        call in its answer to Telegram). True when the update was a button press.
        Raises `CoreUnavailable` when the core could not store the update.
        """
        if not complete(update):
            log.info("telegram: update %s has no chat or sender; ignored", update.update_id)
            return False
        query = update.callback_query
        if query is not None:
            if answer:
                self._in_background(self._answer(query))
            await self._handle(callback_incoming(update))
            self._in_background(self._close_keyboard(bot, query))
            return True
        if update.my_chat_member is not None:
            await self._handle(membership_incoming(update))
        elif update.message is not None and WANTED_MESSAGES.check_update(update):
            await self._handle(message_incoming(update))
        return False

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)

    async def _on_polled(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Polling: PTB has already confirmed the update to Telegram, so an update
        the core cannot store yet is retried here (with growing pauses) until the
        database is back, in order, instead of being lost."""
        if not isinstance(update, Update):
            return
        pause = 1.0
        while True:
            try:
                await self._dispatch(update, context.bot)
                return
            except CoreUnavailable:
                log.error("telegram: database unavailable; update %s waits", update.update_id)
                await asyncio.sleep(pause)
                pause = min(pause * 2, POLLING_PATIENCE_CAP)

    async def _answer(self, query: CallbackQuery) -> None:
        """answerCallbackQuery; a query that is too old (a redelivery, a restart) is no error."""
        try:
            await query.answer()
        except TelegramError as exc:
            log.warning("telegram: could not answer button press %s: %s", query.id, exc)

    async def _close_keyboard(self, bot: Bot, query: CallbackQuery) -> None:
        """Remove the inline keyboard of the message whose button was pressed."""
        message = _accessible(query)
        if message is None or message.reply_markup is None:
            return
        try:
            await bot.edit_message_reply_markup(
                chat_id=message.chat.id, message_id=message.message_id, reply_markup=None
            )
        except BadRequest as exc:  # already removed, or the message is gone
            log.info("telegram: keyboard of %s not removed: %s", message.message_id, exc)
        except TelegramError as exc:
            log.warning("telegram: keyboard of %s not removed: %s", message.message_id, exc)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Anything that escaped a handler: log it loudly (and tell `on_error`)."""
        update_id = update.update_id if isinstance(update, Update) else None
        error = context.error
        log.error("telegram: update %s failed", update_id, exc_info=error)
        if self.on_error is not None and error is not None:
            self.on_error(error)

    def _on_polling_error(self, error: TelegramError) -> None:
        """getUpdates failed; PTB retries by itself, so this is a warning."""
        log.warning("telegram: polling error (PTB retries): %s", error)

    # ---- webhook -----------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        return [
            Route(WEBHOOK_PATH, self._webhook, methods=["POST"]),
            Route(ASSESS_PAGE, self._assess_page, methods=["GET"]),
            Route(ASSESS_API, self._assess_post, methods=["POST"]),
        ]

    def pages(self) -> dict[str, str]:
        """Page-opening choices this channel can open (Mini Apps need the bot's public
        https address): the one-screen assessment."""
        base = self.settings.dlcoach_public_url
        if not base or not base.startswith("https://"):
            return {}
        return {ASSESS_PAGE_CHOICE: base.rstrip("/") + ASSESS_PAGE}

    async def _assess_page(self, request: Request) -> Response:
        """GET /assess/telegram: the one-screen assessment, as a Mini App."""
        if self._hub is None:
            return Response(status_code=503)
        lang = request.query_params.get("lang", self.settings.policy().lang)
        return assessment_page(
            self._hub.content,
            lang if lang in ("th", "en") else "th",
            endpoint=ASSESS_API,
            platform_script=TELEGRAM_WEB_APP_JS,
            script_host="https://telegram.org",
            frames="https://web.telegram.org https://*.telegram.org",
        )

    async def _assess_post(self, request: Request) -> Response:
        """POST /assess/api/telegram {"proof": initData, "levels": "232143221"}: the
        levels, from the person Telegram signed the initData for, handed to the core
        as one answer; 403 (nothing stored) when the signature does not hold."""
        hub = self._hub
        if hub is None:
            return unavailable()
        posted = await posted_levels(request)
        if isinstance(posted, Response):
            return posted
        token = self.settings.telegram_bot_token or ""
        user = verified_user(posted.proof, token, hub.clock.now())
        if user is None:
            self.rejections.count("bad web app signature")
            return JSONResponse({"error": "not signed by Telegram"}, status_code=403)
        language = user.get("language_code")
        lang_hint = language if isinstance(language, str) else None
        return await hand_over(hub, posted, CHANNEL, str(user["id"]), lang_hint)

    def _secret_ok(self, given: str | None) -> bool:
        expected = self.settings.telegram_webhook_secret
        if not expected or given is None:
            return False
        return hmac.compare_digest(given.encode(), expected.encode())

    async def _webhook(self, request: Request) -> Response:
        """POST /webhooks/telegram: 403 without the right secret, 400 for junk, else
        process the update (the core only writes to the database) and answer 200,
        with answerCallbackQuery in the body for a button press."""
        if not self._secret_ok(request.headers.get(SECRET_HEADER)):
            self.rejections.count("bad secret")
            return Response(status_code=403)
        application = self.application
        if application is None:
            return Response(status_code=503)
        body = await read_body(request)
        if body is None:
            self.rejections.count("too large")
            return too_large()
        try:
            data = parse_json(body)
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise Malformed("not an update")
            update = Update.de_json(data, application.bot)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            self.rejections.count("malformed")
            return Response(status_code=400)
        try:
            pressed = await self._dispatch(update, application.bot, answer=False)
        except CoreUnavailable:
            log.error("telegram: database unavailable; asking Telegram to redeliver")
            return unavailable()
        if pressed and update.callback_query is not None:
            # Telegram performs a Bot API method named in the answer to its webhook
            # call: the button's spinner stops without a call of our own.
            return JSONResponse(
                {"method": "answerCallbackQuery", "callback_query_id": update.callback_query.id}
            )
        return Response(status_code=200)

    # ---- outgoing ----------------------------------------------------------------------

    async def send(self, message: OutboundMessage, progress: Progress = no_progress) -> None:
        """Send one outbox row, resuming after the parts an earlier attempt delivered."""
        application = self.application
        if application is None:
            raise RetryLater("the Telegram channel is not running")
        try:
            chat_id = int(message.chat_id)
            parts = render(message.replies, self.pages())
        except ValueError as exc:
            raise PermanentFailure(f"cannot render outbox {message.outbox_id}: {exc}") from exc
        if message.sent_parts == 0:
            await self._follow_menu(application.bot, chat_id, message)
        for index in range(message.sent_parts, len(parts)):
            await self._send_part(application.bot, chat_id, parts[index])
            if index + 1 < len(parts):
                await progress(index + 1)

    async def _follow_menu(self, bot: Bot, chat_id: int, message: OutboundMessage) -> None:
        """The person's own command list (with the working group's commands for its
        members) and menu button (the one-screen assessment while one is the question
        at hand, when it can be opened), before the row's messages; after an erasure,
        both go. Telegram busy or unreachable: the row waits (nothing of it went yet);
        a refusal is logged and the messages go all the same."""
        menu, hub, scope = message.menu, self._hub, BotCommandScopeChat(chat_id)
        if hub is None or (menu is None and not message.clears_menu):
            return
        button: MenuButtonWebApp | MenuButtonCommands | MenuButtonDefault
        page = self.pages().get(ASSESS_PAGE_CHOICE)
        try:
            if message.clears_menu or menu is None:
                await bot.delete_my_commands(scope=scope)
                button = MenuButtonDefault()
            else:
                await bot.set_my_commands(chat_commands(hub.content, menu), scope=scope)
                button = MenuButtonCommands()
                if menu.assessing and page:
                    label = hub.content.t("telegram.menu_button.assess", menu.lang)
                    button = MenuButtonWebApp(label, WebAppInfo(page))
            await bot.set_chat_menu_button(chat_id=chat_id, menu_button=button)
        except TelegramError as exc:
            error = delivery_error(exc, chat_id)
            if isinstance(error, RetryLater):
                raise error from exc
            log.warning("telegram: the menu of a chat was refused: %s", exc)

    async def _send_part(self, bot: Bot, chat_id: int, part: Part) -> None:
        """One Bot API call; failures become RetryLater / RecipientBlocked / PermanentFailure."""
        try:
            if part.kind == "photo":
                await bot.send_photo(
                    chat_id, photo=part.data, caption=part.text or None, reply_markup=part.keyboard
                )
            elif part.kind == "document":
                await bot.send_document(
                    chat_id,
                    document=part.data,
                    filename=part.filename,
                    caption=part.text or None,
                    reply_markup=part.keyboard,
                )
            else:
                await bot.send_message(chat_id, part.text, reply_markup=part.keyboard)
        except TelegramError as exc:
            raise delivery_error(exc, chat_id) from exc
