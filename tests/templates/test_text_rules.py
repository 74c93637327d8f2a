"""Network text measures, each on its adapter: X weighting and threads (``channels/x/text.py``),
LinkedIn escaping (``channels/linkedin/text.py``), YouTube titles and descriptions
(``channels/youtube_text.py``), and the facts the registry's classes give the plan check."""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from collections.abc import Callable
from types import FrameType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twitter_text import extract_urls, parse_tweet
from twitter_text.extract_emojis import extract_emojis_with_indices

from cm_toolkit.channels.linkedin.text import linkedin_escape
from cm_toolkit.channels.registry import channel_class
from cm_toolkit.channels.x.text import (
    _atoms,
    _cut_characters,
    _longest_fitting_prefix,
    contains_url,
    split_thread,
    x_weighted_length,
)
from cm_toolkit.channels.youtube_text import description_problems as youtube_description_problems
from cm_toolkit.channels.youtube_text import title_problems as youtube_title_problems


def youtube_title_ok(title: str) -> bool:
    return not youtube_title_problems(title)


def youtube_description_ok(description: str) -> bool:
    return not youtube_description_problems(description)


def wire_text(network: str, text: str) -> str:
    return channel_class(network).wire_text(text)


def text_length(network: str, text: str) -> int:
    return channel_class(network).text_length(text)


def test_x_latin_and_accents_weigh_one() -> None:
    assert x_weighted_length("Déjà vu, ça été") == len("Déjà vu, ça été")


def test_x_decomposed_accents_are_normalised_first() -> None:
    decomposed = unicodedata.normalize("NFD", "été")
    assert len(decomposed) == 5
    assert x_weighted_length(decomposed) == 3


def test_x_emoji_and_cjk_weigh_two() -> None:
    assert x_weighted_length("🎉") == 2
    assert x_weighted_length("中文") == 4
    assert x_weighted_length("a🚀b") == 4


def test_x_every_url_weighs_23() -> None:
    short = "https://a.fr"
    long = "https://mooc-leader20.fr/inscription?utm_source=x&utm_medium=social&utm_content=t"
    assert x_weighted_length(short) == 23
    assert x_weighted_length(long) == 23
    assert x_weighted_length(f"Voir {long} 🎉") == 5 + 23 + 1 + 2


def test_contains_url() -> None:
    assert contains_url("Inscription : https://mooc-leader20.fr/inscription")
    assert not contains_url("Pas de lien ici, seulement du texte.")


# Pieces of texts: Latin below U+1100 (weighed without twitter-text's emoji pass), what sends a
# word to twitter-text (accents above U+1100, CJK, emoji, (c), CR), and the makings of URLs.
_TEXT_PIECES = st.sampled_from(
    [*"abcXYZ019 #@*-_/:?&=%'", "\n", "\r\n", "\r", "\t", "é", "e\u0301", "°", "«", "»", "’",
     "…", "—", "©", "®", "日", "😀", "👍🏽", "1\ufe0f\u20e3", "\u200b", "\u0f9d", "\u1100",
     ".", ".", "..", "http://", "https://", "www.", ".com", ".fr", ".org/", "a.b", "t.co/x",
     "?utm_source=x&utm_medium=social", "example.com/path", "mooc-leader20.fr",
     # whitespace to Python but not to twitter-text (U+001C to U+001F), and the other way round
     # (U+180E), and twitter-text's own above U+1100
     "\x1c", "\x1f", "\u180e", "\u2028", "\u3000", "\x85"]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_TEXT_PIECES, min_size=1, max_size=30).map("".join))
def test_x_length_and_urls_word_by_word_are_twitter_texts(text: str) -> None:
    """The words are weighed without twitter-text where it cannot see an emoji (and its URLs
    found in the word alone): the sums must still be exactly what it says of the whole text."""
    assert x_weighted_length(text) == parse_tweet(text).weightedLength
    assert contains_url(text) == bool(extract_urls(text))


def test_linkedin_escapes_reserved_characters() -> None:
    assert linkedin_escape("Le cours (MOOC)") == "Le cours \\(MOOC\\)"
    assert linkedin_escape("écrivez à @equipe") == "écrivez à \\@equipe"
    assert linkedin_escape("a|b{c}[d]<e>*f_g~h\\i") == (
        "a\\|b\\{c\\}\\[d\\]\\<e\\>\\*f\\_g\\~h\\\\i"
    )


def test_linkedin_hashtags_use_the_hashtag_template() -> None:
    assert linkedin_escape("#leadership") == "{hashtag|\\#|leadership}"
    assert linkedin_escape("Vive le #télétravail_2027 !") == (
        "Vive le {hashtag|\\#|télétravail\\_2027} !"
    )
    # A '#' that is not a hashtag is escaped like any reserved character.
    assert linkedin_escape("n° # 3") == "n° \\# 3"


