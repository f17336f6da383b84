"""Cutting text for chat platforms without breaking Thai or emoji.

LINE and Telegram both count characters in UTF-16 code units (an emoji
outside the BMP counts twice) and both limit a message's length. Thai has no
spaces between words, so a long line may have to be cut mid-phrase; it is
never cut inside a syllable's cluster (a consonant with its vowels and tone
marks), an emoji sequence or a flag. Both channels use these functions.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache

from handlers.messages import OPEN_PAGE, Reply

ELLIPSIS = "\u2026"

# Thai and Lao vowels written before the consonant they follow in speech: a
# cluster never ends on one of them.
_PREPOSED = frozenset("\u0e40\u0e41\u0e42\u0e43\u0e44\u0ec0\u0ec1\u0ec2\u0ec3\u0ec4")
# Spacing vowels that close the syllable before them (sara a, sara aa, sara am,
# lakkhangyao; Lao a, aa, am): a line never starts with one.
_CLOSING = frozenset("\u0e30\u0e32\u0e33\u0e45\u0eb0\u0eb2\u0eb3")
_ZWJ = "\u200d"


def utf16_len(text: str) -> int:
    """Length as LINE and Telegram count it: an emoji outside the BMP is two characters."""
    return len(text.encode("utf-16-le")) // 2


def _is_regional_indicator(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def _joins_previous(char: str, cluster: str) -> bool:
    """Whether `char` belongs to the cluster that `cluster` ends."""
    last = cluster[-1]
    if unicodedata.category(char) in ("Mn", "Mc", "Me") or char in _CLOSING:
        return True
    if char == _ZWJ or last == _ZWJ or last in _PREPOSED:
        return True
    if 0x1F3FB <= ord(char) <= 0x1F3FF:  # emoji skin tone
        return True
    if _is_regional_indicator(char) and len(cluster) == 1 and _is_regional_indicator(last):
        return True
    return last == "\r" and char == "\n"


def graphemes(text: str) -> list[str]:
    """What a reader sees as one character (or one Thai syllable cluster):
    enough of UAX #29 for Thai, emoji and flags."""
    clusters: list[str] = []
    for char in text:
        if clusters and _joins_previous(char, clusters[-1]):
            clusters[-1] += char
        else:
            clusters.append(char)
    return clusters


@lru_cache(maxsize=16)
def _boundaries(text: str) -> frozenset[int]:
    ends, position = {0}, 0
    for cluster in graphemes(text):
        position += len(cluster)
        ends.add(position)
    return frozenset(ends)


def can_break(text: str, index: int) -> bool:
    """True if `text` may be cut between `text[index - 1]` and `text[index]`."""
    if index <= 0 or index >= len(text):
        return True
    return index in _boundaries(text)


def truncate(text: str, limit: int) -> str:
    """`text` if it fits in `limit` UTF-16 units, else whole clusters and an ellipsis."""
    if utf16_len(text) <= limit:
        return text
    kept, used = [], utf16_len(ELLIPSIS)
    for cluster in graphemes(text):
        size = utf16_len(cluster)
        if used + size > limit:
            break
        kept.append(cluster)
        used += size
    return "".join(kept).rstrip() + ELLIPSIS


def _cut_point(line: str, limit: int) -> int:
    """Where to cut `line` (longer than `limit`) so the head fits: at the last space
    in range, else at the last cluster boundary; inside a cluster only when one
    cluster alone is longer than the limit."""
    end = used = last_space = 0
    for cluster in graphemes(line):
        size = utf16_len(cluster)
        if used + size > limit:
            break
        if cluster.isspace() and end:
            last_space = end
        used += size
        end += len(cluster)
    if last_space:
        return last_space
    if end:
        return end
    fitting, used = 0, 0  # one cluster longer than a whole message: cut it where it fits
    for char in line:
        used += utf16_len(char)
        if used > limit:
            break
        fitting += 1
    return max(fitting, 1)


def _split_line(line: str, limit: int) -> list[str]:
    chunks = []
    while utf16_len(line) > limit:
        cut = _cut_point(line, limit)
        head, line = line[:cut].rstrip(), line[cut:].lstrip()
        if head:
            chunks.append(head)
    if line:
        chunks.append(line)
    return chunks


def _pack(text: str, separators: Sequence[str], limit: int) -> list[str]:
    """Split at the coarsest separator first, then join pieces greedily back up to `limit`."""
    if utf16_len(text) <= limit:
        return [text]
    if not separators:
        return _split_line(text, limit)
    separator, finer = separators[0], separators[1:]
    pieces = [chunk for block in text.split(separator) for chunk in _pack(block, finer, limit)]
    chunks: list[str] = []
    for piece in pieces:
        joined = f"{chunks[-1]}{separator}{piece}" if chunks else piece
        if chunks and utf16_len(joined) <= limit:
            chunks[-1] = joined
        else:
            chunks.append(piece)
    return chunks


def split_text(text: str, limit: int) -> list[str]:
    """Cut `text` into messages of at most `limit` UTF-16 units: at paragraphs,
    then lines, then spaces, and only as a last resort between two clusters.
    Empty pieces are dropped; nothing else is lost but the whitespace at a cut."""
    if utf16_len(text) <= limit:
        return [text] if text.strip() else []
    chunks = _pack(text, ("\n\n", "\n"), limit)
    return [chunk.strip() for chunk in chunks if chunk.strip()]


def without_pages(reply: Reply) -> Reply:
    """The reply with its page-opening choices left out (a channel that opens no pages)."""
    if not any(c.id.startswith(OPEN_PAGE) for c in reply.choices):
        return reply
    return replace(reply, choices=tuple(c for c in reply.choices if not c.id.startswith(OPEN_PAGE)))
