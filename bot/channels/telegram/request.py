"""python-telegram-bot's networking on aiohttp instead of httpx.

PTB lets any HTTP library carry its Bot API calls through `BaseRequest`; its
own `HTTPXRequest` costs a lot of CPU per call once many calls are in flight
(httpcore walks every pooled connection on each request and on each close):
at 50 calls in flight, about 2.4 ms of CPU per call against 0.2 ms for aiohttp,
which the LINE SDK already brings. A tapped button makes three calls
(answerCallbackQuery, sendMessage, editMessageReplyMarkup), so that was most
of a turn's CPU. Status codes, JSON and Telegram's errors stay PTB's own
(`BaseRequest` reads them); this module only moves bytes and turns aiohttp's
failures into PTB's `TimedOut` and `NetworkError`.
"""

from __future__ import annotations

import urllib.parse

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.channels.proxies import environment_proxy

DEFAULT_POOL = 256  # connections, as PTB's own default
_DEFAULT = type(BaseRequest.DEFAULT_NONE)  # what PTB passes for "the request's default"


class AiohttpRequest(BaseRequest):
    """One aiohttp session, opened by `initialize` inside the running loop."""

    def __init__(
        self,
        connection_pool_size: int = DEFAULT_POOL,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read, self._write = read_timeout, write_timeout
        self._connect, self._pool = connect_timeout, pool_timeout
        self._media_write = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[str, str | None] = {}  # by origin

    @property
    def read_timeout(self) -> float | None:
        """PTB adds a long poll's own timeout to this one."""
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            # The environment's proxy is looked up once per origin (`_proxy`), not
            # on every call as aiohttp's trust_env does (with a .netrc read each time).
            connector = aiohttp.TCPConnector(limit=self._pool_size)
            self._session = aiohttp.ClientSession(connector=connector, trust_env=False)

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: float | None | _DEFAULT = BaseRequest.DEFAULT_NONE,
        write_timeout: float | None | _DEFAULT = BaseRequest.DEFAULT_NONE,
        connect_timeout: float | None | _DEFAULT = BaseRequest.DEFAULT_NONE,
        pool_timeout: float | None | _DEFAULT = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """The status and body of one call; what they mean is for `BaseRequest` to read."""
        if self._session is None:
            raise RuntimeError("AiohttpRequest is not initialized")
        has_files = request_data is not None and request_data.contains_files
        timeout = self._timeout(
            _given(read_timeout, self._read),
            _given(write_timeout, self._media_write if has_files else self._write),
            _given(connect_timeout, self._connect),
            _given(pool_timeout, self._pool),
        )
        body = _body(request_data)
        try:
            async with self._session.request(
                method,
                url,
                data=body,
                headers={"User-Agent": self.USER_AGENT},
                timeout=timeout,
                proxy=self._proxy(url),
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc

    def _proxy(self, url: str) -> str | None:
        """The environment's proxy for `url` (PTB's httpx transport honours it
        too), looked up once per origin."""
        parts = urllib.parse.urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._proxies:
            self._proxies[origin] = environment_proxy(url)
        return self._proxies[origin]

    @staticmethod
    def _timeout(
        read: float | None, write: float | None, connect: float | None, pool: float | None
    ) -> aiohttp.ClientTimeout:
        """PTB's four limits in aiohttp's terms. aiohttp has no write limit of its
        own, so the whole call is bounded by the sum of the four (a long poll's
        read limit included); waiting for a free pooled connection counts towards
        `connect`, as it does in aiohttp."""
        parts = [read, write, connect, pool]
        total = None if None in parts else sum(parts)
        waiting = None if connect is None or pool is None else connect + pool
        return aiohttp.ClientTimeout(
            total=total, connect=waiting, sock_connect=connect, sock_read=read
        )


def _given(value: float | None | _DEFAULT, default: float | None) -> float | None:
    """A limit PTB passed for this call, or this request's own when it passed none."""
    return default if isinstance(value, _DEFAULT) else value


def _body(request_data: RequestData | None) -> aiohttp.FormData | dict[str, str] | None:
    """The parameters form-encoded, as PTB's own request sends them; multipart
    when a file goes with them."""
    if request_data is None:
        return None
    fields = request_data.json_parameters
    if not request_data.contains_files:
        return fields
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form
