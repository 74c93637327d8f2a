"""The Inbox page's words in the workspace language (``defaults.language``): French or English.

A language the table does not have falls back to English. Keys are the template's names.
"""

from __future__ import annotations

from datetime import timedelta

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "nav": "Inbox", "title": "Inbox", "thread": "Conversation",
        "intro": "Messages to handle (new and open), newest first, grouped by conversation.",
        "network": "Network", "channel": "Channel", "state": "State", "any": "all",
        "actionable": "to handle", "filter": "Filter",
        "suggestions": "FAQ suggestions",
        "no_suggestion": "No FAQ suggestion.", "open_thread": "Open the conversation",
        "empty": "Nothing to handle.", "older": "Older messages", "newest": "Newest",
        "answers_post": "In answer to our post", "post_unknown": "The post is not in the ledger.",
        "replies": "Our replies", "reply": "Reply", "reply_text": "Your reply",
        "send": "Send the reply", "use_faq": "Send this answer", "assign": "Assign",
        "assign_to": "Assign to", "close": "Close", "ignore": "Ignore", "reopen": "Reopen",
        "actions": "Actions", "read_only": "Read only: start the dashboard with "
        "--allow-replies (and a token) to answer from here.",
        "purged": "(removed by retention)", "back": "Back to the inbox",
        "done_reply": "Reply sent.", "done_state": "Done.",
        "done_reply_not_sent": "The reply did not go out: its state and the reason are below "
        "(retry_wait: cm run sends it again; unknown: check the network, then cm review).",
        "state_new": "new", "state_open": "open", "state_answered": "answered",
        "state_closed": "closed", "state_ignored": "ignored", "question": "question",
        "footer": "times in", "on_network": "See it on", "whole_thread": "The conversation",
        "open_message": "Open this message", "metrics": "Interactivity",
        "metrics_note": "Computed in the background at most once a minute; last at",
        "metrics_pending": "Computing the metrics (every message is read): this page reloads "
        "itself in a few seconds.",
    },
    "fr": {
        "nav": "Messages", "title": "Messages", "thread": "Conversation",
        "intro": "Messages à traiter (nouveaux et ouverts), du plus récent au plus ancien, "
        "groupés par conversation.",
        "network": "Réseau", "channel": "Canal", "state": "État", "any": "tous",
        "actionable": "à traiter", "filter": "Filtrer",
        "suggestions": "Suggestions de la FAQ",
        "no_suggestion": "Aucune suggestion de la FAQ.", "open_thread": "Ouvrir la conversation",
        "empty": "Rien à traiter.", "older": "Messages plus anciens", "newest": "Les plus récents",
        "answers_post": "En réponse à notre publication",
        "post_unknown": "La publication n'est pas dans le registre.",
        "replies": "Nos réponses", "reply": "Répondre", "reply_text": "Votre réponse",
        "send": "Envoyer la réponse", "use_faq": "Envoyer cette réponse", "assign": "Assigner",
        "assign_to": "Assigner à", "close": "Clore", "ignore": "Ignorer", "reopen": "Rouvrir",
        "actions": "Actions", "read_only": "Lecture seule : lancez le tableau de bord avec "
        "--allow-replies (et un jeton) pour répondre d'ici.",
        "purged": "(supprimé par la rétention)", "back": "Retour aux messages",
        "done_reply": "Réponse envoyée.", "done_state": "C'est fait.",
        "done_reply_not_sent": "La réponse n'est pas partie : son état et la raison sont "
        "ci-dessous (retry_wait : cm run la renverra ; unknown : vérifiez sur le réseau, puis "
        "cm review).",
        "state_new": "nouveau", "state_open": "ouvert", "state_answered": "répondu",
        "state_closed": "clos", "state_ignored": "ignoré", "question": "question",
        "footer": "heures en", "on_network": "Voir sur", "whole_thread": "La conversation",
        "open_message": "Ouvrir ce message", "metrics": "Interactivité",
        "metrics_note": "Calculé en arrière-plan au plus une fois par minute ; dernier calcul à",
        "metrics_pending": "Calcul des indicateurs en cours (tous les messages sont lus) : "
        "cette page se recharge d'elle-même dans quelques secondes.",
    },
}


def language_code(language: str | None) -> str:
    """``fr`` for ``fr``, ``fr_FR``, ``fr-CA``...; ``en`` for anything the table lacks."""
    base = (language or "en").replace("-", "_").split("_", 1)[0].lower()
    return base if base in LABELS else "en"


def labels_for(language: str | None) -> dict[str, str]:
    return LABELS[language_code(language)]


def age(elapsed: timedelta, language: str | None) -> str:
    """How long ago, short: ``5 min``, ``3 h``, ``2 d`` (``j`` in French)."""
    seconds = max(0, int(elapsed.total_seconds()))
    french = language_code(language) == "fr"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} {'j' if french else 'd'}"
