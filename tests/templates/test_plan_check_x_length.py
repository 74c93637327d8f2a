"""X's weighted length, measured word by word for speed, equals twitter-text's on the whole text."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st
from twitter_text import parse_tweet

from cm_toolkit.channels.x.text import x_weighted_length

# Pieces where twitter-text's rules meet: URLs with and without a scheme, emoji sequences,
# CJK, combining accents, every kind of whitespace (\r\n counts 1), punctuation around links.
PIECES = [
    "Bonjour", "🎉", "https://example.org/a?x=1", "example.com", "t.co", "日本語", "\r\n", "\n",
    " ", "  ", "\u3000", "\u00a0", "\t", "(https://x.com)", "👨‍👩‍👧", "🙋🏽", "é", "e\u0301",
    "\u0301", "#tag", "@user", "$CASH", "a.b", "…", "—", "«", "»", "x.com/path.", "http://", ".",
    "!", "www.mooc.fr", "👉https://a.fr", "©", "®️", "\r", "a", "-", "/", ":", "\u200d", "\ufe0f",
    "?utm_source=x&b=2",
    # whitespace that x_weighted_length must still look at (CR, above U+1100), a word after it
    "\u2028", "\u205f", "\u2003", "\x85", "\u1100", "\u10ff", "éx.com",
]


def reference(text: str) -> int:
    return int(parse_tweet(unicodedata.normalize("NFC", text)).weightedLength)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=14))
def test_word_by_word_equals_the_whole_text(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert x_weighted_length(text) == reference(text)


def test_a_url_at_the_very_start_is_read_as_twitter_text_reads_it() -> None:
    # At the start of a text "éx.com" is "é" + the URL "x.com"; after a space, "éx.com" is one
    # (internationalised) URL: the weights differ by one.
    assert x_weighted_length("éx.com/path.") == reference("éx.com/path.") == 25
    assert x_weighted_length("» éx.com/path.") == reference("» éx.com/path.") == 26
