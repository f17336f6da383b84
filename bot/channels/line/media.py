"""Charts and documents for LINE, which takes them only by https URL.

A reply's picture or file is published (through the core's `MediaStore`) under
an id derived from the outbox row, so a retry reuses the same files and links,
and is served from `GET /media/{id}/{name}` under DLCOACH_PUBLIC_URL. Without
a public address the text goes alone.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import mimetypes
import re
from dataclasses import dataclass
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from bot.channels.base import MediaFile, MediaStore, OutboundMessage
from bot.channels.line.render import MediaLinks
from handlers.messages import Reply

MAX_PREVIEW_BYTES = 1_000_000  # LINE's limit for previewImageUrl
_MEDIA_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class _File:
    """One file a reply carries, and which `MediaLinks` map its URL goes into."""

    index: int
    role: str  # "images", "previews" or "documents"
    part: str
    content: bytes
    content_type: str
    filename: str


def _files_of(index: int, reply: Reply) -> list[_File]:
    """The files to publish for one reply (a large image also gets a small preview)."""
    if reply.image_png is not None:
        files = [
            _File(index, "images", f"{index}:image", reply.image_png, "image/png", "image.png")
        ]
        if len(reply.image_png) > MAX_PREVIEW_BYTES:
            preview = _preview_png(reply.image_png)
            files.append(
                _File(index, "previews", f"{index}:preview", preview, "image/png", "preview.png")
            )
        return files
    if reply.document is not None:
        name = reply.document_name or "document"
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return [_File(index, "documents", f"{index}:doc", reply.document, kind, name)]
    return []


def _preview_png(data: bytes) -> bytes:
    """A smaller copy for LINE's preview (at most 1 MB), keeping the aspect ratio."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.thumbnail((1024, 1024))
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def media_id(secret: str, message: OutboundMessage, part: str) -> str:
    """Unguessable without the channel secret, stable across retries of the row."""
    name = f"{message.retry_key}|{message.chat_id}|{part}".encode()
    return hmac.new(secret.encode(), name, hashlib.sha256).hexdigest()[:32]


async def publish(
    store: MediaStore | None, public_url: str | None, secret: str, message: OutboundMessage
) -> MediaLinks:
    """Publish the row's images and documents; their public URLs by reply index."""
    base = (public_url or "").rstrip("/")
    links = MediaLinks.none()
    files = [f for i, r in enumerate(message.replies) for f in _files_of(i, r)]
    if not base or not files or store is None:
        return links
    published = []
    for file in files:
        file_id = media_id(secret, message, file.part)
        published.append(MediaFile(file_id, file.content, file.content_type, file.filename[:200]))
        url = f"{base}/media/{file_id}/{quote(file.filename, safe='')}"
        getattr(links, file.role)[file.index] = url
    await store.publish(published)
    return links


async def serve(store: MediaStore | None, request: Request) -> Response:
    """A published chart or document, for LINE's servers and the person's phone."""
    file_id = request.path_params["media_id"]
    if store is None or not _MEDIA_ID.fullmatch(file_id):
        return Response(status_code=404)
    item = await store.fetch(file_id)
    if item is None:
        return Response(status_code=404)
    headers = {"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"}
    if not item.content_type.startswith("image/"):
        headers["Content-Disposition"] = (
            f"attachment; filename*=UTF-8''{quote(item.filename, safe='')}"
        )
    return Response(item.content, media_type=item.content_type, headers=headers)