def _escape_in_two_passes(text: str) -> str:
    """LinkedIn's escaping as the API documents it: hashtags first, then every reserved
    character of what lies between them (and of the hashtags' words)."""
    def escape(part: str) -> str:
        return "".join("\\" + c if c in "|{}@[]()<>#\\*_~" else c for c in part)

    out, last = [], 0
    for match in re.finditer(r"(?<![\w#])#(\w+)", text):
        out += [escape(text[last:match.start()]), "{hashtag|\\#|" + escape(match[1]) + "}"]
        last = match.end()
    return "".join([*out, escape(text[last:])])


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([*"|{}@[]()<>#\\*_~ a1é\n", "##", "#_", "日", "🎉", "\u00a0"]),
                max_size=24).map("".join))
def test_linkedin_escape_in_one_pass_is_the_two_pass_escaping(text: str) -> None:
    assert linkedin_escape(text) == _escape_in_two_passes(text)


def test_wire_text_only_transforms_linkedin() -> None:
    text = "Le (MOOC) #leadership"
    assert wire_text("x", text) == text
    assert wire_text("facebook", text) == text
    assert wire_text("linkedin", text) == linkedin_escape(text)


def test_text_length_uses_each_network_unit() -> None:
    assert text_length("x", "🎉 https://a.fr") == 2 + 1 + 23
    assert text_length("youtube", "é") == 2  # bytes
    assert text_length("linkedin", "(a)") == 5  # as sent, escaped
    assert text_length("facebook", "(a)") == 3


def test_adapters_limits_have_the_api_facts_numbers() -> None:
    x = channel_class("x").limits
    assert (x.text_max, x.text_unit, x.media_max) == (280, "weighted characters", 4)
    assert channel_class("facebook").limits.text_max == 63206
    assert channel_class("linkedin").limits.text_max == 3000
    youtube = channel_class("youtube").limits
    assert (youtube.title_max, youtube.text_max, youtube.text_unit) == (100, 5000, "bytes")


def test_youtube_title_rules() -> None:
    assert youtube_title_ok("Live n°1 : vos questions")
    assert youtube_title_ok("x" * 100)
    assert not youtube_title_ok("x" * 101)
    assert "more than 100" in youtube_title_problems("x" * 101)[0]
    assert not youtube_title_ok("Live <direct>")
    assert not youtube_title_ok("   ")


def test_youtube_description_counts_bytes() -> None:
    assert youtube_description_ok("a" * 5000)
    assert not youtube_description_ok("é" * 2501)  # 5002 bytes, 2501 characters
    assert "5002 bytes" in youtube_description_problems("é" * 2501)[0]
    assert not youtube_description_ok("a > b")


def test_thread_short_text_is_one_unnumbered_part() -> None:
    assert split_thread("Un texte court.") == ["Un texte court."]


def test_thread_parts_are_numbered_and_within_the_limit() -> None:
    sentence = "Chaque critique est lue par l'équipe pédagogique du MOOC. "
    text = sentence * 12 + "Le forum : https://mooc-leader20.fr/forum 🎉"
    parts = split_thread(text)
    assert len(parts) > 2
    for number, part in enumerate(parts, start=1):
        assert part.endswith(f" {number}/{len(parts)}")
        assert x_weighted_length(part) <= 280
    # Nothing lost, nothing cut inside a word: the parts without numbers give the text back.
    rebuilt = " ".join(p.rsplit(" ", 1)[0] for p in parts)
    assert rebuilt.split() == text.split()


def test_thread_prefers_line_then_sentence_breaks() -> None:
    first = "Première ligne, " + "assez longue pour compter. " * 4
    second = "Deuxième ligne. " * 10
    parts = split_thread(first.strip() + "\n" + second.strip(), limit=200)
    assert parts[0].startswith("Première ligne")
    assert parts[0].rsplit(" ", 1)[0].endswith("compter.")
    assert parts[1].startswith("Deuxième ligne.")


def test_thread_respects_a_smaller_limit_and_counts_urls_as_23() -> None:
    url = "https://mooc-leader20.fr/" + "a" * 200
    text = " ".join([url] * 6)
    parts = split_thread(text, limit=60)
    assert all(x_weighted_length(p) <= 60 for p in parts)
    assert all(url in p for p in parts)  # a URL is never cut: it always weighs 23


def test_thread_cuts_one_huge_word_by_characters() -> None:
    parts = split_thread("a" * 700)
    assert [x_weighted_length(p) <= 280 for p in parts] == [True] * len(parts)
    assert "".join(p.rsplit(" ", 1)[0] for p in parts) == "a" * 700


