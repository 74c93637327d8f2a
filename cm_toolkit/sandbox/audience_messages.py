"""What the simulated learners write: the sandbox audience's message bank (data only).

Each ``Said`` is one way a learner puts something, tagged with its topic (the sample FAQ's ids:
``certificat``, ``inscription``, ``live-lien``, ``acces-module``, ``duree``, ``langue``,
``forum``; else ``merci``, ``critique``, ``hors-sujet``, ``avis``), its language and whether it
asks something. Phrasings vary on purpose (word order, plurals, accents or none, typos, English
and French, familiar and formal) so that matching them to an FAQ is not a keyword lookup. Tests
of the FAQ must not use this bank as their unseen questions.

``LIVE_CHAT`` holds the short lines of a live session's chat (greetings, "can you hear us",
questions to the teacher), written while a session is on air.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Said:
    topic: str
    language: str  # "fr" or "en"
    text: str
    question: bool = True


def _many(topic: str, language: str, *texts: str, question: bool = True) -> list[Said]:
    return [Said(topic, language, text, question) for text in texts]


LEARNERS = [
    "Awa Diallo", "Julien Moreau", "Fatima Benali", "Marc Tremblay", "Sofia Rossi",
    "Koffi Mensah", "Claire Dubois", "Nguyen Thi Lan", "Pedro Alves", "Amina Traoré",
    "Emily Carter", "Youssef El Amrani", "Chloé Martin", "Ibrahima Sow", "Hannah Schmidt",
    "Lucas Petit", "Mariam Kone", "David Okafor", "Léa Girard", "Rahul Mehta",
]

MESSAGES: list[Said] = [
    *_many(
        "certificat", "fr",
        "Comment obtient-on l'attestation de suivi ?",
        "Est-ce qu'il y a un certificat à la fin du MOOC ?",
        "bonjour, le certificat est il payant ou gratuit ??",
        "Je ne trouve pas mon attestation de réussite, où est-elle téléchargeable ?",
        "Quelle note faut-il avoir aux quiz pour être certifié ?",
        "Mon employeur demande une preuve de formation : vous délivrez un document officiel ?",
        "Les attestations seront envoyées par mail ou il faut les récupérer soi-même ?",
    ),
    *_many(
        "certificat", "en",
        "How do I get the certificate once I finish?",
        "Is there a certificate of completion for this course?",
        "Will my statement of accomplishment mention the number of hours?",
        "what score do we need on the quizzes to be certified",
        "I passed everything but I can't see my certificate anywhere :(",
    ),
    *_many(
        "inscription", "fr",
        "Peut-on rejoindre le cours en cours de route ?",
        "Il est encore temps de s'inscrire ? Je viens de découvrir le MOOC",
        "C'est gratuit ou il faut payer quelque chose ?",
        "Jusqu'à quand peut-on s'inscrire à la session ?",
        "Comment je m'inscris, le lien de la page ne marche pas chez moi",
        "Inscription possible pour toute une équipe de managers ?",
        "ya une date limite pour rendre les devoirs ?",
    ),
    *_many(
        "inscription", "en",
        "Is it too late to enroll? I just heard about the course.",
        "Is this MOOC free or is there a fee?",
        "When is the registration deadline?",
        "Can I still sign up and catch up on the first weeks?",
        "How do I register my whole team?",
    ),
    *_many(
        "live-lien", "fr",
        "Est-ce que le replay du live sera disponible ?",
        "À quelle heure commence le direct (heure de Dakar) ?",
        "Où est le lien pour le live de ce soir ?",
        "J'ai raté la session en direct, on peut la revoir quelque part ?",
        "Le lien de la visio ne s'affiche pas, vous pouvez le repartager ?",
        "C'est sur YouTube ou sur Meet le direct de jeudi ?",
        "il sera enregistré le live ? je travaille à cette heure là",
    ),
    *_many(
        "live-lien", "en",
        "Where can I find the link to tonight's live session?",
        "Will the live Q&A be recorded? I can't attend.",
        "Is there a replay of yesterday's livestream?",
        "What time is the live in Montreal time?",
        "Which platform is the live on, YouTube or Meet?",
    ),
    *_many(
        "acces-module", "fr",
        "Je n'arrive pas à ouvrir le module 3, la page reste blanche",
        "La vidéo de la semaine 2 ne se lance pas sur mon téléphone",
        "Où trouve-t-on les ressources du module 3 ?",
        "Le module 4 est verrouillé, c'est normal ?",
        "impossible de lire les videos depuis le bureau, un pare-feu peut-être ?",
        "Le PDF du cours ne se télécharge pas",
    ),
    *_many(
        "acces-module", "en",
        "I can't open module 3, it keeps loading forever.",
        "The week 2 video won't play on my phone.",
        "Module 4 is still locked for me, is that normal?",
        "Where are the slides for module 3? The download link is broken.",
        "Videos don't load from my office network, any workaround?",
    ),
    *_many(
        "duree", "fr",
        "Combien d'heures par semaine faut-il prévoir ?",
        "C'est faisable en travaillant à plein temps ?",
        "Le quiz de la semaine 2 est-il noté ?",
        "On peut avancer à son rythme ou il faut suivre le calendrier ?",
        "Ça prend combien de temps en tout, le cours ?",
        "Je suis en retard de deux semaines, je peux encore finir ?",
    ),
    *_many(
        "duree", "en",
        "How many hours a week does this take?",
        "Can I do it at my own pace or are there fixed dates?",
        "Is it doable with a full-time job?",
        "How long is the whole course?",
        "I'm two weeks behind, can I still catch up?",
    ),
    *_many(
        "langue", "fr",
        "Y a-t-il des sous-titres sur les vidéos ?",
        "Le cours existe en anglais ? Mes collègues ne parlent pas français",
        "Les transcriptions des vidéos sont disponibles ?",
        "Sous titres en arabe possibles ?",
        "On peut rendre les devoirs en anglais ?",
    ),
    *_many(
        "langue", "en",
        "Are there English subtitles on the videos?",
        "Is the course available in English or only in French?",
        "Do the videos have transcripts?",
        "Can I submit assignments in English?",
        "any chance of Spanish captions?",
    ),
    *_many(
        "forum", "fr",
        "Où peut-on discuter avec les autres participants ?",
        "Il y a un forum ou un groupe pour échanger entre apprenants ?",
        "Comment poser une question à l'équipe pédagogique ?",
        "Le groupe LinkedIn du cours, c'est où ?",
        "On peut partager nos retours d'expérience quelque part ?",
    ),
    *_many(
        "forum", "en",
        "Where can we discuss with other learners?",
        "Is there a forum or a group for participants?",
        "How do I ask the teaching team a question?",
        "Is there a LinkedIn group for the course?",
    ),
    *_many(
        "merci", "fr",
        "Merci pour ce module, très concret !",
        "Super échange hier soir, merci à l'équipe.",
        "Je partage avec mon équipe, merci !",
        "Bravo pour la qualité des vidéos 👏",
        "Très bonne question sur le leadership à distance.",
        "Enfin un MOOC de management qui parle du terrain, merci",
        question=False,
    ),
    *_many(
        "merci", "en",
        "Thanks, this module was really practical!",
        "Great session yesterday, thank you all.",
        "Sharing this with my team, thanks!",
        "Loved the case study on remote teams 👍",
        question=False,
    ),
    *_many(
        "critique", "fr",
        "Le module 2 était trop théorique à mon goût.",
        "Les vidéos sont trop longues, des formats de 5 minutes seraient mieux.",
        "Le son de la dernière vidéo était vraiment mauvais.",
        "Pas d'accord avec l'idée que le manager doit tout contrôler, c'est dépassé.",
        "Dommage que le quiz ne corrige pas les réponses fausses.",
        question=False,
    ),
    *_many(
        "critique", "en",
        "Module 2 felt too theoretical to me.",
        "The audio on the last video was really poor.",
        "I disagree with the slide on micromanagement, it oversimplifies.",
        "Quizzes should explain the wrong answers.",
        question=False,
    ),
    *_many(
        "avis", "fr",
        "Dans mon équipe on fait un point de 10 minutes chaque matin, ça change tout.",
        "Quelqu'un a testé les rituels du module 3 avec une équipe hybride ?",
        "Le télétravail demande surtout de la confiance, non ?",
        question=False,
    ),
    *_many(
        "avis", "en",
        "We tried the weekly one-to-ones from module 3, it works.",
        "Has anyone applied the feedback model with a remote team?",
        question=False,
    ),
    *_many(
        "hors-sujet", "fr",
        "Quelqu'un connaît une bonne formation Excel ?",
        "Vous recrutez des stagiaires ?",
        "Première ! 😄",
        question=False,
    ),
    *_many(
        "hors-sujet", "en",
        "Anyone here from Lagos? Let's connect.",
        "Check out my profile for coaching offers!",
        question=False,
    ),
]

LIVE_CHAT: list[Said] = [
    *_many("salut", "fr", "Bonsoir à tous !", "Bonjour de Dakar 👋", "Présente depuis Montréal",
           "On vous entend bien ✅", question=False),
    *_many("salut", "en", "Hello from Nairobi!", "Hi everyone 👋", "Sound is good here",
           question=False),
    *_many("live-lien", "fr", "Le replay sera dispo quand ?", "Vous mettrez les slides en ligne ?",
           "Il y aura un enregistrement ?"),
    *_many("live-lien", "en", "Will this be recorded?", "Can you share the slides after?"),
    *_many("question", "fr",
           "Comment gérer un collaborateur qui ne répond jamais aux messages ?",
           "Vous conseillez quelle fréquence pour les one-to-one ?",
           "Et quand l'équipe est sur trois fuseaux horaires ?",
           "Question : comment donner un feedback négatif à distance ?"),
    *_many("question", "en",
           "How do you handle someone who never answers messages?",
           "How often should we run one-to-ones?",
           "Any tips for teams across three time zones?"),
    *_many("certificat", "fr", "La présence au live compte pour l'attestation ?"),
    *_many("certificat", "en", "Does attending the live count for the certificate?"),
    *_many("merci", "fr", "Merci, très clair !", "Super exemple 👏", "Merci à l'équipe 🙏",
           question=False),
    *_many("merci", "en", "Thanks, very clear!", "Great example 👏", question=False),
]
