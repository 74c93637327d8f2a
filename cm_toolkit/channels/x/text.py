"""How X measures and splits text: twitter-text's weighted length, URLs, threads.

Pure functions (text in, text or number out), so that ``XChannel`` (its ``text_length``,
``split_thread`` and ``contains_url`` classmethods), and through them the plan check and
``cm preview``, measure a post the same way.

- ``x_weighted_length(text)``: X's weighted length (twitter-text rules: URLs count 23, Latin
  code points 1, CJK and emoji 2, NFC-normalised first).
- ``contains_url(text)``: X sees a URL in the text (a post with one costs more).
- ``split_thread(text, limit=280)``: a thread, parts numbered ``1/3`` ..., each within the limit
  (the network-neutral cutting of ``channels/thread_split.py``, with X's length and word cut).
"""

from __future__ import annotations

import functools
import re
import unicodedata

from twitter_text import extract_urls, parse_tweet
from twitter_text.config import config as _twitter_text_config
from twitter_text.extract_emojis import extract_emojis_with_indices
from twitter_text.extract_urls import extract_urls_with_indices
from twitter_text.get_character_weight import get_character_weight
from twitter_text.regexp.spaces_group import spaces_group as _twitter_text_spaces

from cm_toolkit.channels import thread_split

TEXT_MAX = 280
URL_WEIGHT = 23
# twitter-text's default rules (version 3: emoji sequences weigh 2), the ones parse_tweet applies.
_X_OPTIONS = _twitter_text_config["defaults"]



# Whitespace as twitter-text sees it (not Python's ``\s``: U+001C to U+001F are none to it,
# U+180E is one): a URL never spans it, so a text is measured word by word between its runs.
_SPACE = _twitter_text_spaces
# A word with the whitespace run that follows it: the unit ``x_weighted_length`` measures.
_WORD_AND_SPACE = re.compile(f"[^{_SPACE}]*[{_SPACE}]*")


# Characters twitter-text weighs 1 and never reads as part of an emoji: below U+1100 (its
# first weight range), except (c), (r) and CR (it counts CR LF as one). Emoji below U+1100 are
# only (c), (r) and keycaps, which need U+20E3. A word of these weighs its length, its URLs
# (which need a dot) 23 each; twitter-text's emoji expression, about 1 ms a word with a link,
# is not needed. The rest (accents above U+1100, CJK, emoji) goes through ``parse_tweet``.
_NO_EMOJI_WORD = re.compile("[^\r\u00a9\u00ae\u1100-\U0010ffff]*")


@functools.lru_cache(maxsize=65536)
def _word_facts(word: str, first: bool) -> tuple[int, bool]:
    """(weight, holds a URL) of an NFC ``word`` as it stands in a text (``first``: at its start)."""
    # After whitespace, not at the start of the text: twitter-text reads a URL differently at
    # the very start ("éx.com" there is "é" + the URL "x.com"). The space weighs 1.
    measured = word if first else " " + word
    urls = extract_urls_with_indices(measured) if "." in word else []  # it needs a dot
    if _NO_EMOJI_WORD.fullmatch(word):
        weight = len(measured) + sum(URL_WEIGHT - len(url["url"]) for url in urls)
    else:
        weight = int(parse_tweet(measured).weightedLength)
    return (weight if first else weight - 1), bool(urls)


# The words ``_word_facts`` may weigh otherwise than their length: those holding a dot (a URL
# needs one) or a character outside ``_NO_EMOJI_WORD``, in the word or in its whitespace run (CR,
# U+3000). Each match is a run of plain words (each: plain non-spaces, then plain spaces up to
# the next word; possessive, as giving back cannot help), then one word, whole: a special one,
# the last one, or a plain word before a special one (it weighs its length all the same). The
# runs are skipped in one pass of the regular expression instead of word by word in Python.
_SPECIAL = ".\r\u00a9\u00ae\u1100-\U0010ffff"
# twitter-text's whitespace that is not special: below U+1100, not CR
_PLAIN_SPACE = "".join(c for c in map(chr, range(0x1100)) if re.fullmatch(f"[{_SPACE}]", c)
                       and not re.fullmatch(f"[{_SPECIAL}]", c))
_PLAIN_WORDS_THEN_WORD = re.compile(
    f"((?:[^{_SPACE}{_SPECIAL}]*+[{re.escape(_PLAIN_SPACE)}]++(?![{_SPACE}]))*+)"
    f"([^{_SPACE}]*[{_SPACE}]*)")


def _special_words(text: str) -> list[tuple[str, bool]]:
    """The words of ``text`` (as ``_WORD_AND_SPACE`` cuts it) that may not weigh their length,
    each with whether it is the first word; a few more may come along (see above)."""
    words = []
    for index, (plain, word) in enumerate(_PLAIN_WORDS_THEN_WORD.findall(text)):
        if word:
            words.append((word, index == 0 and not plain))
    return words


