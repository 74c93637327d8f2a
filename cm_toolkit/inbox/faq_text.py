"""Words of a learner's message as the FAQ matches them: normalised, stemmed, without stop words.

French and English at once (a message's language is a guess, and learners mix them):
lowercase, accents stripped (NFKD), elisions split (``l'attestation`` -> ``attestation``), stop
words of both languages dropped, then a light stemmer: plurals (-s, -x, -es, -aux) and a few
common suffixes (-ment, -ing, -ed, -ation...), and stems cut at ``STEM_LENGTH`` characters, so
that ``inscription``, ``inscrire`` and ``inscrit`` meet, as do ``certificat``, ``certificats``,
``certificate`` and ``certification``. Word order is irrelevant (a bag of words).

``is_question``, ``reports_trouble`` and ``guess_language`` are small heuristics for the inbox (no model, no data
file): good enough to sort and label, never to refuse anything.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

STEM_LENGTH = 6
"""Stems are cut to this many characters: long enough to keep topics apart, short enough for
French verb forms and English/French cognates (measured in tests/inbox/test_faq_suggest.py)."""

_WORD = re.compile(r"[a-z0-9]+")
# English negations are one word ("don't" -> "dont", a stop word), not "don" + "t": "don" would
# be a term, and match whatever entry happens to say "donner" or "done".
_NOT = re.compile(r"(?<=[a-z])n['’]t\b")

def _listed(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOP_WORDS_FR = _listed(
    """
    a ai aie aient aies ait alors as au aucun aussi autre aux avaient avais avait avec avez aviez
    avoir avons bon bonjour bonsoir ca ce ceci cela celle celles celui ces cet cette chez ci comme
    comment d dans de des deja desole doit donc dont du elle elles en encore est et etaient etais
    etait etes ete etre eu eux faire fait faut il ils j je jusqu l la le les leur leurs lui m ma
    mais me meme merci mes moi mon n ne ni nos notre nous on ont ou par pas peu peut peuvent peux
    plus pour pourquoi pouvez puis puisque qu quand que quel quelle quelles quels qui quoi s sa
    salut sans se sera ses si sien son sont suis sur svp t ta te tes toi ton tous tout
    toute toutes tres tu un une vers voici voila vos votre vous vraiment y c possible possibles
    """
)

STOP_WORDS_EN = _listed(
    """
    a about all also am an and any anyone are as at be been being but by can could did do does
    doing done for from get got had has have having hello hey hi how i if in into is it its just
    me my of on or our please so some than thank thanks that the their them then there these they
    this those to too up us was we were what when where which who why will with would you your
    yours im dont cant isnt ive id thx wont doesnt didnt arent wasnt werent couldnt shouldnt
    wouldnt havent hasnt possible
    """
)

STOP_WORDS = STOP_WORDS_FR | STOP_WORDS_EN

# Longest first: the first suffix that leaves a stem of at least _MIN_STEM characters is cut
# (after plurals are gone, before a final -e: "inscriptions" -> "inscription" -> "inscript").
_SUFFIXES = (
    "issement", "ement", "ation", "ment", "ance", "ence", "ing", "ed",
)
_MIN_STEM = 4


def fold(text: str) -> str:
    """Lowercase without accents: ``Où est l'Attestation ?`` -> ``ou est l'attestation ?``."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("œ", "oe")


def stem(word: str) -> str:
    """The light French/English stem of one folded word."""
    if word.endswith("aux") and len(word) > 5:  # journaux -> journal
        word = word[:-3] + "al"
    elif word.endswith("ies") and len(word) > 5:  # studies -> study
        word = word[:-3] + "y"
    elif word.endswith(("s", "x")) and not word.endswith("ss") and len(word) > _MIN_STEM:
        word = word[:-1]  # titres -> titre, boxes -> boxe, classes -> classe
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            word = word[: -len(suffix)]
            break
    while word.endswith("e") and len(word) > _MIN_STEM:  # titre = titr, delivree = delivr
        word = word[:-1]
    return word[:STEM_LENGTH]


def words(text: str) -> list[str]:
    """Folded words of ``text`` (stop words included), in order."""
    return _WORD.findall(_NOT.sub("nt", fold(text)))


