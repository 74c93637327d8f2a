"""``cm check`` on faq.yaml: the file's problems, and every answer rendered where it will be sent.

Each answer is rendered for each network of the workspace's channels, in each language it has;
a template failure, or a text longer than the network accepts as a reply, is a problem at the
answer's line (faq.yaml or the template file). The limit is the adapter's
``conversation_facts.reply_text_max`` when it declares one (less the room of the author's
``@handle`` where replies start with it), else the network's post limit.
"""

from __future__ import annotations

from pathlib import Path

from cm_toolkit.errors import CmError, Problem, TemplateError, WorkspaceError
from cm_toolkit.inbox.faq import FaqBook
from cm_toolkit.inbox.faq_file import FAQ_FILE
from cm_toolkit.templates.failures import RenderLimitError
from cm_toolkit.templates.network_rules import rules_for
from cm_toolkit.workspace.models import Network, Workspace


def reply_limit(network: Network) -> tuple[int | None, str]:
    """The longest answer ``network`` accepts, and its unit: less the room of the author's
    address where a reply starts with it (X: ``@username ``, up to 17 characters)."""
    from cm_toolkit.channels.base import ConversationFacts
    from cm_toolkit.channels.registry import channel_class  # imports adapters: only when asked

    rules = rules_for(network)
    try:
        facts = getattr(channel_class(network), "conversation_facts", None)
    except CmError:
        facts = None
    if not isinstance(facts, ConversationFacts):
        return rules.text_max, rules.unit
    return facts.reply_text_max - facts.address_room(), rules.unit


def faq_problems(root: Path, workspace: Workspace | None) -> list[Problem]:
    """Every problem of ``root/faq.yaml`` (none without the file). Answers are rendered only
    when the workspace loaded (its channels say which networks to render for)."""
    try:
        book = FaqBook.load(root, workspace=workspace)
    except WorkspaceError as exc:
        return list(exc.problems)
    if workspace is None or not book.ids:
        return []
    networks = sorted({channel.network for channel in workspace.channels.values()})
    problems: list[Problem] = []
    seen: set[str] = set()
    for faq_id in book.ids:
        out_of_time = False
        for network in networks:
            limit, unit = reply_limit(network)
            for language in book.languages(faq_id):
                if out_of_time:  # it would run out of time again on each network: once is enough
                    break
                try:
                    text = book.render(faq_id, network=network, language=language or None)
                except TemplateError as exc:
                    out_of_time = isinstance(exc, RenderLimitError) and exc.timed_out
                    if str(exc.problem) not in seen:  # one failure, not one per network
                        seen.add(str(exc.problem))
                        problems.append(exc.problem)
                    continue
                length = rules_for(network).text_length(text)
                if limit is not None and length > limit:
                    shown = f" ({language})" if language else ""
                    problems.append(Problem(
                        FAQ_FILE, book.answer_line(faq_id, network, language), None,
                        f'FAQ entry "{faq_id}"{shown}: the answer on {network} is {length} '
                        f"{unit}, more than the {limit} it accepts",
                        f"shorten it, or add a `variants: {{{network}: ...}}` answer"))
    return problems
