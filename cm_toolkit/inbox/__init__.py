"""The inbox: what the community says on every network, and our answers (docs/inbox.md).

``sync`` reads each channel's conversations into the ledger (``ledger/inbox.py``), ``replies``
sends answers exactly like posts (claimed once, sent once, ``unknown`` after a crash), ``faq``
(the FAQ book) suggests and renders answers, ``autorun`` is ``cm run``'s part.

``Faq`` is the part of the FAQ book the engine uses (``inbox/faq.py``'s ``FaqBook``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol


class FaqSuggestionLike(Protocol):
    @property
    def faq_id(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def title(self) -> str: ...
    @property
    def auto(self) -> bool: ...


class Faq(Protocol):
    def suggest(self, text: str, *, language: str | None = None,
                limit: int = 3) -> Sequence[FaqSuggestionLike]: ...

    def render(self, faq_id: str, *, network: str, language: str | None = None) -> str: ...


def load_faq(workspace_root: Path) -> Faq:
    """The workspace's FAQ book (``inbox/faq.py``; no ``faq.yaml``: an empty book)."""
    from cm_toolkit.inbox.faq import FaqBook

    return FaqBook.load(workspace_root)
