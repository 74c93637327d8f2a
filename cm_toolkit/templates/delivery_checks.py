"""Everything wrong with one rendered delivery, as ``Finding``s the plan check aggregates.

Where a finding points (``file:line``):

- in the template when the template must change: an empty text, a link the text forgot, a
  YouTube title from the ``title`` option, media declared by the template's ``media`` option;
- at the post's line in ``schedules.yaml`` otherwise: a text over the network's limit (its
  length depends on the post's variables and link as much as on the template), the post's own
  media (too many, missing, too big, of a type the network refuses).

The text checked is the text *as sent*, composed by the adapter class (``compose``: on X with
the link it appends when the text lacks it, on YouTube the video description) and measured with
its ``text_length`` (X: weighted, LinkedIn: once escaped, YouTube: bytes). A network with
``Capability.THREAD`` cuts a long text with its ``split_thread``; its own rules beyond the limits
(a YouTube title, X's media combinations) come from its ``plan_problems``, each placed where the
part it is about is written (``PostPart``).
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field
from pathlib import Path

from cm_toolkit.channels.base import Media, PostPart, PostProblem, RenderedPost
from cm_toolkit.errors import Problem, Severity
from cm_toolkit.planning.models import PlannedDelivery
from cm_toolkit.templates.network_rules import LinkHandling, NetworkRules
from cm_toolkit.templates.render import RenderedContent, TemplateRenderer
from cm_toolkit.workspace.models import Workspace
from cm_toolkit.workspace.paths import WorkspacePaths

SCHEDULES_FILE = "schedules.yaml"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem of one delivery. Findings with the same ``same`` (and place and severity)
    are one problem for the user; ``measure`` (a length) shows the largest among them.
    ``at_post``: the line is the post's, found only when the problem is reported."""

    same: str
    file: str
    line: int | None
    message: str
    fix: str
    severity: Severity = Severity.ERROR
    measure: int | None = None
    at_post: bool = False  # in schedules.yaml, at the line of the delivery's post

    @classmethod
    def of(cls, problem: Problem) -> Finding:
        """A problem found before the checks (a template error); one in schedules.yaml without
        a line is at the post's line."""
        at_post = problem.file == SCHEDULES_FILE and problem.line is None
        return cls(problem.message, problem.file, problem.line, problem.message, problem.fix,
                   problem.severity, at_post=at_post)

    def problem(self, post_line: int | None, note: str = "") -> Problem:
        """The finding as reported; ``post_line`` is used when it is at the post's line."""
        line = post_line if self.at_post else self.line
        return Problem(self.file, line, None, self.message + note, self.fix, self.severity)


@dataclass(frozen=True)
class ContentCheck:
    findings: tuple[Finding, ...]
    parts: tuple[str, ...] = ()  # the posts (thread parts) the text as sent becomes
    posts_with_url: int = 0  # of them, those the network bills as holding a URL (X)

    @property
    def posts(self) -> int:
        """Posts created on the network (a thread's parts each count)."""
        return len(self.parts)


@dataclass(frozen=True)
class Where:
    """Where a delivery's parts are written: its post, the template's option lines."""

    channel_id: str
    media_from_post: bool  # the post (or its override) gives the media, not the template
    media_line: int | None = None  # the template's ``media:`` option line
    title_line: int | None = None  # the template's ``title:`` option line
    threads_option: bool = False  # the channel file sets ``options: {threads: true}``

    @classmethod
    def of(cls, workspace: Workspace, renderer: TemplateRenderer, delivery: PlannedDelivery,
           template: str) -> Where:
        """Where the parts of ``delivery`` (rendered from ``template``) are written."""
        network = delivery.network
        channel = workspace.channels.get(delivery.channel_id)
        return cls(
            channel_id=delivery.channel_id,
            media_from_post=bool(delivery.content.get("media")),
            media_line=renderer.option_line(network, template, "media"),
            title_line=renderer.option_line(network, template, "title"),
            threads_option=bool(channel and channel.options.get("threads") is True),
        )


class Wheres:
    """``Where.of`` remembered for a whole plan: it depends only on the delivery's channel
    (and network), the template, and whether the post gives the media, which a plan's
    deliveries share (one ``Where`` per post of 100,000 explicit posts cost as much as a check).
    """

    def __init__(self, workspace: Workspace, renderer: TemplateRenderer) -> None:
        self.workspace, self.renderer = workspace, renderer
        self._known: dict[tuple[str, str, str, bool], Where] = {}

    def of(self, delivery: PlannedDelivery, template: str) -> Where:
        key = (delivery.channel_id, delivery.network, template,
               bool(delivery.content.get("media")))
        where = self._known.get(key)
        if where is None:
            where = self._known[key] = Where.of(self.workspace, self.renderer, delivery, template)
        return where


