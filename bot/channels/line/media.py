"""Charts and documents for LINE, which takes them only by https URL.

A reply's picture or file is published (through the core's `MediaStore`) under
an id derived from the outbox row, so a retry reuses the same files and links,
and is served from `/media/{id}/{name}` under DLCOACH_PUBLIC_URL. Without a
public address the text goes alone.

Links are short-lived (see the store). A picture is served to every GET, as
LINE fetches it more than once. A document is handed out once: a GET shows a
small page with a download button, and only its POST hands the file out (and
uses it up), so a link preview or a crawler that opens the link leaves it for
the person it was sent to.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import io
import mimetypes
import re
from dataclasses import dataclass
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from bot.channels.base import MediaFile, MediaStore, OutboundMessage
from bot.channels.line.render import MediaLinks
from content.loader import Content
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
        published.append(
            MediaFile(
                file_id,
                file.content,
                file.content_type,
                file.filename[:200],
                outbox_id=message.outbox_id,
            )
        )
        url = f"{base}/media/{file_id}/{quote(file.filename, safe='')}"
        getattr(links, file.role)[file.index] = url
    await store.publish(published)
    return links


PRIVATE = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex",
    "Referrer-Policy": "no-referrer",
}


async def serve(store: MediaStore | None, request: Request, content: Content) -> Response:
    """A published chart (GET, HEAD), or a document: its download page (GET, HEAD)
    and, once, the file itself (POST from that page)."""
    file_id = request.path_params["media_id"]
    if store is None or not _MEDIA_ID.fullmatch(file_id):
        return Response(status_code=404)
    if request.method == "POST":
        item = await store.take(file_id)
        if item is None:
            return _page(content, "line.download_gone", None, status=404)
        return _file_response(item)
    item = await store.fetch(file_id)
    if item is None:
        return _page(content, "line.download_gone", None, status=404)
    if item.is_image:
        return _file_response(item)
    return _page(content, "line.download_page", item.filename)


def _file_response(item: MediaFile) -> Response:
    if item.is_image:
        headers = {"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"}
    else:
        headers = dict(PRIVATE)
        headers["Content-Disposition"] = (
            f"attachment; filename*=UTF-8''{quote(item.filename, safe='')}"
        )
    return Response(item.content, media_type=item.content_type, headers=headers)


def _page(content: Content, key: str, filename: str | None, status: int = 200) -> Response:
    """A small page in Thai and English: the download button, or why there is none."""
    lines = "".join(f"<p>{html.escape(content.t(key, lang))}</p>" for lang in ("th", "en"))
    body = lines
    if filename is not None:
        label = " / ".join(
            html.escape(content.t("line.download_button", lang)) for lang in ("th", "en")
        )
        body = (
            f"<h1>{html.escape(filename)}</h1>{lines}"
            f'<form method="post"><button type="submit">{label}</button></form>'
        )
    page = (
        '<!doctype html><html lang="th"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>dlcoach</title></head><body>{body}</body></html>'
    )
    return HTMLResponse(page, status_code=status, headers=PRIVATE)
