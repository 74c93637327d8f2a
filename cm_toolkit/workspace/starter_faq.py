"""The ``faq.yaml`` that ``cm init`` writes: two example entries for the inbox's suggestions.

Nothing in it is sent by itself: both entries say ``auto: false``. The inbox's default
(``inbox.auto_answers: true``) lets ``cm run`` send any entry marked ``auto: true``; a starter
whose answers nobody has read yet must not speak to the community on its own, so the person
turns ``auto`` on, entry by entry, once an answer is right for everyone who asks.

The answers use the starter's ``schedules.yaml`` variables (``project``, ``site_url``) and stay
short enough for an X reply (263 characters), so ``cm check`` passes on every network.
"""

from __future__ import annotations

HEADER = """\
# The inbox's FAQ, made by `cm init`: answers written once (docs/inbox.md, "The FAQ").
# Each message `cm inbox sync` reads gets the entries that fit it as suggestions (`cm inbox`,
# the dashboard); `cm inbox reply MESSAGE --faq ID` sends one, rendered for the network.
#
# Nothing here is sent by itself: each entry says `auto: false`. When an answer is right for
# everyone who asks, `auto: true` lets `cm run` send it alone, once per message and only on a
# clear match (score at least `threshold`, 0.6 by default). `inbox: {auto_answers: false}` in
# schedules.yaml stops every automatic answer. `cm check` checks this file.
version: 1

# Words that mean the same for matching (any language, any form).
"""

ENTRIES: dict[str, str] = {
    "en": """\
synonyms:
  - [signup, register, enrol, enroll, join, subscribe]
  - [contact, reach, talk, help]

entries:
  - id: sign-up
    title: {en: "Signing up"}
    questions:        # how people ask it: used for matching, never sent
      en:
        - "How do I sign up?"
        - "Where can I register?"
        - "How do I join?"
    keywords: [signup, register, join]
    answer:           # Jinja2 with schedules.yaml's variables; X replies: 263 characters
      en: "Hi! Everything about {{ project }} starts here: {{ site_url }}"
    auto: false

  - id: contact
    title: {en: "Reaching the team"}
    questions:
      en:
        - "Who can I talk to about my account?"
        - "How do I contact the team?"
        - "I have a problem, can someone help me?"
    keywords: [contact, help, problem, account]
    answer:
      en: "Thanks for your message! Someone from the {{ project }} team will answer you here soon."
    auto: false
""",
    "fr": """\
synonyms:
  - [inscription, inscrire, rejoindre, abonner]
  - [contact, contacter, joindre, aide, aider]

entries:
  - id: inscription
    title: {fr: "Inscription"}
    questions:        # how people ask it: used for matching, never sent
      fr:
        - "Comment s'inscrire ?"
        - "Où puis-je m'inscrire ?"
        - "Comment rejoindre le groupe ?"
    keywords: [inscription, inscrire, rejoindre]
    answer:           # Jinja2 with schedules.yaml's variables; X replies: 263 characters
      fr: "Bonjour ! Tout sur {{ project }} commence ici : {{ site_url }}"
    auto: false

  - id: contact
    title: {fr: "Contacter l'équipe"}
    questions:
      fr:
        - "Qui contacter pour mon compte ?"
        - "Comment joindre l'équipe ?"
        - "J'ai un problème, quelqu'un peut m'aider ?"
    keywords: [contact, aide, problème, compte]
    answer:
      fr: "Merci pour votre message ! Une personne de l'équipe {{ project }} vous répond ici très vite."
    auto: false
""",
}


def starter_faq(language: str) -> str:
    """The starter's ``faq.yaml`` in ``language`` (English for a language without texts, as the
    starter's templates)."""
    return HEADER + ENTRIES.get(language, ENTRIES["en"])
