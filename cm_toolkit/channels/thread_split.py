"""Cutting a long text into a numbered thread, for any network: the network says how it counts.

``split_thread(text, limit, length, cut_word=None)``: parts within ``limit`` as ``length``
measures them (X's weighted length, Mastodon's count...), greedily filled, cut between lines
first, then after sentences, then between words, and numbered ``" 1/3"``, ``" 2/3"``... at their
end (the numbering is counted in the limit). A text that fits is one part, unnumbered.

One word longer than a part (no space to break at) is cut by ``cut_word(word, budget)``: a
network whose units a generic cut would break (X weighs a URL 23 and an emoji sequence 2, as
units) passes its own; the default, ``cut_between_graphemes``, never cuts a grapheme cluster.

Everything here is linear in the text (issue 15: a word of 40,000 characters took 30 s): pieces
are measured once, and the word cutters measure only part-sized slices. ``length`` must add up
over pieces that end at whitespace (a URL, an emoji or a grapheme never spans whitespace); a
final check of every numbered part makes the limit a guarantee even where it does not.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import regex

Length = Callable[[str], int]
WordCutter = Callable[[str, int], list[str]]

# Where a thread may be cut, best first: between paragraphs/lines, after a sentence, between words.
_BREAKS = (
    re.compile(r"\n\s*"),
    re.compile(r"(?<=[.!?…:;])\s+"),
    re.compile(r"\s+"),
)
_GRAPHEME = regex.compile(r"\X")
MIN_LIMIT = 20  # below it, a part is mostly its number


def split_thread(
    text: str, limit: int, length: Length, cut_word: WordCutter | None = None
) -> list[str]:
    """``text`` (NFC-normalised, stripped) as thread parts within ``limit`` by ``length``."""
    if limit < MIN_LIMIT:
        raise ValueError(f"a thread part needs a limit of at least {MIN_LIMIT} characters")
    text = unicodedata.normalize("NFC", text).strip()
    if length(text) <= limit:
        return [text]
    packer = _Packer(length, cut_word or (lambda word, budget: cut_between_graphemes(
        word, budget, length)))
    count_guess, margin = 2, 0
    while True:
        budget = limit - len(f" {count_guess}/{count_guess}") - margin
        if budget < 1:  # ``length`` is far from additive: no cut can keep within the limit
            raise ValueError(f"this text cannot be cut into parts of {limit}")
        parts = packer.pack(_segments(text, _BREAKS[0]), budget, 0)
        if len(str(len(parts))) > len(str(count_guess)):
            count_guess = len(parts)
            continue
        total = len(parts)
        numbered = [f"{part} {i}/{total}" for i, part in enumerate(parts, start=1)]
        # The sum of piece lengths is exact in practice; the final check makes it a guarantee.
        over = max(length(part) for part in numbered) - limit
        if over <= 0:
            return numbered
        margin += over


def cut_between_graphemes(word: str, budget: int, length: Length) -> list[str]:
    """Cut one huge ``word`` into parts within ``budget`` by ``length``, between grapheme
    clusters (an emoji with its skin tone, a letter with its accents stay whole).

    Linear: each part is found by doubling a run of clusters until it is over, then bisecting,
    so every measure covers at most about twice a part. A single cluster over ``budget`` is a
    part of its own (no cut can do better).
    """
    clusters: list[str] = _GRAPHEME.findall(word)
    parts: list[str] = []
    start = 0
    while start < len(clusters):
        end = _longest_fitting_run(clusters, start, budget, length)
        parts.append("".join(clusters[start:end]))
        start = end
    return parts


def _longest_fitting_run(clusters: list[str], start: int, budget: int, length: Length) -> int:
    """The end of the longest run of ``clusters`` from ``start`` within ``budget`` (at least
    one cluster)."""

    def fits(end: int) -> bool:
        return length("".join(clusters[start:end])) <= budget

    low, step = start + 1, max(1, budget)
    high = min(len(clusters), start + step)
    while fits(high):
        if high == len(clusters):
            return high
        low, step = high, step * 2
        high = min(len(clusters), start + step)
    while high - low > 1:  # ``low`` fits (or is one cluster), ``high`` does not
        middle = (low + high) // 2
        if fits(middle):
            low = middle
        else:
            high = middle
    return low


def _segments(text: str, pattern: re.Pattern[str]) -> list[str]:
    """Pieces of ``text`` cut after each match of ``pattern``; each piece keeps its separator."""
    pieces: list[str] = []
    start = 0
    for match in pattern.finditer(text):
        if match.end() > start:
            pieces.append(text[start : match.end()])
            start = match.end()
    if start < len(text):
        pieces.append(text[start:])
    return [p for p in pieces if p.strip()]


class _Packer:
    """Greedy packing with each piece measured once.

    Measuring can be slow (twitter-text runs its URL and emoji expressions over the whole text),
    and pieces always end at whitespace, where neither a URL nor an emoji can continue: so the
    length of pieces put together is the sum of their lengths.
    """

    def __init__(self, length: Length, cut_word: WordCutter) -> None:
        self._length, self._cut_word = length, cut_word
        self._cache: dict[str, int] = {}

    def weigh(self, text: str) -> int:
        if text not in self._cache:
            self._cache[text] = self._length(text)
        return self._cache[text]

    def pack(self, pieces: list[str], budget: int, level: int) -> list[str]:
        """``pieces`` packed into parts within ``budget``; a piece too long on its own is cut
        at the next finer kind of break."""
        parts: list[str] = []
        current = ""
        current_weight = 0  # weight of ``current`` with its trailing whitespace
        for piece in pieces:
            stripped = piece.rstrip()
            if current and current_weight + self.weigh(stripped) <= budget:
                current += piece
                current_weight += self.weigh(piece)
                continue
            if current.strip():
                parts.append(current.rstrip())
            current, current_weight = "", 0
            if self.weigh(stripped) <= budget:
                current, current_weight = piece, self.weigh(piece)
                continue
            sub = self._cut_finer(piece, budget, level)
            parts.extend(sub[:-1])
            current = sub[-1] + (" " if piece[-1:].isspace() else "")
            current_weight = self.weigh(current)
        if current.strip():
            parts.append(current.rstrip())
        return parts

    def _cut_finer(self, piece: str, budget: int, level: int) -> list[str]:
        """Cut a piece too long on its own at the first finer kind of break it contains."""
        for finer_level in range(level + 1, len(_BREAKS)):
            finer = _segments(piece, _BREAKS[finer_level])
            if len(finer) > 1:
                return self.pack(finer, budget, finer_level)
        return self._cut_word(piece.rstrip(), budget)
