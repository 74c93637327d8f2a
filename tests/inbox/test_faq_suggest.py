"""FAQ suggestions on learner questions the sample faq.yaml has never seen.

The questions below were written apart from faq.yaml's examples (other wordings, missing accents,
plurals, English and French, greetings and context around the question). Figures on the sample
FAQ (printed by ``python -m tests.inbox.test_faq_suggest``): see docs/inbox.md and the report of
the commit that last changed them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cm_toolkit.inbox.faq import FaqBook
from cm_toolkit.inbox.faq_text import fold, guess_language, is_question, stem, terms

SAMPLE = Path(__file__).resolve().parents[2]

HELD_OUT: list[tuple[str, str]] = [
    # certificat
    ("certificat", "Bonjour, est-ce qu'on reçoit un diplome a la fin ?"),
    ("certificat", "Je voudrais savoir si une attestation est delivree apres les 8 semaines"),
    ("certificat", "Faut-il payer pour avoir le certificat de réussite ?"),
    ("certificat", "Mon attestation n'apparait pas dans mon espace, c'est normal ?"),
    ("certificat", "Do we get a certificate when we finish?"),
    ("certificat", "Hello, how can I download my certificate of completion"),
    ("certificat", "is the certification included or do I have to pay extra for it?"),
    # inscription
    ("inscription", "Est-ce trop tard pour m'inscrire au cours ?"),
    ("inscription", "Combien coute la formation ?"),
    ("inscription", "Comment je fais pour m inscrire ?"),
    ("inscription", "Les inscriptions sont-elles encore ouvertes ?"),
    ("inscription", "How much does the MOOC cost?"),
    ("inscription", "Can I still enroll in the course?"),
    ("inscription", "Where do I sign up? Is registration still open"),
    # live-lien
    ("live-lien", "C'est ou le lien pour le direct de jeudi ?"),
    ("live-lien", "Je n'ai pas pu assister au live, il y a une rediffusion ?"),
    ("live-lien", "Sur quelle plateforme se passe la session en direct ?"),
    ("live-lien", "le replay du dernier live est disponible ?"),
    ("live-lien", "Where can I find the link for tonight's live?"),
    ("live-lien", "Is the live Q&A recorded? I will be at work"),
    ("live-lien", "how do I watch the live session on YouTube"),
    # acces-module
    ("acces-module", "Impossible d'acceder au module 4 depuis ce matin"),
    ("acces-module", "Les videos ne chargent pas chez moi"),
    ("acces-module", "Le module 2 reste verrouillé alors que j'ai fini le 1"),
    ("acces-module", "j'ai une page d'erreur quand je clique sur la video"),
    ("acces-module", "Module 5 won't open for me"),
    ("acces-module", "The videos keep buffering and never play"),
    ("acces-module", "I get an error message when I try to access the lesson"),
    # duree
    ("duree", "Ça prend combien de temps par semaine ?"),
    ("duree", "Je travaille à temps plein, est-ce que je pourrai suivre le rythme ?"),
    ("duree", "Le MOOC dure combien de semaines au total ?"),
    ("duree", "How much time should I plan each week?"),
    ("duree", "Is it self-paced or are there fixed weekly deadlines?"),
    ("duree", "How many weeks does the program last?"),
    # langue
    ("langue", "Y a-t-il des sous titres en anglais ?"),
    ("langue", "Je ne parle pas bien francais, le cours est il traduit ?"),
    ("langue", "Les transcriptions des videos sont disponibles ?"),
    ("langue", "Are the videos subtitled?"),
    ("langue", "Is there a Spanish version of the course?"),
    ("langue", "My French is not great, are there captions?"),
    # forum
    ("forum", "Il existe un espace pour discuter entre apprenants ?"),
    ("forum", "Où est-ce qu'on peut débattre des thèmes du cours ?"),
    ("forum", "Y a t il un groupe pour echanger avec les autres participants"),
    ("forum", "Is there a community space to talk with other learners?"),
    ("forum", "Where can we discuss the modules together?"),
    ("forum", "Is there a discussion group on LinkedIn?"),
]

OFF_TOPIC = [
    "Merci pour ce super cours !",
    "Bravo à toute l'équipe, vidéo très inspirante",
    "Je ne suis pas d'accord avec la vision du leadership présentée ici",
    "Great content, thanks for sharing",
    "Follow me for more leadership tips!!!",
    "Quelqu'un a lu le dernier livre de Simon Sinek ?",
    "Le management à distance, c'est surtout une question de confiance.",
    "What a beautiful picture",
    "Vous recrutez des formateurs ?",
    "I disagree, managers should not be friends with their team",
]


# Messages of the demo's simulated learners as `make demo` stores them (sandbox/audience_messages.py),
# with the entry that answers them, or None where no suggestion should be made. The rows marked
# "was" were suggested wrongly before weak matches were left out.
SAMPLE_MESSAGES: list[tuple[str, str | None]] = [
    ("Sous titres en arabe possibles ?", "langue"),  # was inscription ("possible")
    ("Y a-t-il des sous-titres sur les vidéos ?", "langue"),
    ("any chance of Spanish captions?", "langue"),
    ("Comment obtient-on l'attestation de suivi ?", "certificat"),
    ("Is there a certificate of completion for this course?", "certificat"),
    ("When is the registration deadline?", "inscription"),
    ("Il est encore temps de s'inscrire ? Je viens de découvrir le MOOC", "inscription"),
    ("Où est le lien pour le live de ce soir ?", "live-lien"),
    ("Will the live Q&A be recorded? I can't attend.", "live-lien"),
    ("Combien d'heures par semaine faut-il prévoir ?", "duree"),
    ("Can I do it at my own pace or are there fixed dates?", "duree"),
    ("Où peut-on discuter avec les autres participants ?", "forum"),
    ("Is there a LinkedIn group for the course?", "forum"),
    ("Je n'arrive pas à ouvrir le module 3, la page reste blanche", "acces-module"),
    ("I can't open module 3, it keeps loading forever.", "acces-module"),
    ("Module 4 is still locked for me, is that normal?", "acces-module"),
    ("Merci pour ce module, très concret !", None),  # was acces-module ("module")
    ("Thanks, this module was really practical!", None),  # was acces-module
    ("Bravo pour la qualité des vidéos 👏", None),  # was acces-module
    ("Le son de la dernière vidéo était vraiment mauvais.", None),  # was acces-module
    ("Great session yesterday, thank you all.", None),  # was live-lien ("session")
    ("Super échange hier soir, merci à l'équipe.", None),  # was forum ("échange")
    ("Très bonne question sur le leadership à distance.", None),  # was forum
    ("Les vidéos sont trop longues, des formats de 5 minutes seraient mieux.", None),
    ("Enfin un MOOC de management qui parle du terrain, merci", None),  # was certificat
    ("Videos don't load from my office network, any workaround?", None),  # was langue ("don")
    ("Merci, très clair !", None),
    ("Bonjour de Dakar 👋", None),
]


@pytest.mark.parametrize(("message", "expected"), SAMPLE_MESSAGES)
def test_sample_messages_get_their_entry_or_no_suggestion(
    book: FaqBook, message: str, expected: str | None
) -> None:
    found = book.suggest(message)
    assert (found[0].faq_id if found else None) == expected, found


def test_a_weak_match_is_left_out_not_ranked_last(book: FaqBook) -> None:
    # "vidéos" is a word of the subtitles and forum entries too, but the module-access entry
    # owns it: they are not suggested for it, and the owner only when it covers enough.
    ids = [s.faq_id for s in book.suggest("La vidéo du module 2 ne se lance pas ?", limit=5)]
    assert ids == ["acces-module"]
    # one common word of a long question about something else: too little to suggest
    assert book.suggest("Des nouvelles du module 2 pour le reste du programme régional, "
                        "cette année, dans notre entreprise ?") == []


@pytest.fixture(scope="module")
def book() -> FaqBook:
    return FaqBook.load(SAMPLE)


def ranks(book: FaqBook) -> list[int | None]:
    """Rank (1-based) of the right entry for each held-out question, None if not in the top 3."""
    found: list[int | None] = []
    for expected, question in HELD_OUT:
        ids = [s.faq_id for s in book.suggest(question, limit=3)]
        found.append(ids.index(expected) + 1 if expected in ids else None)
    return found


def test_held_out_questions_are_numerous_and_in_both_languages() -> None:
    assert len(HELD_OUT) >= 40
    languages = [guess_language(q) for _, q in HELD_OUT]
    assert languages.count("fr") >= 18 and languages.count("en") >= 18, languages
    faq = (SAMPLE / "faq.yaml").read_text(encoding="utf-8")
    for _, question in HELD_OUT:
        assert question not in faq, f"not held out: {question}"


def test_the_right_entry_is_in_the_top_3_for_most_held_out_questions(book: FaqBook) -> None:
    found = ranks(book)
    top3 = sum(1 for r in found if r is not None) / len(found)
    top1 = sum(1 for r in found if r == 1) / len(found)
    misses = [q for (_, q), r in zip(HELD_OUT, found, strict=True) if r is None]
    assert top3 >= 0.85, f"top 3: {top3:.0%}, missed: {misses}"
    assert top1 >= 0.70, f"top 1: {top1:.0%}"


def test_off_topic_messages_never_answer_by_themselves(book: FaqBook) -> None:
    for message in OFF_TOPIC:
        suggestions = book.suggest(message)
        assert not any(s.auto for s in suggestions), (message, suggestions)


def test_auto_needs_auto_true_a_score_above_threshold_and_a_clear_lead(book: FaqBook) -> None:
    best = book.suggest("Comment obtenir mon attestation ?")[0]
    assert best.faq_id == "certificat" and best.auto and best.score >= 0.6
    # acces-module is not auto in the sample, whatever its score.
    best = book.suggest("Le module 3 est bloqué, la vidéo ne se lance pas")[0]
    assert best.faq_id == "acces-module" and not best.auto
    # Two topics at once: neither leads clearly enough to answer alone.
    mixed = book.suggest("Le certificat est-il gratuit et le forum est où ?")
    assert not any(s.auto for s in mixed), mixed


def test_scores_are_ordered_bounded_and_limit_is_honoured(book: FaqBook) -> None:
    suggestions = book.suggest("Où trouver le replay du live et les sous-titres ?", limit=5)
    scores = [s.score for s in suggestions]
    assert len(scores) >= 2, suggestions  # an order and bounds to check
    assert scores == sorted(scores, reverse=True)
    assert all(0 < s <= 1 for s in scores)
    assert len(book.suggest("live replay sous-titres forum attestation ?", limit=2)) == 2
    assert book.suggest("", limit=3) == []
    assert book.suggest("!!! ??? ...") == []
    titles = {s.faq_id: s.title for s in book.suggest("attestation certificate")}
    assert titles["certificat"] == "Attestation de suivi"  # the workspace's language


def test_accents_case_plurals_and_word_order_do_not_matter(book: FaqBook) -> None:
    a = book.suggest("Où sont les SOUS-TITRES des vidéos ?")
    b = book.suggest("videos sous titre ou sont")
    assert [(s.faq_id, s.score) for s in a] == [(s.faq_id, s.score) for s in b]
    assert fold("Où ÉTÉ œuvre") == "ou ete oeuvre"
    assert stem("certificats") == stem("certificat") == stem("certificate")
    assert stem("inscription") == stem("inscrire") == stem("inscrit")
    assert stem("journaux") == stem("journal")
    assert terms("Est-ce que l'attestation est gratuite ?") == ["attest", "gratui"]


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("Le lien du live ?", "fr", True),
        ("comment je telecharge l'attestation", "fr", True),
        ("Bonjour, quand commence le module 3", "fr", True),
        ("Est-ce que le replay sera dispo", "fr", True),
        ("Pourquoi le module est bloqué", None, True),
        ("où est le forum", "fr", True),
        ("je ne trouve pas le lien", "fr", True),
        ("Hi! How do I get the certificate", "en", True),
        ("can I still register", "en", True),
        ("When is the next live", None, True),
        ("Je voudrais savoir si le replay existe", "fr", True),
        ("Merci pour ce super cours !", "fr", False),
        ("Great session, thanks", "en", False),
        ("Le leadership, c'est d'abord l'écoute.", None, False),
    ],
)
def test_is_question(text: str, language: str | None, expected: bool) -> None:
    assert is_question(text, language) is expected


def main() -> None:
    """Print the figures (top 1, top 3, misses) on the sample FAQ."""
    sample = FaqBook.load(SAMPLE)
    found = ranks(sample)
    top1 = sum(1 for r in found if r == 1)
    top3 = sum(1 for r in found if r is not None)
    print(f"{len(found)} held-out questions: top 1 {top1} ({top1 / len(found):.0%}), "
          f"top 3 {top3} ({top3 / len(found):.0%})")
    for (expected, question), rank in zip(HELD_OUT, found, strict=True):
        if rank != 1:
            got = [(s.faq_id, s.score) for s in sample.suggest(question)]
            print(f"  {expected:<13} rank {rank}: {question}  ->  {got}")
    autos = [m for m in OFF_TOPIC if any(s.auto for s in sample.suggest(m))]
    print(f"off-topic messages answered automatically: {len(autos)}/{len(OFF_TOPIC)}")


if __name__ == "__main__":
    main()
