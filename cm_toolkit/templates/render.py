"""Render a template for one network: ``TemplateRenderer.render_for(network, template, context)``.

Picks ``templates/<template>.<network>.j2`` when it exists, else ``templates/<template>.j2``
(workspace first, then the built-in templates shipped in the package), renders it in the sandbox,
renders the front-matter options with the same names, and returns a ``RenderedContent``.

How options combine (the schedule is more specific than the template):
- ``link``: the post's link (after its channel override) if set, else the template's ``link``;
  tagged with UTM parameters (``defaults.utm``) unless ``utm.enabled`` is false;
- ``media``: the post's media if any, else the template's;
- ``thread``: true if the post or the template says so;
- ``title`` / ``description``: the template's (the variant's value wins over the default's).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Template, TemplateNotFound

from cm_toolkit.errors import Problem, TemplateError
from cm_toolkit.templates.context import RenderContext, template_names
from cm_toolkit.templates.environment import (
    BUILTIN_TEMPLATES,
    build_environment,
    list_templates,
    template_file_name,
)
from cm_toolkit.templates.failures import did_you_mean, display_path, to_template_error
from cm_toolkit.templates.filters import (
    FilterSettings,
    make_filters,
    tag_link,
    utm_source_name,
)
from cm_toolkit.templates.front_matter import FrontMatterError, TemplateOptions, read_options
from cm_toolkit.templates.limits import RenderCancelled, RenderLimits, render_budget
from cm_toolkit.workspace.models import Network, UtmDefaults
from cm_toolkit.workspace.paths import OutsideWorkspace, WorkspacePaths


@dataclass(frozen=True)
class RenderedContent:
    """A template rendered for one network. ``text`` is plain (LinkedIn escaping happens at the
    wire, the adapter's ``wire_text``); ``link`` is UTM-tagged; ``media`` are workspace-relative
    paths; ``template_file`` is the file used (``templates/teaser.x.j2``)."""

    text: str
    title: str | None
    description: str | None
    link: str | None
    media: tuple[str, ...]
    thread: bool
    template_file: str


# What makes a front-matter value a template rather than plain text: Jinja's delimiters (the
# environment sets no line statements or comments), or a CR (Jinja writes line ends as LF).
_JINJA_MARKS = re.compile(r"\{[{%#]|\r")


class TemplateRenderer:
    """Renders the templates of one workspace (its language, time zone and UTM defaults)."""

    def __init__(
        self,
        workspace_root: Path | None,
        language: str = "en",
        timezone: str | ZoneInfo = "UTC",
        utm_defaults: UtmDefaults | None = None,
        limits: RenderLimits | None = None,
        allowed_paths: tuple[str, ...] = (),
    ) -> None:
        self.workspace_root = Path(workspace_root) if workspace_root is not None else None
        self.templates_dir = self.workspace_root / "templates" if self.workspace_root else None
        self.language = language
        self.timezone = timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(timezone)
        self.utm = utm_defaults or UtmDefaults()
        # where the workspace's files may lead (docs/workspace.md, 'Files outside the workspace')
        self.paths = WorkspacePaths.of(self.workspace_root or BUILTIN_TEMPLATES, allowed_paths)
        self.env = build_environment(self.templates_dir, self.paths)
        self.env.limits = limits or RenderLimits()
        # set from outside to stop renders in flight (cm run stopping): ``RenderCancelled``
        self.cancel: threading.Event | None = None
        self.env.filters.update(
            make_filters(FilterSettings(self.language, self.timezone, self.utm))
        )
        self._options_cache: dict[tuple[str, float], TemplateOptions] = {}
        self._value_cache: dict[str, Template] = {}

    # -- finding templates ----------------------------------------------------------------

    def available(self) -> list[str]:
        """Template names the workspace (and the built-ins) provide."""
        names = set(list_templates(BUILTIN_TEMPLATES))
        if self.templates_dir is not None:
            names |= set(list_templates(self.templates_dir))
        return sorted(names)

    def _load(self, name: str) -> Template | None:
        try:
            return self.env.get_template(name)
        except TemplateNotFound as exc:
            if exc.name == name:
                return None
            raise

    def _display(self, filename: str | None) -> str:
        return display_path(filename, self.workspace_root)

    def _fail(self, exc: BaseException, names: dict[str, Any], default_file: str) -> TemplateError:
        if isinstance(exc, RenderCancelled):  # not the template's fault: not its problem
            raise exc
        return to_template_error(
            exc,
            workspace_root=self.workspace_root,
            names=names,
            filters=self.env.filters.keys(),
            default_file=default_file,
        )

    def select(self, network: Network, template: str) -> tuple[Template, Template | None]:
        """(the file to render, the default body when that file is a variant)."""
        default_name = template_file_name(template)
        try:
            variant = self._load(template_file_name(template, network))
            default = self._load(default_name)
        # Whatever a user's template raises is their problem to fix, never a traceback.
        except Exception as exc:  # noqa: BLE001 - syntax error, refused template...
            raise self._fail(exc, {}, f"templates/{default_name}") from None
        if variant is not None:
            return variant, default
        if default is not None:
            return default, None
        if template in self.available():  # variants only, none for this network
            raise TemplateError(Problem(
                f"templates/{default_name}", None, None,
                f"template '{template}' has no variant for {network} and no default body",
                f"create templates/{template_file_name(template, network)} or "
                f"templates/{default_name}"))
        raise TemplateError(
            Problem(
                f"templates/{default_name}",
                None,
                None,
                f"template '{template}' not found",
                did_you_mean(template, self.available())
                + f" (or create templates/{default_name})",
            )
        )

    def options_of(self, template: Template) -> TemplateOptions:
        """Front-matter options of a loaded template file (cached by file and mtime)."""
        if not template.filename:
            return TemplateOptions()
        path = Path(template.filename)
        key = (str(path), path.stat().st_mtime)
        if key not in self._options_cache:
            try:
                text = self._paths_for(path).read_text(path, self._display(str(path)))
                options = read_options(text, self._display(str(path)))
            except FrontMatterError as exc:
                raise TemplateError(*exc.problems) from None
            except OutsideWorkspace as exc:
                raise TemplateError(exc.problem) from None
            self._options_cache[key] = options
        return self._options_cache[key]

    def _paths_for(self, path: Path) -> WorkspacePaths:
        if self.templates_dir is not None and self.paths.is_inside(path):
            return self.paths
        return WorkspacePaths.of(BUILTIN_TEMPLATES)  # a built-in template, or refused

    def option_line(self, network: Network, template: str, key: str) -> int | None:
        """The line of option ``key`` in the file rendered for ``network`` (or its default
        body's), when the template declares it."""
        try:
            chosen, default = self.select(network, template)
        except TemplateError:
            return None
        for source in (chosen, default):
            if source is not None:
                try:
                    options = self.options_of(source)
                except TemplateError:
                    return None  # a broken front matter: rendering reports its problems
                if key in options.values:
                    return options.lines.get(key)
        return None

    # -- rendering ------------------------------------------------------------------------

    def _render_value(self, value: str, names: dict[str, Any], file: str, line: int) -> str:
        if not _JINJA_MARKS.search(value) and len(value) <= self.env.limits.characters:
            return value.strip()  # plain text (``media: [assets/a.png]``) renders as itself
        try:
            compiled = self._value_cache.get(value)
            if compiled is None:
                compiled = self._value_cache[value] = self.env.from_string(value)
            return compiled.render(names).strip()
        except Exception as exc:  # noqa: BLE001 - any failure of a user's template
            error = self._fail(exc, names, file)
            # Front-matter values are compiled apart: place the problem on the option's line.
            problem = error.problem
            raise TemplateError(
                Problem(file, line, None, problem.message, problem.fix, problem.severity)
            ) from None

    def render_for(
        self, network: Network, template: str, context: RenderContext
    ) -> RenderedContent:
        """Render ``template`` for ``network``. Raises ``TemplateError`` (file:line, fix).

        Options are rendered first, so that the body can use ``link`` (the final, UTM-tagged
        link of this post on this network). Options and body share one time budget
        (``templates/limits.py``).
        """
        chosen, default = self.select(network, template)
        with render_budget(self.env.limits, self.env.clock, self.cancel):
            return self._render_selected(network, context, chosen, default)

    def _render_selected(
        self, network: Network, context: RenderContext, chosen: Template,
        default: Template | None,
    ) -> RenderedContent:
        file = self._display(chosen.filename)
        names = template_names(context, self.timezone)
        names.pop("link", None)  # set below, once the options are rendered

        merged: dict[str, tuple[Any, str, int]] = {}
        for source in (default, chosen):
            if source is None:
                continue
            options = self.options_of(source)
            source_file = self._display(source.filename)
            for key, value in options.values.items():
                merged[key] = (value, source_file, options.lines.get(key, 1))

        def option_text(key: str) -> str | None:
            if key not in merged or merged[key][0] is None:
                return None
            value, source_file, line = merged[key]
            return self._render_value(str(value), names, source_file, line) or None

        link = context.post.link or option_text("link")
        if link:
            link = tag_link(
                link,
                network=utm_source_name(network, context.channel.id),
                campaign_id=context.campaign.id,
                post_id=context.post.id,
                utm=self.utm,
            )
        media: tuple[str, ...] = tuple(context.post.media)
        if not media and "media" in merged and merged["media"][0]:
            values, source_file, line = merged["media"]
            media = tuple(
                item for item in (self._render_value(v, names, source_file, line) for v in values)
                if item
            )
        thread = context.post.thread or bool(merged.get("thread", (False,))[0])
        title = option_text("title")
        description = option_text("description")

        names["link"] = link or None
        try:
            text = chosen.render(names).strip()
        except Exception as exc:  # noqa: BLE001 - any failure of a user's template
            raise self._fail(exc, names, file) from None
        return RenderedContent(
            text=text,
            title=title,
            description=description,
            link=link or None,
            media=media,
            thread=thread,
            template_file=file,
        )
