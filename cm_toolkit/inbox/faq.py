"""The workspace's FAQ: suggestions for a learner's message, and answers rendered per network.

``FaqBook.load(root)`` reads ``faq.yaml`` (format: docs/inbox.md, "The FAQ"; parsing in
``faq_file``); ``suggest(text)`` ranks the entries for one message (lexical BM25 over normalised
French/English words: ``faq_text``, ``faq_index``); ``render(id, network=...)`` gives the answer
as it would be sent (``faq_answers``, through the project's template renderer).

``auto``: a suggestion may answer by itself only when its entry says ``auto: true``, its score
reaches the entry's ``threshold``, it leads the next entry by ``AUTO_MARGIN`` at least (two
entries that fit equally well are a question for a person), and no more than
``AUTO_ELSEWHERE_MAX`` of the message is made of words that only other entries know.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from cm_toolkit.errors import InboxError, WorkspaceError
from cm_toolkit.inbox.faq_answers import AnswerRenderer, WorkspaceSettings
from cm_toolkit.inbox.faq_file import FAQ_FILE, FaqEntryModel, FaqFile, Texts, read_faq_file
from cm_toolkit.inbox.faq_index import KEYWORD_WEIGHT, FaqIndex
from cm_toolkit.inbox.faq_text import (
    guess_language,
    is_question,
    reports_trouble,
    synonym_table,
    terms,
)
from cm_toolkit.templates.delivery import render_limits
from cm_toolkit.templates.failures import did_you_mean
from cm_toolkit.templates.limits import RenderLimits
from cm_toolkit.workspace.models import TemplateLimits, UtmDefaults, Workspace
from cm_toolkit.workspace.networks import known_networks
from cm_toolkit.workspace.yaml_source import read_yaml

__all__ = ["AUTO_MARGIN", "FAQ_FILE", "FaqBook", "FaqSuggestion", "guess_language", "is_question"]

AUTO_MARGIN = 0.15
"""How far (in score, 0..1) an auto answer must lead the second-best entry."""

STATEMENT_MIN_SCORE = 0.3
"""The score a message that neither asks nor reports trouble ("Merci pour ce module, très
concret !") needs for a suggestion: its topic word alone is no question to answer."""

AUTO_ELSEWHERE_MAX = 0.2
"""The most of a message (IDF-weighted share) that may point to other entries for an auto answer:
"the videos won't load" must not be answered by the workload entry because "load" is a word of
its ("charge de travail") while "videos" belongs to another entry."""


@dataclass(frozen=True)
class FaqSuggestion:
    faq_id: str
    score: float  # higher is better; between 0 and 1; comparable within one call
    title: str  # the entry's short title in the workspace language
    auto: bool  # the entry may answer by itself at this score


def _text_in(texts: Texts, language: str) -> str:
    if isinstance(texts, str):
        return texts
    return texts.get(language) or next(iter(texts.values()), "")


class FaqBook:
    """The FAQ of one workspace. An empty book (no faq.yaml) suggests nothing."""

    def __init__(
        self,
        root: Path,
        faq: FaqFile | None,
        settings: WorkspaceSettings,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.root = root
        self.settings = settings
        self._now = clock or (lambda: datetime.now(UTC))
        self._entries: list[FaqEntryModel] = list(faq.model.entries) if faq else []
        self._by_id = {entry.id: entry for entry in self._entries}
        self.ids: tuple[str, ...] = tuple(self._by_id)
        groups = faq.model.synonyms if faq else []
        self._synonyms = synonym_table(groups)
        self._index = FaqIndex([self._document(entry) for entry in self._entries])
        self._answers = AnswerRenderer(root, faq, settings) if faq else None

    @classmethod
    def load(
        cls,
        workspace_root: Path,
        *,
        workspace: Workspace | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> FaqBook:
        """The FAQ of the workspace at ``workspace_root``. No faq.yaml: an empty book.
        Problems in the file: ``WorkspaceError`` (each at faq.yaml:line).

        ``workspace`` (already loaded) gives the language, time zone and variables; otherwise
        they are read from schedules.yaml leniently (an error there is cm check's to report, not
        a reason to refuse the FAQ). ``clock`` gives the instant answers are rendered at.
        """
        root = Path(workspace_root)
        settings = settings_of(workspace) if workspace is not None else read_settings(root)
        faq, problems = read_faq_file(root, settings.allowed_paths)
        if problems:
            raise WorkspaceError(problems)
        return cls(root, faq, settings, clock)

    # -- suggestions --------------------------------------------------------------------------

    def _document(self, entry: FaqEntryModel) -> Counter[str]:
        counts: Counter[str] = Counter()
        questions = entry.questions
        phrasings = (
            [q for group in questions.values() for q in group]
            if isinstance(questions, dict) else list(questions)
        )
        for text in phrasings:
            counts.update(terms(text, self._synonyms))
        titles = entry.title.values() if isinstance(entry.title, dict) else [entry.title]
        for text in titles:
            counts.update(terms(text, self._synonyms))
        for keyword in entry.keywords:
            for term in terms(keyword, self._synonyms):
                counts[term] += KEYWORD_WEIGHT
        return counts

    def title(self, faq_id: str, language: str | None = None) -> str:
        entry = self._entry(faq_id)
        return _text_in(entry.title, language or self.settings.language)

    def suggest(
        self, text: str, *, language: str | None = None, limit: int = 3
    ) -> list[FaqSuggestion]:
        """The entries that best answer ``text``, best first (at most ``limit``; no weak match:
        ``faq_index``, and ``STATEMENT_MIN_SCORE`` for a message that does not ask). ``language`` is the message's, when known; matching uses both languages
        anyway (learners mix them), so it only matters to no one yet: kept for callers."""
        found = terms(text, self._synonyms)
        scores = self._index.score(found)  # weak matches are already left out
        if scores and not is_question(text, language) and not reports_trouble(text):
            scores = {i: s for i, s in scores.items() if s >= STATEMENT_MIN_SCORE}
        # The best ones only (and the runner-up, for auto): no full sort of a large FAQ.
        ranked = heapq.nsmallest(
            max(limit, 2), scores.items(), key=lambda item: (-item[1], item[0])
        )
        suggestions = []
        for rank, (index, score) in enumerate(ranked[: max(limit, 0)]):
            entry = self._entries[index]
            runner_up = ranked[1][1] if len(ranked) > 1 and rank == 0 else None
            auto = (
                rank == 0
                and entry.auto
                and score >= entry.threshold
                and (runner_up is None or score - runner_up >= AUTO_MARGIN)
                and self._index.elsewhere(found, index) <= AUTO_ELSEWHERE_MAX
            )
            suggestions.append(
                FaqSuggestion(entry.id, round(score, 4), self.title(entry.id), bool(auto))
            )
        return suggestions

    # -- answers ------------------------------------------------------------------------------

    def _entry(self, faq_id: str) -> FaqEntryModel:
        entry = self._by_id.get(faq_id)
        if entry is None:
            hint = did_you_mean(faq_id, self.ids) if self.ids else ""
            raise InboxError(
                f"no FAQ entry {faq_id!r}" + ("" if self.ids else f" ({FAQ_FILE} has none)"),
                fix=hint or f"add it to {FAQ_FILE} (docs/inbox.md, 'The FAQ')",
            )
        return entry

    def render(self, faq_id: str, *, network: str, language: str | None = None) -> str:
        """The answer to ``faq_id`` as sent on ``network`` (its variant when there is one), in
        ``language`` when the entry has it (else the workspace's). Unknown id or network:
        ``InboxError`` with "did you mean"; template failures: ``TemplateError`` at file:line."""
        entry = self._entry(faq_id)
        if network not in known_networks():
            raise InboxError(
                f"unknown network {network!r}",
                fix=did_you_mean(network, known_networks()),
            )
        target = network
        assert self._answers is not None  # an entry exists, so the file did
        return self._answers.render(entry, target, language, self._now())

    def answer_line(self, faq_id: str, network: str, language: str) -> int:
        """The faq.yaml line of the answer sent on ``network`` in ``language`` (for problems)."""
        entry = self._entry(faq_id)
        assert self._answers is not None
        return self._answers.answer_line(entry, network, language)

    def languages(self, faq_id: str) -> list[str]:
        """The languages ``faq_id`` answers in ("" for one text used for every language)."""
        entry = self._entry(faq_id)
        assert self._answers is not None
        return self._answers.languages(entry)


# ---------------------------------------------------------------------------------------------
# The workspace's settings an answer needs


def settings_of(workspace: Workspace) -> WorkspaceSettings:
    schedules = workspace.schedules
    return WorkspaceSettings(
        language=schedules.defaults.language,
        timezone=ZoneInfo(schedules.timezone),
        variables=dict(schedules.variables),
        utm=schedules.defaults.utm,
        allowed_paths=tuple(schedules.allowed_paths),
        limits=render_limits(workspace),
    )


def read_settings(root: Path) -> WorkspaceSettings:
    """Language, time zone, variables and UTM from schedules.yaml; defaults for what is missing
    or wrong there (cm check reports those)."""
    document, _ = read_yaml(root / "schedules.yaml", "schedules.yaml")
    data: Any = document.data if document is not None else None
    if not isinstance(data, dict):
        return WorkspaceSettings()
    defaults: dict[str, Any] = data["defaults"] if isinstance(data.get("defaults"), dict) else {}
    language = defaults.get("language")
    try:
        zone = ZoneInfo(str(data.get("timezone") or "UTC"))
    except (ValueError, KeyError, OSError):
        zone = ZoneInfo("UTC")
    try:
        utm = UtmDefaults.model_validate(defaults.get("utm") or {})
    except ValidationError:
        utm = UtmDefaults()
    variables = data.get("variables")
    allowed = data.get("allowed_paths")
    try:
        limits = TemplateLimits.model_validate(data.get("template_limits") or {})
    except ValidationError:
        limits = TemplateLimits()
    return WorkspaceSettings(
        language=language if isinstance(language, str) and language else "en",
        timezone=zone,
        variables=dict(variables) if isinstance(variables, dict) else {},
        utm=utm,
        allowed_paths=tuple(p for p in allowed if isinstance(p, str))
        if isinstance(allowed, list) else (),
        limits=RenderLimits(seconds=limits.seconds, characters=limits.characters),
    )
