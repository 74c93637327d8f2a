"""Rendering an FAQ answer for one network and language, through the project's renderer.

Answers are rendered by ``TemplateRenderer.render_for`` like any post (same sandbox, filters,
bounds and error messages), with the workspace's variables. An answer written in ``faq.yaml``
(not a file) is handed to that renderer as an in-memory template named ``<faq>/ID/LANG`` (its
per-network variants as ``<faq>/ID/LANG.NETWORK``, the file-naming convention of templates/), and
a failure inside it is placed back at its line in faq.yaml. An answer given as ``template: NAME``
renders ``templates/NAME.LANG.j2`` when it exists (``faq-certificat.en.j2``), else
``templates/NAME.j2``, each with its per-network variants.

Language: the one asked for if the entry has it, else the workspace's, else the first the entry
has.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import BaseLoader, ChoiceLoader, TemplateNotFound

from cm_toolkit.errors import Problem, TemplateError
from cm_toolkit.inbox.faq_file import FAQ_FILE, AnswerSource, FaqEntryModel, FaqFile
from cm_toolkit.templates.context import CampaignInfo, ChannelInfo, PostInfo, RenderContext
from cm_toolkit.templates.environment import template_file_name
from cm_toolkit.templates.failures import RenderLimitError
from cm_toolkit.templates.limits import RenderLimits
from cm_toolkit.templates.render import TemplateRenderer
from cm_toolkit.workspace.models import Network, UtmDefaults
from cm_toolkit.workspace.paths import OutsideWorkspace

INLINE_PREFIX = "<faq>/"


@dataclass(frozen=True)
class WorkspaceSettings:
    """What an answer needs from schedules.yaml: language, time zone, variables, UTM, and the
    bounds posts have (``allowed_paths``, ``template_limits``)."""

    language: str = "en"
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    variables: dict[str, Any] = field(default_factory=dict)
    utm: UtmDefaults = field(default_factory=UtmDefaults)
    allowed_paths: tuple[str, ...] = ()
    limits: RenderLimits = field(default_factory=RenderLimits)


class InlineAnswers(BaseLoader):
    """In-memory templates whose file is faq.yaml.

    A template needs a real file for the renderer (it reads the file's front-matter options,
    which faq.yaml has none of), and that file is where the text was written."""

    def __init__(self, file: Path) -> None:
        self.file = str(file)
        self.sources: dict[str, str] = {}

    def get_source(self, environment: Any, template: str) -> tuple[str, str, Callable[[], bool]]:
        if template not in self.sources:
            raise TemplateNotFound(template)
        return self.sources[template], self.file, lambda: True


class AnswerRenderer:
    """Renders the answers of one FAQ file in one workspace."""

    def __init__(self, root: Path, faq: FaqFile, settings: WorkspaceSettings) -> None:
        self.root = root
        self.faq = faq
        self.settings = settings
        self.renderer = TemplateRenderer(root, settings.language, settings.timezone, settings.utm,
                                         settings.limits, settings.allowed_paths)
        self.faq_path = root / FAQ_FILE
        self._inline = InlineAnswers(self.faq_path)
        self._where: dict[str, AnswerSource] = {}
        # Checked before the workspace's templates/ (the names cannot clash: "<" is not a
        # character of a template file name the workspace could hold).
        loader = self.renderer.env.loader
        assert loader is not None
        self.renderer.env.loader = ChoiceLoader([self._inline, loader])
        for (entry_id, network, language), source in faq.answers.items():
            name = f"{INLINE_PREFIX}{entry_id}/{language or 'all'}"
            file_name = template_file_name(name, network or None)
            self._inline.sources[file_name] = source.text
            self._where[file_name] = source

    def languages(self, entry: FaqEntryModel) -> list[str]:
        """The languages an entry answers in ("" when its answer is one text for all)."""
        if entry.template is not None:
            found = [""]
            for name in self.renderer.available():
                base, dot, language = name.rpartition(".")
                if dot and base == entry.template:
                    found.append(language)
            return found
        return sorted({key[2] for key in self.faq.answers if key[0] == entry.id})

    def _language(self, entry: FaqEntryModel, wanted: str | None) -> str:
        available = self.languages(entry)
        for candidate in (wanted, self.settings.language):
            if candidate and candidate in available:
                return candidate
        return "" if "" in available else available[0]

    def render(
        self, entry: FaqEntryModel, network: Network, language: str | None, at: datetime
    ) -> str:
        """The answer's text for ``network``. Raises ``TemplateError`` at file:line."""
        chosen = self._language(entry, language)
        variables = {**self.settings.variables, **entry.variables}
        variables.setdefault("language", chosen or language or self.settings.language)
        context = RenderContext(
            campaign=CampaignInfo(id="faq", name="FAQ"),
            post=PostInfo(id=entry.id),
            channel=ChannelInfo(id=network, network=network),
            at=at,
            variables=variables,
        )
        if entry.template is not None:
            name = f"{entry.template}.{chosen}" if chosen else entry.template
            return self.renderer.render_for(network, name, context).text
        name = f"{INLINE_PREFIX}{entry.id}/{chosen or 'all'}"
        try:
            return self.renderer.render_for(network, name, context).text
        except TemplateError as exc:
            raise self._placed(exc, name, network) from None

    def answer_line(self, entry: FaqEntryModel, network: Network, language: str) -> int:
        """The faq.yaml line of the text used for ``network`` in ``language`` (the entry's line
        for an answer in a template file)."""
        name = f"{INLINE_PREFIX}{entry.id}/{language or 'all'}"
        for file_name in (template_file_name(name, network), template_file_name(name)):
            if file_name in self._where:
                return self._where[file_name].line
        return self.faq.lines.get(entry.id, 1)

    def _placed(self, exc: TemplateError, name: str, network: Network) -> TemplateError:
        """A failure in an in-memory answer, moved to its line in faq.yaml."""
        problem = exc.problem
        # an {% include '/etc/passwd' %} of the answer itself: the loader named the file it
        # refused; the line to fix is the answer's
        cause = exc.__cause__ or exc.__context__
        unplaced = isinstance(cause, OutsideWorkspace) and cause.problem is problem
        if problem.file != FAQ_FILE and not problem.file.startswith("templates/" + INLINE_PREFIX) \
                and not unplaced:
            return exc  # in a real file (an included partial ...): already placed
        variant = template_file_name(name, network)
        source = self._where.get(variant) or self._where.get(template_file_name(name))
        if source is None:
            return exc
        # A syntax error knows its line; a failure while rendering is placed by the renderer
        # only in .j2 files, so its line is read here from the original traceback.
        inner = problem.line if problem.file == FAQ_FILE else self._failed_line(exc)
        line = source.line + (inner or 1) - 1
        placed = type(exc)(
            Problem(FAQ_FILE, line, None, problem.message, problem.fix, problem.severity)
        )
        if isinstance(exc, RenderLimitError):  # a time-out stays one: cm check says it once
            placed.timed_out = exc.timed_out  # type: ignore[attr-defined]
        return placed

    def _failed_line(self, exc: BaseException) -> int | None:
        cause = exc.__cause__ or exc.__context__
        tb: TracebackType | None = cause.__traceback__ if cause is not None else None
        found = None
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == str(self.faq_path):
                found = tb.tb_lineno
            tb = tb.tb_next
        return found