@dataclass
class MediaProbe:
    """Size and type of each media file, read once per path for the whole plan. A path that
    leads outside the workspace (``paths``) is not looked at: ``outside`` says why."""

    root: Path
    paths: WorkspacePaths | None = None  # default: the root alone
    _seen: dict[str, tuple[bool, int, str | None]] = field(default_factory=dict)
    _outside: dict[str, Problem | None] = field(default_factory=dict)
    _media: dict[str, Media] = field(default_factory=dict)

    def outside(self, item: str) -> Problem | None:
        """Why ``item`` may not be used (it leads outside the workspace), or None."""
        if item not in self._outside:
            paths = self.paths or WorkspacePaths.of(self.root)
            self._outside[item] = paths.refusal(self.root / item, item)
        return self._outside[item]

    def __call__(self, item: str) -> tuple[bool, int, str | None]:
        if item not in self._seen:
            path = self.root / item
            exists = self.outside(item) is None and path.is_file()
            size = path.stat().st_size if exists else 0
            self._seen[item] = (exists, size, mimetypes.guess_type(path.name)[0])
        return self._seen[item]

    def media(self, item: str) -> Media:
        """The ``Media`` an adapter would receive for ``item`` (a file found): one object per
        path for the whole plan (a ``Path`` per delivery cost more than the checks)."""
        found = self._media.get(item)
        if found is None:
            kind = self(item)[2]
            found = self._media[item] = Media(self.root / item, kind or "application/octet-stream")
        return found


def as_post(content: RenderedContent, media: tuple[Media, ...] = ()) -> RenderedPost:
    """The rendered content as the adapter receives it (``media``: the files found)."""
    return RenderedPost(text=content.text, link=content.link, media=media, title=content.title,
                        description=content.description, thread=content.thread)


def sent_text(rules: NetworkRules, content: RenderedContent) -> str:
    """The text the network receives (before ``wire_text``): the adapter's ``compose``."""
    return rules.compose(as_post(content)) if rules.composes else content.text


