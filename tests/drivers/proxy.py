"""A forward HTTP proxy that records the request line of each request it gets and
answers every one itself with a fixed JSON body (it forwards nothing)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass
class RecordingProxy:
    url: str = ""
    request_lines: list[bytes] = field(default_factory=list)


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 0


@asynccontextmanager
async def recording_proxy(answer: bytes) -> AsyncIterator[RecordingProxy]:
    """A proxy on a free port answering `answer` (JSON) to everything."""
    seen = RecordingProxy()

    async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        seen.request_lines.append(head.split(b"\r\n", 1)[0])
        await reader.readexactly(_content_length(head))
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(answer), answer)
        )
        await writer.drain()
        writer.close()

    listener = await asyncio.start_server(one, "127.0.0.1", 0)
    seen.url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
    try:
        yield seen
    finally:
        listener.close()
        await listener.wait_closed()
