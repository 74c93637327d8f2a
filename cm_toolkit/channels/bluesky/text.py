"""How Bluesky counts and marks up text: graphemes, facets in UTF-8 bytes, threads, record keys.

- A post's ``text`` is at most 300 graphemes (``maxGraphemes`` in ``app.bsky.feed.post``) and
  3,000 UTF-8 bytes (its ``maxLength``); a grapheme is an extended grapheme cluster (``\\X``):
  an emoji with its skin tone or a flag is one.
- Links, mentions and hashtags are not found by the network: the client sends facets
  (``app.bsky.richtext.facet``) whose ``byteStart``/``byteEnd`` count bytes of the UTF-8 text.
- A thread's parts are cut by ``channels/thread_split.py`` with the grapheme count.
- A record key of a post must be a TID (the lexicon's ``"key": "tid"``): 13 characters of
  base32-sortable, the first one of ``234567abcdefghij``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import regex

from cm_toolkit.channels import thread_split

TEXT_MAX_GRAPHEMES = 300
TEXT_MAX_BYTES = 3000

_GRAPHEME = regex.compile(r"\X")
# A URL as people write it in a post; trailing punctuation is not part of it.
_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]»]")
# A handle mention (the spec's handle syntax: two labels or more, the last one a letter first).
_MENTION = re.compile(
    r"(?<![\w@])@((?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z][a-zA-Z0-9-]{0,61})"
)
# A hashtag: "#" then anything but spaces and "#", not only digits, trailing punctuation left out.
_TAG = re.compile(r"(?<![\w#&])#(?!\d+\b)([^\s#]*[^\s#.,;:!?)\]»])")
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"


def grapheme_length(text: str) -> int:
    return len(_GRAPHEME.findall(text))


@dataclass(frozen=True)
class Span:
    """A part of the text at UTF-8 byte offsets (start inclusive, end exclusive)."""

    byte_start: int
    byte_end: int
    value: str  # the URL, or the handle without "@"


def _byte_span(text: str, start: int, end: int, value: str) -> Span:
    before = len(text[:start].encode("utf-8"))
    return Span(before, before + len(text[start:end].encode("utf-8")), value)


def links(text: str) -> list[Span]:
    return [_byte_span(text, m.start(), m.end(), m.group(0)) for m in _URL.finditer(text)]


def mentions(text: str) -> list[Span]:
    return [
        _byte_span(text, m.start(), m.end(), m.group(1).lower()) for m in _MENTION.finditer(text)
    ]


def tags(text: str) -> list[Span]:
    """Hashtags (``value`` without "#"), up to the lexicon's 64 graphemes."""
    return [
        _byte_span(text, m.start(), m.end(), m.group(1))
        for m in _TAG.finditer(text)
        if grapheme_length(m.group(1)) <= 64
    ]


def record_key(*parts: str) -> str:
    """A TID-shaped record key derived from ``parts`` (the delivery's idempotency key...).

    The same parts give the same key, so a create sent again after a lost answer names the
    record already written instead of making a second post. The 63 bits come from a SHA-256 of
    the parts, with the 53 "timestamp" bits kept inside 2024-2027 (microseconds), so the key
    is a TID in shape and in range; nothing orders posts by their key (the AppView sorts by
    ``createdAt`` and indexing time).
    """
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    number = int.from_bytes(digest[:8], "big")
    start = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z in microseconds
    span = 3 * 365 * 24 * 3600 * 1_000_000
    micros = start + (number >> 10) % span
    value = (micros << 10) | (number & 0x3FF)
    chars = []
    for _ in range(13):
        chars.append(_TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def split_thread(text: str, limit: int = TEXT_MAX_GRAPHEMES) -> list[str]:
    """``text`` as thread parts of at most ``limit`` graphemes, numbered ``" 1/3"`` at the end
    (``channels/thread_split.py``, the splitter every network shares: between lines, then
    after sentences, then between words, a huge word between graphemes; a URL is one word)."""
    return thread_split.split_thread(text, limit, grapheme_length)
