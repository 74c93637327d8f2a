"""Rendering a whole plan: the same ``TemplateRenderer``, with what does not change cached.

A plan of 100,000 deliveries renders a few dozen (template, network) pairs thousands of times.
``TemplateRenderer`` asks the file system each time (Jinja's auto-reload check, the front
matter's mtime, the resolved display path); during one check the files do not change, so
``PlanRenderer`` remembers per (network, template) which file is used, and per file its options
and display path. The rendering itself is ``TemplateRenderer.render_for``, unchanged.

``occurrence_contexts`` builds the context of a (post, channel) once and derives each
occurrence's (its instant and number) from it.

``PlanRenderer.varies(network, template)`` says whether a template's output can differ between
two occurrences of one post on one channel. Only these differ between occurrences: ``at`` and
``now`` (the instant), ``post.occurrence``, and what reads them (the ``countdown`` filter); and
``random``/``lipsum`` give a new text each time. A template that names none of them, in its own
file, its front matter, and every file it extends, includes or imports (by a literal name),
renders the same text for every occurrence: the plan check then renders it once per (post,
channel) and checks that text for each occurrence. Anything it cannot see through (a template
name computed at run time, ``post`` used other than ``post.id``/``link``/``media``/``thread``)
counts as varying.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from jinja2 import Template, nodes

from cm_toolkit.errors import TemplateError
from cm_toolkit.planning.models import PlannedDelivery
from cm_toolkit.templates.context import PostInfo, RenderContext, SessionLinks
from cm_toolkit.templates.delivery import context_for, render_limits
from cm_toolkit.templates.failures import RenderLimitError
from cm_toolkit.templates.front_matter import TemplateOptions
from cm_toolkit.templates.render import RenderedContent, TemplateRenderer
from cm_toolkit.workspace.models import Network, Workspace


class PlanRenderer(TemplateRenderer):
    """A ``TemplateRenderer`` for files that do not change while it lives."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.env.auto_reload = False  # no stat() of every template file on every render
        self._selected: dict[tuple[Network, str], tuple[Template, Template | None]] = {}
        self._failed: dict[tuple[Network, str], TemplateError] = {}
        self._options: dict[str, TemplateOptions] = {}
        self._displayed: dict[str | None, str] = {}
        self._varies: dict[str, bool] = {}
        self._pair_varies: dict[tuple[Network, str], bool] = {}
        self._option_lines: dict[tuple[Network, str, str], int | None] = {}
        self._too_slow: dict[tuple[Network, str], TemplateError] = {}

    @classmethod
    def for_workspace(cls, workspace: Workspace) -> PlanRenderer:
        defaults = workspace.schedules.defaults
        return cls(workspace.root, defaults.language, workspace.schedules.timezone, defaults.utm,
                   render_limits(workspace), tuple(workspace.schedules.allowed_paths))

    def select(self, network: Network, template: str) -> tuple[Template, Template | None]:
        key = (network, template)
        if key in self._failed:
            raise self._failed[key]
        if key not in self._selected:
            try:
                self._selected[key] = super().select(network, template)
            except TemplateError as error:
                self._failed[key] = error
                raise
        return self._selected[key]

    def render_for(self, network: Network, template: str, context: RenderContext
                   ) -> RenderedContent:
        # A template that ran out of time once is not run again for each of the plan's
        # occurrences: 2 s x 10,000 deliveries would be the hang the limit is there to stop.
        key = (network, template)
        if key in self._too_slow:
            raise self._too_slow[key]
        try:
            return super().render_for(network, template, context)
        except RenderLimitError as error:
            if error.timed_out:
                self._too_slow[key] = error
            raise

    def option_line(self, network: Network, template: str, key: str) -> int | None:
        # asked for every (post, channel) of the plan: a few distinct answers
        asked = (network, template, key)
        if asked not in self._option_lines:
            self._option_lines[asked] = super().option_line(network, template, key)
        return self._option_lines[asked]

    def options_of(self, template: Template) -> TemplateOptions:
        name = template.filename or ""
        if name not in self._options:
            self._options[name] = super().options_of(template)
        return self._options[name]

    def _display(self, filename: str | None) -> str:
        if filename not in self._displayed:
            self._displayed[filename] = super()._display(filename)
        return self._displayed[filename]

    def varies(self, network: Network, template: str) -> bool:
        """True when ``template`` on ``network`` may render differently per occurrence
        (answered once per pair: a plan of explicit posts asks once per post)."""
        key = (network, template)
        if key not in self._pair_varies:
            self._pair_varies[key] = self._varies_uncached(network, template)
        return self._pair_varies[key]

    def _varies_uncached(self, network: Network, template: str) -> bool:
        try:
            chosen, default = self.select(network, template)
        except TemplateError:
            return True
        sources = [t for t in (chosen, default) if t is not None]
        if any(self._file_varies(t.name or "") for t in sources):
            return True
        for source in sources:
            try:
                values = self.options_of(source).values.values()
            except TemplateError:
                return False  # the front matter is wrong: rendering reports it, once
            for value in values:
                texts = value if isinstance(value, list) else [value]
                for text in texts:
                    try:
                        tree = self.env.parse(text) if isinstance(text, str) else None
                    except Exception:  # noqa: BLE001 - rendering reports the option's error
                        return True
                    if tree is not None and _tree_varies(tree, set()):
                        return True
        return False

    def _file_varies(self, name: str) -> bool:
        if name not in self._varies:
            self._varies[name] = True  # a cycle (or a failure below) counts as varying
            try:
                source, filename, _ = self.env.loader.get_source(self.env, name)  # type: ignore[union-attr]
                tree = self.env.parse(source, name, filename)
            except Exception:  # noqa: BLE001 - rendering reports the template's own errors
                return True
            used: set[str] = set()
            varies = _tree_varies(tree, used)
            self._varies[name] = varies or any(self._file_varies(other) for other in used)
        return self._varies[name]