def test_thread_refuses_a_tiny_limit() -> None:
    with pytest.raises(ValueError):
        split_thread("x" * 100, limit=5)


WORDS = st.sampled_from(["leader", "équipe", "🎉", "中文", "https://mooc-leader20.fr/a",
                         "fin.", "vraiment ?", "\n", "x" * 40])


@settings(max_examples=40, deadline=None)
@given(st.lists(WORDS, min_size=1, max_size=120))
def test_thread_property_parts_fit_and_keep_every_word(words: list[str]) -> None:
    text = " ".join(words)
    parts = split_thread(text, limit=100)
    assert all(x_weighted_length(p) <= 100 for p in parts)
    if len(parts) > 1:
        parts = [p.rsplit(" ", 1)[0] for p in parts]
    assert " ".join(parts).split() == text.split()


def _bisection_cut(word: str, budget: int) -> list[str]:
    """The cut of one huge word before it became linear (a bisection re-measuring every prefix
    with twitter-text): the reference the linear cut must agree with on ordinary words."""
    parts: list[str] = []
    while word:
        length = _longest_fitting_prefix(word, budget)
        parts.append(word[:length])
        word = word[length:]
    return parts


# Code points of ordinary words: Latin, accented, digits, punctuation, CJK, single emoji, and a
# composed "e" + combining acute (NFC makes it "é" before anything is weighed).
WORD_CHARACTERS = st.sampled_from(list("abzAZ09éàÇ-_'!?,") + ["中", "文", "🎉", "😷", "e\u0301"])


@settings(max_examples=60, deadline=None)
@given(st.lists(WORD_CHARACTERS, min_size=1, max_size=900), st.integers(10, 276))
def test_linear_cut_of_a_huge_word_matches_the_bisection(chars: list[str], budget: int) -> None:
    word = unicodedata.normalize("NFC", "".join(chars))
    assert _cut_characters(word, budget) == _bisection_cut(word, budget)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(WORD_CHARACTERS, st.sampled_from(
    ["https://mooc-leader20.fr/a", "x.com", "👨\u200d👩\u200d👧", "🇫🇷", "1\ufe0f\u20e3"])),
    min_size=1, max_size=200))
def test_a_words_units_weigh_what_twitter_text_says(pieces: list[str]) -> None:
    word = unicodedata.normalize("NFC", "".join(pieces))
    assert sum(weight for _, weight in _atoms(word)) == x_weighted_length(word)


def test_huge_word_cut_keeps_urls_and_emoji_sequences_whole() -> None:
    url = "https://mooc-leader20.fr/" + "p" * 60
    family = "👨\u200d👩\u200d👧"  # one emoji sequence: weighs 2, five code points
    word = ("x" * 7 + family) * 40 + url + "y" * 300
    parts = _cut_characters(word, 50)
    assert "".join(parts) == word
    assert all(x_weighted_length(p) <= 50 for p in parts)
    assert any(url in p for p in parts)  # weighs 23: kept in one part
    assert sum(p.count(family) for p in parts) == 40  # never cut inside the sequence


def test_huge_word_cut_with_a_budget_under_a_urls_weight_cuts_the_url() -> None:
    word = "https://mooc-leader20.fr/" + "q" * 80
    parts = _cut_characters(word, 15)
    assert "".join(parts) == word
    assert all(x_weighted_length(p) <= 15 for p in parts)


def _characters_given_to_twitter_text(action: Callable[[], object]) -> int:
    """How many characters ``action`` hands to twitter-text (its parse and its emoji pass),
    observed with a profile hook: work counted, not time, because the cores are shared."""
    watched = {parse_tweet.__code__, extract_emojis_with_indices.__code__}
    given_chars = 0

    def hook(frame: FrameType, event: str, _arg: object) -> None:
        nonlocal given_chars
        if event == "call" and frame.f_code in watched:
            given_chars += len(frame.f_locals["text"])

    sys.setprofile(hook)
    try:
        action()
    finally:
        sys.setprofile(None)
    return given_chars


def test_thread_of_one_huge_word_is_linear() -> None:
    """Each character is weighed a few times, not once per prefix tried (the bisection parsed
    prefixes of the whole remaining word: minutes for 40,000 characters)."""
    for size in (5_000, 20_000):
        word = "a" * size
        parts: list[str] = []
        work = _characters_given_to_twitter_text(
            functools.partial(lambda w, out: out.extend(split_thread(w)), word, parts)
        )
        assert "".join(p.rsplit(" ", 1)[0] for p in parts) == word
        assert all(x_weighted_length(p) <= 280 for p in parts)
        assert work < 6 * size, work
