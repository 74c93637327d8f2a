"""Everything wrong with one rendered delivery, as ``Finding``s the plan check aggregates.

Where a finding points (``file:line``):

- in the template when the template must change: an empty text, a link the text forgot, a
  YouTube title from the ``title`` option, media declared by the template's ``media`` option;
- at the post's line in ``schedules.yaml`` otherwise: a text over the network's limit (its
  length depends on the post's variables and link as much as on the template), the post's own
  media (too many, missing, too big, of a type the network refuses).

The text checked is the text *as sent*: on X, with the link the adapter appends when the text
lacks it (``x_compose``); on YouTube, the video description (``YouTubeChannel.description_of``);
measured with the adapter's ``text_length`` (X: weighted, LinkedIn: once escaped, YouTube: bytes).
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field
from pathlib import Path

from cm_toolkit.channels.text_rules import (
    X_TEXT_MAX,
    contains_url,
    split_thread,
    youtube_description_problems,
    youtube_title_problems,
)
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
    x_parts: tuple[str, ...] = ()  # on X, the posts (thread parts) the text as sent becomes
    x_posts_with_url: int = 0

    @property
    def x_posts(self) -> int:
        """POST /2/tweets calls on X."""
        return len(self.x_parts)


@dataclass(frozen=True)
class Where:
    """Where a delivery's parts are written: its post, the template's option lines."""

    channel_id: str
    media_from_post: bool  # the post (or its override) gives the media, not the template
    media_line: int | None = None  # the template's ``media:`` option line
    title_line: int | None = None  # the template's ``title:`` option line
    x_threads_option: bool = False  # the X channel file sets ``options: {threads: true}``

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
            x_threads_option=bool(channel and channel.options.get("threads") is True),
        )


@dataclass
class MediaProbe:
    """Size and type of each media file, read once per path for the whole plan. A path that
    leads outside the workspace (``paths``) is not looked at: ``outside`` says why."""

    root: Path
    paths: WorkspacePaths | None = None  # default: the root alone
    _seen: dict[str, tuple[bool, int, str | None]] = field(default_factory=dict)
    _outside: dict[str, Problem | None] = field(default_factory=dict)

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


def x_compose(text: str, link: str | None) -> str:
    """The text X receives: ``XChannel.compose``'s rule (the link on its own line when the text
    does not contain it; X has no link attachment)."""
    if link and link not in text:
        return f"{text.rstrip()}\n{link}"
    return text


def sent_text(rules: NetworkRules, content: RenderedContent) -> str:
    if rules.network == "x":
        return x_compose(content.text, content.link)
    if rules.network == "youtube":
        description = content.description if content.description is not None else content.text
        if content.link and content.link not in description:
            return f"{description}\n\n{content.link}" if description else content.link
        return description
    return content.text


def _youtube_title(content: RenderedContent) -> str:
    """``YouTubeChannel.title_of``: the title option, else the text's first line."""
    if content.title:
        return content.title
    return content.text.strip().splitlines()[0] if content.text.strip() else ""


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
        """Length checks; returns the X posts (thread parts) the text becomes."""
        rules, content, template = self.rules, self.content, self.content.template_file
        if not content.text.strip() and not content.media:
            self.add("empty", template, None, "the text is empty",
                     "write the post's text in the template")
        length = rules.text_length(sent)
        threadable = rules.network == "x" and (content.thread or (
            self.where.x_threads_option and length > X_TEXT_MAX))
        parts = split_thread(sent, X_TEXT_MAX) if threadable else [sent]
        if rules.text_max is not None and length > rules.text_max and not threadable:
            fix = f"shorten the text of {template} or the post's variables"
            if rules.network == "x":
                fix += " (or set thread: true to publish it as a numbered thread)"
            self.add("too-long", None, None,
                     f"the text rendered from {template} is {length} {rules.unit} as sent, "
                     f"more than the {rules.text_max} {self.network} accepts", fix,
                     measure=length)
        return parts

    def media(self) -> None:
        rules, media = self.rules, self.content.media
        file: str | None = None  # the post's line
        line: int | None = None
        whose = "the post's media"
        if not self.where.media_from_post:
            file, line = self.content.template_file, self.where.media_line
            whose = f"the media option of {file}"
        if rules.media_max is not None and len(media) > rules.media_max:
            if rules.media_max == 0:
                self.add("media-ignored", file, line,
                         f"{self.network} posts carry no media; {len(media)} will be ignored",
                         "remove media for this channel (overrides: {channel: {media: []}})",
                         Severity.WARNING)
            else:
                self.add("media-count", file, line,
                         f"{len(media)} media, more than the {rules.media_max} "
                         f"{self.network} accepts", f"keep fewer files in {whose}, or "
                         "override media for this channel")
        if rules.network == "youtube" and not media:
            self.add("no-video", None, None,
                     "a YouTube post is a video upload, and this post has no video",
                     "add the video file to the post's media")
        for item in () if rules.media_max == 0 else media:  # ignored ones: unchecked
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
            if rules.media_bytes_max is not None and size > rules.media_bytes_max:
                self.add(f"big:{item}", file, line,
                         f"{item} is {size / 1024**2:.1f} MB, more than the "
                         f"{rules.media_bytes_max / 1024**2:.0f} MB {self.network} accepts",
                         "use a smaller file")
            if rules.media_types and kind is not None and kind not in rules.media_types:
                self.add(f"type:{item}", file, line,
                         f"{item} is {kind}, which {self.network} does not take "
                         f"({', '.join(rules.media_types)})", "convert the file")

    def link(self) -> None:
        link, text, template = self.content.link, self.content.text, self.content.template_file
        handling = self.rules.link_handling
        if not link or link in text or handling in (LinkHandling.ATTACHED, LinkHandling.NONE):
            return
        if self.rules.network == "youtube":
            return  # appended to the description, where a link is expected anyway
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

    def youtube(self, sent: str) -> None:
        title = _youtube_title(self.content)
        file = self.content.template_file if self.content.title else None
        line = self.where.title_line if self.content.title else None
        for message in youtube_title_problems(title):
            self.add("title", file, line, message, "shorten the title option; remove < and >")
        for message in youtube_description_problems(sent):
            if "<" in message:  # the length is the text limit's check
                self.add("description", self.content.template_file, None, message,
                         "remove < and > from the description")


def check_content(
    rules: NetworkRules, content: RenderedContent, where: Where, probe: MediaProbe
) -> ContentCheck:
    """Check one rendered delivery against ``rules``; count its X posts."""
    checker = _Checker(rules, content, where, probe)
    sent = sent_text(rules, content)
    parts = checker.text(sent)
    checker.media()
    checker.link()
    if rules.network == "youtube":
        checker.youtube(sent)
    if rules.network != "x":
        return ContentCheck(tuple(checker.findings))
    return ContentCheck(tuple(checker.findings), tuple(parts),
                        sum(1 for part in parts if contains_url(part)))

