"""The same text twice on one account: a plan-level warning of ``cm check``.

X, Facebook and LinkedIn refuse a post that repeats one the account already published (X: 403
"duplicate content"; Facebook: error 506; LinkedIn: 422 ``DUPLICATE_POST``), each adapter says
so in ``limits.duplicates_refused``. A recurring post whose template gives every occurrence the
same words, or two posts with one text, would fail from the second one on: ``DuplicateTexts``
gathers the texts as sent, per channel, and warns once per repeated text.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo

from cm_toolkit.errors import Problem, Severity
from cm_toolkit.planning.models import PlannedDelivery
from cm_toolkit.templates.delivery_checks import sent_text
from cm_toolkit.templates.network_rules import LinkHandling, NetworkRules
from cm_toolkit.templates.render import RenderedContent

Locate = Callable[[PlannedDelivery], tuple[str, int | None, str]]
"""A delivery's place: (file, line of its post, label), as ``Findings.locate`` gives it."""

DUPLICATE_FIX = ("make each text differ: a number or a date in it ({{ post.occurrence }}, "
                 "{{ at | date_long }}), or other words")


class DuplicateTexts:
    """The deliveries of each (channel, text as sent, attached link) on networks that refuse
    duplicates. Texts are kept as the renderer made them: a text repeated by a template that
    does not vary is one string object."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str, str | None], list[PlannedDelivery]] = {}
        self._refusers: dict[str, str] = {}  # channel id -> the network's display name

    def add(self, rules: NetworkRules, content: RenderedContent,
            delivery: PlannedDelivery, sent: str | None = None) -> None:
        """``sent``: the content's ``sent_text``, when the caller has it already."""
        if not rules.duplicates_refused:
            return
        # a link attached apart from the text (Facebook, LinkedIn) makes two posts differ
        link = content.link if rules.link_handling is LinkHandling.ATTACHED else None
        text = sent_text(rules, content) if sent is None else sent
        self.add_sent(delivery, text, link, rules.display_name)

    def add_sent(self, delivery: PlannedDelivery, text: str, link: str | None,
                 network: str) -> None:
        """``delivery`` sends ``text`` (as sent) with ``link`` attached apart (or None) on a
        network that refuses duplicates (named ``network``)."""
        self._seen.setdefault((delivery.channel_id, text, link), []).append(delivery)
        self._refusers[delivery.channel_id] = network

    def problems(self, locate: Locate, zone: tzinfo) -> list[Problem]:
        found = []
        for (channel_id, _text, _link), items in self._seen.items():
            if len(items) < 2:
                continue
            items.sort(key=lambda d: (d.due_at, d.post_key))
            posts = list(dict.fromkeys(d.post_key for d in items))
            first, last = (f"{d.due_at.astimezone(zone):%Y-%m-%d %H:%M}"
                           for d in (items[0], items[-1]))
            if len(posts) == 1:
                what = (f"post {posts[0]!r} sends the same text {len(items)} times on "
                        f"{channel_id} ({first} to {last})")
            else:
                named = ", ".join(repr(p) for p in posts[:5]) + (", ..." if len(posts) > 5 else "")
                what = (f"posts {named} send the same text on {channel_id} ({len(items)} "
                        f"deliveries, {first} to {last})")
            network = self._refusers[channel_id] or "the network"
            file, line, _label = locate(items[0])
            found.append(Problem(file, line, None,
                                 f"{what}: {network} refuses a post that repeats an earlier one",
                                 DUPLICATE_FIX, Severity.WARNING))
        return found