OCCURRENCE_NAMES = frozenset({"at", "now", "lipsum"})
OCCURRENCE_FILTERS = frozenset({"countdown", "random"})
STATIC_POST_FIELDS = frozenset({"id", "link", "media", "thread"})


def _tree_varies(tree: nodes.Node, used: set[str]) -> bool:
    """True when ``tree`` reads a per-occurrence value; adds the templates it loads to ``used``
    (a name it cannot read counts as varying)."""
    static_post = {
        id(node.node) for node in tree.find_all(nodes.Getattr)
        if isinstance(node.node, nodes.Name) and node.node.name == "post"
        and node.attr in STATIC_POST_FIELDS
    }
    for name in tree.find_all(nodes.Name):
        if name.name in OCCURRENCE_NAMES or (name.name == "post" and id(name) not in static_post):
            return True
    for used_filter in tree.find_all(nodes.Filter):
        if used_filter.name in OCCURRENCE_FILTERS:
            return True
    for load in tree.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
        target = getattr(load, "template", None)
        if isinstance(target, nodes.Const) and isinstance(target.value, str):
            used.add(target.value)
        else:
            return True
    return False


def occurrence_contexts(
    workspace: Workspace,
    deliveries: Sequence[PlannedDelivery],
    session_links: SessionLinks | None = None,
) -> tuple[str, Callable[[PlannedDelivery], RenderContext]]:
    """(template, delivery -> its context) for the occurrences of one (post, channel).

    The context is built once (``context_for``); each occurrence only changes its instant and
    number. Raises ``TemplateError`` when the post cannot be found. A live session's host not
    created yet has its placeholder link (checked as it will be sent: length, X price).
    """
    template, base = context_for(workspace, deliveries[0], session_links=session_links,
                                 placeholders=True)
    post = base.post
    first = deliveries[0]

    def context_at(delivery: PlannedDelivery) -> RenderContext:
        if delivery is first and post.occurrence == delivery.occurrence:
            return base  # what ``context_for`` built (each post of an explicit plan)
        occurrence = PostInfo(post.id, post.link, post.media, post.thread, delivery.occurrence)
        return RenderContext(base.campaign, occurrence, base.channel, delivery.due_at,
                             base.session, base.variables)

    return template, context_at
