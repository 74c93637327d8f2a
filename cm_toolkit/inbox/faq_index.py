"""BM25 over the FAQ's entries, with scores that mean the same from one message to the next.

Each entry is one document: its example questions (every language), its keywords (counted twice:
the author chose them) and its titles, as ``faq_text.terms``. A message is scored against every
entry that shares a term with it (an inverted index: the cost grows with the message, not with the
number of entries).

Score: the BM25 weight of each of the message's distinct terms in the entry, capped at 1 (one
occurrence in an entry of average length), weighted by the term's IDF and divided by the sum of
the message's IDFs. So a score is the share of what the message says (rare words weigh more) that
the entry covers, between 0 and 1: "certificat ?" against the certificate entry is near 1; a long
message about something else that happens to say "module" is low, because its other words, unknown
to the FAQ, carry the highest IDF. Scores are comparable within one call, and thresholds (``auto``)
can be written once.

A weak match is not returned at all (``score`` leaves it out), because a wrong suggestion costs a
person more than none:

- an entry must *own* one of the message's terms: hold it with a BM25 weight (before the cap) of
  at least ``OWN_SHARE`` of the heaviest entry's for that term. "Merci pour ce module" must not
  suggest the subtitles entry because one of its example questions says "vidéos", when the
  module-access entry says it again and again;
- its score must reach ``MIN_SCORE``: below, the entry covers too little of the message (one
  common word of a long message about something else).

``faq.FaqBook.suggest`` adds one rule that needs the whole text: a message that neither asks nor
reports trouble (praise, an opinion) needs ``STATEMENT_MIN_SCORE``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

K1 = 1.2
B = 0.75
KEYWORD_WEIGHT = 2
OWN_SHARE = 0.8
MIN_SCORE = 0.1


class FaqIndex:
    """An inverted index of entries' terms; ``score`` ranks entries for one message's terms."""

    def __init__(self, documents: Sequence[Counter[str]]) -> None:
        self.size = len(documents)
        lengths = [sum(doc.values()) for doc in documents]
        average = (sum(lengths) / len(lengths)) if lengths else 1.0
        frequency: Counter[str] = Counter()
        for doc in documents:
            frequency.update(doc.keys())
        self._unknown_idf = self._idf(0)
        self.idf = {term: self._idf(df) for term, df in frequency.items()}
        # term -> [(entry index, saturated weight in 0..1)], computed once.
        self.postings: dict[str, list[tuple[int, float]]] = {}
        uncapped: dict[str, list[tuple[int, float]]] = {}
        for index, (doc, length) in enumerate(zip(documents, lengths, strict=True)):
            norm = K1 * (1 - B + B * length / (average or 1.0))
            for term, tf in doc.items():
                weight = tf * (K1 + 1) / (tf + norm)
                uncapped.setdefault(term, []).append((index, weight))
                self.postings.setdefault(term, []).append((index, min(1.0, weight)))
        # term -> the entries that own it (module docstring)
        self.owners: dict[str, frozenset[int]] = {}
        for term, found in uncapped.items():
            heaviest = max(weight for _, weight in found)
            self.owners[term] = frozenset(
                index for index, weight in found if weight >= OWN_SHARE * heaviest)

    def _idf(self, df: int) -> float:
        return math.log(1 + (self.size - df + 0.5) / (df + 0.5))

    def idf_of(self, term: str) -> float:
        return self.idf.get(term, self._unknown_idf)

    def score(self, terms: Sequence[str]) -> dict[int, float]:
        """Entry index -> score in 0..1, for the entries that match the terms more than weakly
        (each owns one of them, and scores ``MIN_SCORE`` at least)."""
        distinct = set(terms)
        if not distinct or not self.size:
            return {}
        total = sum(self.idf_of(term) for term in distinct)
        scores: dict[int, float] = {}
        owned: set[int] = set()
        for term in distinct:
            idf = self.idf_of(term)
            for index, weight in self.postings.get(term, ()):
                scores[index] = scores.get(index, 0.0) + idf * weight
            owned.update(self.owners.get(term, ()))
        return {index: value / total for index, value in scores.items()
                if index in owned and value / total >= MIN_SCORE}

    def elsewhere(self, terms: Sequence[str], index: int) -> float:
        """The share (0..1, IDF-weighted) of the message's terms that other entries know and
        entry ``index`` does not: the part of the message that points somewhere else."""
        distinct = set(terms)
        total = sum(self.idf_of(term) for term in distinct)
        if not total:
            return 0.0
        claimed = sum(
            self.idf_of(term)
            for term in distinct
            if term in self.postings and all(i != index for i, _ in self.postings[term])
        )
        return claimed / total