def x_weighted_length(text: str) -> int:
    """X's weighted length of ``text``: what X compares with 280.

    twitter-text is slow (its emoji expression costs about 1 ms per post), and the plan check
    measures every occurrence of every post. A URL or an emoji never spans whitespace, so the
    weight of a text is the sum of the weights of its words (each with its trailing whitespace
    run, so that ``\\r\\n`` stays whole), each measured after a space, as it stands in the
    text (the first one at the start): words are measured once and remembered. A word of
    characters below U+1100 but a dot, CR, (c) and (r) weighs its length (``_word_facts``): the
    text weighs its length, plus what each other word weighs beyond its own.

    >>> x_weighted_length("Bonjour 🎉 https://example.org/a-very/long/path?x=1")
    34
    """
    text = unicodedata.normalize("NFC", text)
    weight = len(text)
    for word, first in _special_words(text):
        weight += _word_facts(word, first)[0] - len(word)
    return weight


def contains_url(text: str) -> bool:
    """True when X would see a URL in ``text`` (which makes an X post cost more).

    Word by word, like ``x_weighted_length`` (a URL never spans whitespace), with the words
    remembered: a plan's texts share most of their words, and the link is measured once."""
    if "." not in text:  # twitter-text's own first test
        return False
    if not unicodedata.is_normalized("NFC", text):
        return bool(extract_urls(text))
    return any(_word_facts(word, first)[1] for word, first in _special_words(text))


# Small: split_thread packs the same huge word again when its first guess of the part count had
# too few digits, and a word is weighed in one pass of twitter-text's emoji expression.
@functools.lru_cache(maxsize=8)
def _atoms(word: str) -> tuple[tuple[int, int], ...]:
    """``word`` as twitter-text weighs it: ``(end, weight)`` per indivisible unit, in order.

    One pass of X's own rules (``parse_tweet``'s loop): a URL is one unit of 23, an emoji
    sequence one unit of 2, any other code point its range's weight. The weights add up to
    ``x_weighted_length(word)``, and every prefix ending at a unit's end weighs the sum of its
    units (a URL or an emoji is never cut in two).
    """
    scale = _X_OPTIONS["scale"]
    urls = {u["indices"][0]: u["indices"][1] for u in extract_urls_with_indices(word)}
    emojis = {e["indices"][0]: e["indices"][1] for e in extract_emojis_with_indices(word)}
    atoms: list[tuple[int, int]] = []
    index = 0
    while index < len(word):
        if index in urls:
            end, weight = urls[index], URL_WEIGHT
        elif index in emojis:
            end, weight = emojis[index], _X_OPTIONS["default_weight"] // scale
        else:
            end, weight = index + 1, _char_weight(word[index])
        atoms.append((end, weight))
        index = end
    return tuple(atoms)


@functools.lru_cache(maxsize=4096)
def _char_weight(char: str) -> int:
    return int(get_character_weight(char, _X_OPTIONS)) // int(_X_OPTIONS["scale"])


def _longest_fitting_prefix(word: str, budget: int) -> int:
    """Length of the longest prefix of ``word`` within ``budget``, by bisection on its weight.

    Only for a part whose units did not add up once cut off from the rest (a URL read differently
    at a part's start): ``word`` is then one part long, not the whole word.
    """
    low, high = 1, len(word)
    while low < high:
        middle = (low + high + 1) // 2
        if x_weighted_length(word[:middle]) <= budget:
            low = middle
        else:
            high = middle - 1
    return low


def _cut_characters(word: str, budget: int) -> list[str]:
    """Cut one huge word (no space to break at) into pieces within ``budget``, in linear time.

    The word is weighed once, unit by unit (``_atoms``), and parts are filled greedily with
    whole units: the same parts as the longest prefix that fits, measured each time, which
    re-parsed every prefix and cost minutes for a word of 40,000 characters. A part that
    contains a dot (where a URL may be read differently once cut off) is measured as it will be
    sent, and cut shorter by bisection on that part alone if it is over. A unit heavier than
    ``budget`` (a URL, with a budget under 23) is cut between its characters.
    """
    parts: list[str] = []
    start = 0  # where the current part starts in ``word``
    position = 0  # the end of the units already in the current part
    weight = 0  # their weight
    for end, atom_weight in _atoms(word):
        units = (
            [(end, atom_weight)]
            if atom_weight <= budget
            else [(i + 1, _char_weight(word[i])) for i in range(position, end)]
        )
        for unit_end, unit_weight in units:
            if weight + unit_weight > budget and position > start:
                start = _close_part(word, start, position, budget, parts)
                # What a shorter cut left over starts the next part, weighed code point by
                # code point (it has a dot, so that part is measured again before it closes).
                weight = sum(_char_weight(c) for c in word[start:position])
            weight += unit_weight
            position = unit_end
    while start < len(word):
        start = _close_part(word, start, len(word), budget, parts)
    return parts


def _close_part(word: str, start: int, end: int, budget: int, parts: list[str]) -> int:
    """Append ``word[start:end]`` (cut shorter if, measured alone, it is over) and return where
    the next part starts."""
    part = word[start:end]
    if "." in part and x_weighted_length(part) > budget:
        part = part[: _longest_fitting_prefix(part, budget)]
    parts.append(part)
    return start + len(part)


def split_thread(text: str, limit: int = TEXT_MAX) -> list[str]:
    """Split ``text`` into an X thread: each part within ``limit`` weighted characters.

    ``channels/thread_split.py`` cuts and numbers the parts by X's weighted length; one huge
    word is cut by ``_cut_characters`` (twitter-text's units: a URL or an emoji stays whole).
    """
    return thread_split.split_thread(text, limit, x_weighted_length, _cut_characters)