def terms(text: str, synonyms: dict[str, str] | None = None) -> list[str]:
    """The matching terms of ``text``: stems of its meaningful words, synonyms merged.

    ``synonyms`` maps a stem to the stem that stands for its group (``attest`` -> ``certif``).
    Numbers are kept (``module 3``); one-letter words and stop words are not.
    """
    found = []
    for word in words(text):
        if len(word) < 2 or word in STOP_WORDS:
            continue
        term = stem(word)
        if synonyms:
            term = synonyms.get(term, term)
        found.append(term)
    return found


def synonym_table(groups: Iterable[Iterable[str]]) -> dict[str, str]:
    """Groups of words that mean the same (``[attestation, certificat, certificate]``) as a map
    from each word's stem to the group's first stem."""
    table: dict[str, str] = {}
    for group in groups:
        stems = [stem(w) for phrase in group for w in words(phrase) if w not in STOP_WORDS]
        if not stems:
            continue
        head = table.get(stems[0], stems[0])
        for one in stems:
            table.setdefault(one, head)
    return table


# ---------------------------------------------------------------------------------------------
# Questions and languages

_QUESTION_STARTS_FR = (
    "comment", "quand", "ou ", "pourquoi", "est-ce", "est ce", "qui ", "quel", "quoi", "combien",
    "peut-on", "peut on", "puis-je", "puis je", "pourrais", "pourriez", "pouvez-vous",
    "pouvez vous", "y a-t-il", "y a t il", "a quelle", "a quel", "avez-vous", "faut-il",
    "sait-on", "existe-t-il", "dois-je", "doit-on", "c'est quand", "c'est ou", "c est quand",
)
_QUESTION_STARTS_EN = (
    "how", "when", "where", "why", "what", "which", "who", "is there", "are there", "can i",
    "can we", "can you", "could", "do i", "do you", "does", "did", "is it", "is the", "are the",
    "will", "should", "may i", "would", "any idea", "anyone know",
)
_QUESTION_INSIDE = (
    "est-ce que", "est ce que", "je ne sais pas", "je cherche", "savez-vous", "any idea",
    "i wonder", "i can't find", "i cannot find", "je ne trouve pas", "je n'arrive pas",
    "je voudrais savoir", "je me demande", "i would like to know", "i'd like to know",
)


def is_question(text: str, language: str | None = None) -> bool:
    """Whether a message asks something: a ``?``, or a French/English interrogative start
    (``comment``, ``quand``, ``où``, ``est-ce que``, ``how``, ``can I`` ...), or a phrase that
    asks without a question mark (``je ne trouve pas``, ``I can't find``).

    ``language`` (``fr``, ``en``, None for both) narrows the interrogative words checked.
    """
    if "?" in text or "¿" in text:
        return True
    folded = " ".join(fold(text).replace("’", "'").split())
    starts: tuple[str, ...] = ()
    if language in (None, "fr") or not language:
        starts += _QUESTION_STARTS_FR
    if language in (None, "en") or not language:
        starts += _QUESTION_STARTS_EN
    if language not in (None, "fr", "en") and language:
        starts = _QUESTION_STARTS_FR + _QUESTION_STARTS_EN
    for sentence in re.split(r"[.!\n;]+", folded):
        sentence = sentence.strip(" ,:-\"'«»")
        # "Bonjour, comment ..." / "Hi! How ...": the greeting is not the question.
        sentence = re.sub(r"^(bonjour|bonsoir|salut|hello|hi|hey)\b[ ,]*", "", sentence)
        if any(sentence == s.strip() or sentence.startswith(s) for s in starts):
            return True
    return any(phrase in folded for phrase in _QUESTION_INSIDE)


TROUBLE_WORDS = _listed(
    """
    ne n pas jamais impossible bloque erreur panne
    not no never cant cannot wont dont doesnt didnt isnt arent error broken locked stuck
    """
)


def reports_trouble(text: str) -> bool:
    """Whether a message says something does not work, without asking: a negation or a word
    of trouble (``les vidéos ne chargent pas``, ``module 5 won't open``). A learner writing
    that wants help as much as one asking; praise and opinions seldom say it."""
    return any(word in TROUBLE_WORDS for word in words(text.replace("’", "'")))


def guess_language(text: str) -> str | None:
    """``fr`` or ``en`` from the stop words a message uses; None when it cannot tell."""
    found = words(text.replace("’", "'"))
    french = sum(1 for w in found if w in STOP_WORDS_FR and w not in STOP_WORDS_EN)
    english = sum(1 for w in found if w in STOP_WORDS_EN and w not in STOP_WORDS_FR)
    if french == english:
        return None
    return "fr" if french > english else "en"
