"""How Mastodon counts a status's length (``StatusLengthValidator``), in plain Python.

Mastodon extracts URLs (with their scheme only) and mentions, counts each URL as 23 characters
and a remote mention ``@user@domain`` as ``@user``, then counts grapheme clusters. The grapheme
count here follows the cases a post meets (combining marks, variation selectors, emoji
modifiers, zero-width-joiner sequences, flags) without a Unicode segmentation library.
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

from twitter_text.extract_urls import extract_urls_with_indices

URL_LENGTH = 23
# Mastodon's Account::MENTION_RE (simplified to what a text holds): @user or @user@domain
_MENTION = re.compile(r"(?<![=/\w])@(?P<user>[a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_]+)?)"
                      r"(?:@[\w.-]+[\w]+)?", re.IGNORECASE)
_ZWJ = "\u200d"


def countable_text(text: str) -> str:
    """``text`` as Mastodon counts it: each URL 23 ``x``, each mention without its domain."""
    text = unicodedata.normalize("NFC", text)
    pieces: list[str] = []
    cursor = 0
    for url in extract_urls_with_indices(text, extract_urls_without_protocol=False):
        start, end = url["indices"]
        pieces.append(_MENTION.sub(r"@\g<user>", text[cursor:start]))
        pieces.append("x" * URL_LENGTH)
        cursor = end
    pieces.append(_MENTION.sub(r"@\g<user>", text[cursor:]))
    return "".join(pieces)


def grapheme_length(text: str) -> int:
    """Grapheme clusters of ``text`` (what Ruby's ``grapheme_length`` returns for posts)."""
    count, previous, regional = 0, "", 0
    for char in text:
        code = ord(char)
        joins = (
            unicodedata.combining(char)
            or 0xFE00 <= code <= 0xFE0F  # variation selectors
            or 0x1F3FB <= code <= 0x1F3FF  # skin-tone modifiers
            or 0xE0020 <= code <= 0xE007F  # tag sequences (subdivision flags)
            or char == _ZWJ
            or previous == _ZWJ
        )
        if 0x1F1E6 <= code <= 0x1F1FF:  # regional indicators pair into one flag
            regional += 1
            joins = joins or regional % 2 == 0
        else:
            regional = 0
        if not joins:
            count += 1
        previous = char
    return count


def mastodon_length(text: str) -> int:
    return grapheme_length(countable_text(text))


class _PlainText(HTMLParser):
    """A status's ``content`` (HTML) as the text people read: ``<br>`` a line, ``<p>`` a
    paragraph, entities decoded, every tag dropped (never rendered: no markup reaches the
    terminal or the dashboard), and what a ``<script>``/``<style>`` holds left out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "p" and self.parts:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def plain_text(content: str) -> str:
    """The plain text of a status's HTML ``content`` (see ``_PlainText``)."""
    parser = _PlainText()
    parser.feed(content or "")
    parser.close()
    text = "".join(parser.parts)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
