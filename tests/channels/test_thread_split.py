"""The network-neutral thread splitter (``channels/thread_split.py``) with a network's own count:
Mastodon's (grapheme clusters, URLs 23), where X's thread tests (tests/templates/test_text_rules.py)
run it with X's weighted length."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cm_toolkit.channels.mastodon import MastodonChannel
from cm_toolkit.channels.mastodon.text import grapheme_length, mastodon_length
from cm_toolkit.channels.thread_split import cut_between_graphemes, split_thread
from cm_toolkit.channels.x.text import x_weighted_length


def _unnumbered(parts: list[str]) -> list[str]:
    return [p.rsplit(" ", 1)[0] for p in parts] if len(parts) > 1 else parts


def test_mastodon_cuts_by_its_own_count_not_x_weights() -> None:
    """CJK weighs 2 on X and 1 on Mastodon: a 1,200-character text is 3 parts of 500, not 5."""
    text = "。".join(["中文的句子"] * 200)
    parts = MastodonChannel.split_thread(text, 500)
    assert len(parts) == 3
    assert all(mastodon_length(p) <= 500 for p in parts)
    assert any(x_weighted_length(p) > 500 for p in parts)  # X's count would have cut it more
    assert "".join(_unnumbered(parts)) == text


def test_a_huge_word_is_cut_between_grapheme_clusters() -> None:
    word = "👍🏽" * 1200  # an emoji with its skin tone: one cluster of two code points
    parts = MastodonChannel.split_thread(word, 500)
    assert all(mastodon_length(p) <= 500 for p in parts)
    assert "".join(_unnumbered(parts)) == word
    assert all(len(part) % 2 == 0 for part in _unnumbered(parts))  # no cluster cut in two


def test_the_generic_word_cut_fills_each_part() -> None:
    parts = cut_between_graphemes("é" * 1000, 300, grapheme_length)
    assert [len(p) for p in parts] == [300, 300, 300, 100]
    assert cut_between_graphemes("abc", 300, grapheme_length) == ["abc"]


def test_a_text_that_fits_is_one_unnumbered_part_and_a_tiny_limit_is_refused() -> None:
    assert split_thread("  Un texte court.  ", 500, len) == ["Un texte court."]
    with pytest.raises(ValueError):
        split_thread("x" * 100, 5, len)


WORDS = st.sampled_from(["leader", "équipe", "🎉", "👍🏽", "中文", "https://mooc-leader20.fr/a",
                         "@anne@mastodon.social", "fin.", "vraiment ?", "\n", "x" * 70])


@settings(max_examples=40, deadline=None)
@given(st.lists(WORDS, min_size=1, max_size=150))
def test_property_mastodon_parts_fit_and_keep_every_word(words: list[str]) -> None:
    text = " ".join(words)
    parts = MastodonChannel.split_thread(text, 100)
    assert all(mastodon_length(p) <= 100 for p in parts)
    assert " ".join(_unnumbered(parts)).split() == text.split()


def test_bluesky_cuts_by_graphemes_with_the_same_splitter() -> None:
    """Bluesky's parts: 300 graphemes (a flag is one), a huge word cut between graphemes."""
    from cm_toolkit.channels.bluesky.text import grapheme_length as bluesky_graphemes
    from cm_toolkit.channels.bluesky.text import split_thread as bluesky_split

    text = "Première phrase du fil. " * 20 + "🇫🇷" * 700
    parts = bluesky_split(text, 300)
    assert all(bluesky_graphemes(p) <= 300 for p in parts)
    assert parts[0].rsplit(" ", 1)[0].endswith("du fil.")  # cut after a sentence
    assert "".join(_unnumbered(parts)).replace(" ", "") == text.replace(" ", "")