class _Checker:
    def __init__(self, rules: NetworkRules, content: RenderedContent, where: Where,
                 probe: MediaProbe) -> None:
        self.rules, self.content, self.where, self.probe = rules, content, where, probe
        self.findings: list[Finding] = []
        self.network = rules.network
        self.channel = where.channel_id

    def add(self, same: str, file: str | None, line: int | None, message: str, fix: str,
            severity: Severity = Severity.ERROR, measure: int | None = None) -> None:
        """A finding; ``file`` None means: at the post's line in schedules.yaml."""
        self.findings.append(Finding(f"{self.channel}:{same}", file or SCHEDULES_FILE, line,
                                     f"{self.channel}: {message}", fix, severity, measure,
                                     at_post=file is None))

    def text(self, sent: str) -> list[str]:
        """Length checks; returns the posts (thread parts) the text becomes."""
        rules, content, template = self.rules, self.content, self.content.template_file
        if not content.text.strip() and not content.media:
            self.add("empty", template, None, "the text is empty",
                     "write the post's text in the template")
        length, top = rules.text_length(sent), rules.text_max
        threadable = top is not None and rules.threads and (
            content.thread or (self.where.threads_option and length > top))
        parts = rules.split_thread(sent, top) if threadable and top is not None else [sent]
        if top is not None and length > top and not threadable:
            fix = f"shorten the text of {template} or the post's variables"
            if rules.threads:
                fix += " (or set thread: true to publish it as a numbered thread)"
            self.add("too-long", None, None,
                     f"the text rendered from {template} is {length} {rules.unit} as sent, "
                     f"more than the {rules.text_max} {self.network} accepts", fix,
                     measure=length)
        return parts

    def media_place(self) -> tuple[str | None, int | None, str]:
        """Where the media are written: the post (``None``: its line) or the template's option."""
        if self.where.media_from_post:
            return None, None, "the post's media"
        file = self.content.template_file
        return file, self.where.media_line, f"the media option of {file}"

    def media(self) -> list[Media]:
        """Media checks; returns the files found, with their types (for ``plan_problems``)."""
        rules, media = self.rules, self.content.media
        media_max = rules.media_max
        if not media and (media_max is None or media_max >= 0):
            return []  # nothing to count or look at (most posts of a plan)
        file, line, whose = self.media_place()
        found: list[Media] = []
        media_types = rules.media_types
        if media_max is not None and len(media) > media_max:
            if media_max == 0:
                self.add("media-ignored", file, line,
                         f"{self.network} posts carry no media; {len(media)} will be ignored",
                         "remove media for this channel (overrides: {channel: {media: []}})",
                         Severity.WARNING)
            else:
                self.add("media-count", file, line,
                         f"{len(media)} media, more than the {media_max} "
                         f"{self.network} accepts", f"keep fewer files in {whose}, or "
                         "override media for this channel")
        for item in () if media_max == 0 else media:  # ignored ones: unchecked
            refused = self.probe.outside(item)
            if refused is not None:
                self.add(f"outside:{item}", file, line, f"media file {refused.message}",
                         refused.fix)
                continue
            exists, size, kind = self.probe(item)
            if not exists:
                self.add(f"missing:{item}", file, line, f"media file {item} not found",
                         "put the file in the workspace (e.g. assets/) or fix the path")
                continue
            found.append(self.probe.media(item))
            bytes_max = rules.media_bytes_max(kind)
            if bytes_max is not None and size > bytes_max:
                self.add(f"big:{item}", file, line,
                         f"{item} is {size / 1024**2:.1f} MB, more than the "
                         f"{bytes_max / 1024**2:.0f} MB {self.network} accepts",
                         "use a smaller file")
            if media_types and kind is not None and kind not in media_types:
                self.add(f"type:{item}", file, line,
                         f"{item} is {kind}, which {self.network} does not take "
                         f"({', '.join(media_types)})", "convert the file")
        return found

    def link(self) -> None:
        link, text, template = self.content.link, self.content.text, self.content.template_file
        handling = self.rules.link_handling
        if not link or link in text or handling in (LinkHandling.ATTACHED, LinkHandling.NONE):
            return
        if not self.rules.text_posts:
            return  # a video's description (YouTube), where an appended link is expected
        untagged = link.split("?", 1)[0].rstrip("/")
        fix = f"put {{{{ link }}}} in {template} where it reads best"
        if untagged and untagged in text:
            message = ("the text holds the post's link without its UTM tags; the "
                       f"{self.network} adapter will add the tagged link again")
            fix = f"write {{{{ link }}}} instead of {{{{ post.link }}}} in {template}"
        elif handling is LinkHandling.APPENDED:
            message = (f"the post has a link but the text does not contain it; {self.network} "
                       "has no link attachment, so it is appended on a line of its own")
        else:
            message = ("the post has a link but the text to paste does not contain it (the "
                       "task lists it apart)")
        self.add("link", template, None, message, fix, Severity.WARNING)

    def network_rules(self, media: list[Media]) -> None:
        """The network's own rules (``plan_problems``), each where its part is written."""
        content = self.content
        if not self.rules.has_plan_problems:
            return  # Channel.plan_problems: none (a RenderedPost per delivery costs)
        for problem in self.rules.plan_problems(as_post(content, tuple(media))):
            file, line = self.place(problem)
            self.add(problem.key, file, line, problem.message, problem.fix)

    def place(self, problem: PostProblem) -> tuple[str | None, int | None]:
        content = self.content
        if problem.part is PostPart.TITLE:
            if content.title:
                return content.template_file, self.where.title_line
            return None, None  # the title is the text's first line: the post's length
        if problem.part is PostPart.MEDIA:
            file, line, _whose = self.media_place()
            return file, line
        if problem.part in (PostPart.TEXT, PostPart.DESCRIPTION):
            return content.template_file, None
        return None, None


def check_content(
    rules: NetworkRules, content: RenderedContent, where: Where, probe: MediaProbe,
    sent: str | None = None,
) -> ContentCheck:
    """Check one rendered delivery against ``rules``; count the posts it becomes. ``sent``:
    its ``sent_text``, when the caller has it already."""
    checker = _Checker(rules, content, where, probe)
    parts = checker.text(sent_text(rules, content) if sent is None else sent)
    media = checker.media()
    checker.link()
    checker.network_rules(media)
    with_url = sum(1 for part in parts if rules.contains_url(part)) if rules.priced_urls else 0
    return ContentCheck(tuple(checker.findings), tuple(parts), with_url)
