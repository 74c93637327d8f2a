"""The dashboard's Inbox page: open items, their thread, and (``--allow-replies``) answers.

``GET /inbox``: new and open messages newest first, grouped by conversation, one keyset page
at a time (``?before=``), filtered by ``network``, ``channel`` and ``state``.
``GET /inbox/message/ID``: the conversation, the post it answers, the FAQ suggestions.
``GET /inbox/metrics``: the interactivity metrics (``growth/interactivity.py``, the same table
as ``cm report activity``): they scan every message (seconds over a million), so they are
computed in a background thread at most once a minute and the last table is served meanwhile.
``POST /inbox/message/ID/(reply|assign|close|ignore|reopen)``: only when the dashboard was
started with ``--allow-replies`` (which needs a token), with a CSRF token bound to it
(``web/inbox_csrf.py``); the app refuses every other POST. Messages are untrusted input: the
templates autoescape, and only http(s) links are ever made clickable.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from cm_toolkit.clock import Clock
from cm_toolkit.errors import InboxError
from cm_toolkit.growth.charts import palette_for
from cm_toolkit.growth.context import GrowthContext
from cm_toolkit.growth.display import install_filters
from cm_toolkit.growth.interactivity import build_interactivity
from cm_toolkit.growth.wording import Wording
from cm_toolkit.ledger.inbox import InboxLedger
from cm_toolkit.ledger.inbox_pages import InboxQuery, Keyset, open_items
from cm_toolkit.ledger.models import InboxMessage
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.states import ACTIONABLE, DeliveryState, MessageState
from cm_toolkit.web.inbox_actions import STATE_ACTIONS, InboxActions
from cm_toolkit.web.inbox_csrf import FIELD, CsrfGuard, FormSession
from cm_toolkit.web.inbox_reads import suggestions_of, thread_of
from cm_toolkit.web.views import NotFound, Response
from cm_toolkit.workspace.networks import known_networks

log = logging.getLogger("cm.web")

ACTIONS = ("reply", "assign", *STATE_ACTIONS)
METRICS_FOR = timedelta(minutes=1)  # the metrics scan every message: not at every request
MAX_FORM_BYTES = 64 * 1024


def http_url(value: str | None) -> str | None:
    """A link the page may make clickable: http(s) only (never ``javascript:``)."""
    if value and urlsplit(value).scheme in ("http", "https"):
        return value
    return None


def _text(status: int, message: str) -> Response:
    return Response(status, message.encode("utf-8"), "text/plain; charset=utf-8")


class InboxPages:
    def __init__(self, ledger: Ledger, context: GrowthContext, clock: Clock,
                 templates: Environment, *, words: Wording,
                 actions: InboxActions | None = None, token: str | None = None) -> None:
        self.ledger = ledger
        self.inbox = InboxLedger(ledger)
        self.context = context
        self.clock = clock
        self.templates = templates
        self.words = words
        self.actions = actions
        self.csrf = CsrfGuard(token) if actions is not None and token is not None else None
        self._metrics: tuple[datetime, Markup] | None = None
        self._computing = False
        self._lock = threading.Lock()
        self.metrics_computed = threading.Event()  # set after each computation (tests wait)

    @property
    def accepts_posts(self) -> bool:
        return self.csrf is not None

    # -- GET -----------------------------------------------------------------------------------

    def listing(self, environ: dict[str, Any]) -> Response:
        params = dict(parse_qsl(str(environ.get("QUERY_STRING", ""))))
        network = next((n for n in known_networks() if n == params.get("network")), None)
        channel = params.get("channel") or None
        if channel is not None and channel not in self._channels():
            channel = None
        state = next((s for s in MessageState if s.value == params.get("state")), None)
        before = Keyset.parse(params.get("before", ""))
        page = open_items(self.ledger, InboxQuery(
            states=frozenset({state}) if state is not None else ACTIONABLE,
            network=network, channel_id=channel, before=before))
        groups: dict[int, dict[str, Any]] = {}
        colours = palette_for(self.ledger, self.context)  # a channel's colour on every page
        for message in page.messages:
            group = groups.get(message.conversation_id)
            if group is None:
                group = groups[message.conversation_id] = {
                    "id": message.conversation_id, "network": message.network,
                    "channel": self.context.name_of(message.channel_id),
                    "colour": colours.get(message.channel_id),
                    "thread": page.threads.get(message.conversation_id, ""), "items": []}
            group["items"].append(self._item(message))
        chosen = {"network": network if network else "", "channel": channel or "",
                  "state": state.value if state else ""}
        older = None
        if page.next is not None:
            older = "/inbox?" + urlencode(
                [(k, v) for k, v in chosen.items() if v] + [("before", page.next.text())])
        return self._render("inbox.html.j2", groups=list(groups.values()), chosen=chosen,
                            networks=self._networks(), channels=self._channels(),
                            states=[s.value for s in MessageState], older=older,
                            paged=before is not None)

    def message(self, environ: dict[str, Any], message_id: str) -> Response:
        params = dict(parse_qsl(str(environ.get("QUERY_STRING", ""))))
        return self._thread(environ, int(message_id), done=params.get("done"))

    def _thread(self, environ: dict[str, Any], message_id: int, *, done: str | None = None,
                problem: InboxError | None = None, status: int = 200) -> Response:
        try:
            thread = thread_of(self.inbox, message_id)
        except InboxError:
            raise NotFound(str(message_id)) from None
        session: FormSession | None = self.csrf.session(environ) if self.csrf else None
        post = thread.post
        response = self._render(
            "inbox_message.html.j2", status=status,
            message=self._item(thread.message),
            messages=[self._item(m) for m in thread.messages],
            post={"key": post.post_key, "text": post.rendered_text,
                  "url": http_url(post.remote_url), "at": post.due_at} if post else None,
            replies=[{"id": r.id, "state": r.state.value, "text": r.rendered_text,
                      "url": http_url(r.remote_url), "error": r.last_error, "at": r.updated_at,
                      "faq_id": r.faq_id} for r in thread.replies],
            can_act=session is not None,
            done=done if done in ("reply", "reply_not_sent", "state") else None,
            problem=str(problem) if problem else None,
            csrf=self.csrf.token_for(session.session_id) if self.csrf and session else "",
            csrf_field=FIELD)
        if session is not None and session.new:
            response.headers.append(session.cookie_header())
        return response

    def metrics(self, environ: dict[str, Any]) -> Response:
        """The last computed table; a stale one (over a minute) is recomputed in a background
        thread while it is still served, so no request waits for the scan."""
        now = self.clock.now()
        with self._lock:
            kept = self._metrics
            if (kept is None or now - kept[0] >= METRICS_FOR) and not self._computing:
                self._computing = True
                self.metrics_computed.clear()
                threading.Thread(target=self._compute_metrics, args=(now,), daemon=True,
                                 name="cm-inbox-metrics").start()
        if kept is None:  # the first time: a page that reloads itself until the table is there
            return self._render("inbox_metrics.html.j2", section=None, computed_at=None)
        return self._render("inbox_metrics.html.j2", section=kept[1], computed_at=kept[0])

    def _compute_metrics(self, now: datetime) -> None:
        try:
            report = build_interactivity(self.ledger, self.context.zone, now=now)
            section = self._growth_templates().get_template("_interactivity.html.j2").render(
                interactivity=report, says=self.words.interactivity)
            with self._lock:
                self._metrics = (now, Markup(section))
        except Exception:  # the page keeps its last table; the log says why
            log.exception("the inbox's interactivity metrics failed")
        finally:
            with self._lock:
                self._computing = False
            self.metrics_computed.set()

    def _growth_templates(self) -> Environment:
        """The activity report's templates (its interactivity section), with our filters."""
        environment = Environment(loader=PackageLoader("cm_toolkit.growth", "templates"),
                                  autoescape=select_autoescape(default=True))
        install_filters(environment, self.context.zone, self.words)
        return environment

    # -- POST (--allow-replies) ----------------------------------------------------------------

    def act(self, environ: dict[str, Any], message_id: str, action: str) -> Response:
        if self.csrf is None or self.actions is None:  # the app never routes here then
            return _text(405, "The dashboard was started without --allow-replies.\n")
        form = _form(environ)
        if form is None:
            return _text(400, "A form (application/x-www-form-urlencoded, under 64 KB) "
                         "is expected.\n")
        refusal = self.csrf.refusal(environ, form.get(FIELD))
        if refusal is not None:
            return _text(403, f"Refused: {refusal}.\n")
        number = int(message_id)
        done = "state"
        try:
            if action == "reply":
                # no cut here: the network's own limit refuses a long reply (validate_reply)
                text = (form.get("text") or "").strip() or None
                faq_id = form.get("faq") or None
                outcome = self.actions.reply(number, text=None if faq_id else text,
                                             faq_id=faq_id)
                # anything but published (retry_wait, failed, unknown) is shown with its state
                done = "reply" if outcome.state is DeliveryState.PUBLISHED else "reply_not_sent"
            elif action == "assign":
                who = (form.get("who") or "").strip()[:200]
                if not who:
                    raise InboxError("assign to whom?", fix="write a name, e.g. instructor")
                self.actions.assign(number, who)
            else:
                self.actions.set_state(number, action)
        except InboxError as problem:
            return self._thread(environ, number, problem=problem, status=409)
        return Response(303, b"", "text/plain; charset=utf-8",
                        [("Location", f"/inbox/message/{number}?done={done}")])

    # -- pieces --------------------------------------------------------------------------------

    def _channels(self) -> list[str]:
        return sorted(self.context.names)

    def _networks(self) -> list[str]:
        """The filter's networks: the workspace's (not every installed one: a plugin the
        workspace does not use means nothing here); every known one without a workspace."""
        return sorted(set(self.context.networks.values())) or list(known_networks())

    def _item(self, message: InboxMessage) -> dict[str, Any]:
        return {
            "id": message.id, "network": message.network,
            "channel": self.context.name_of(message.channel_id),
            "author": message.author_name or message.author_id or "?",
            "text": message.text, "purged": message.purged_at is not None,
            "url": http_url(message.url), "received_at": message.received_at,
            "age": self.words.age(self.clock.now() - message.received_at),
            "state": message.state.value, "assignee": message.assignee,
            "question": message.is_question, "from_us": message.from_us,
            "suggestions": suggestions_of(message),
        }

    def _render(self, template: str, *, status: int = 200, **values: Any) -> Response:
        page = self.templates.get_template(template).render(
            title=self.context.title, active="inbox", zone=self.context.zone.key,
            t=self.words.inbox,
            can_reply=self.accepts_posts, **values)
        return Response(status, page.encode("utf-8"), headers=[("Cache-Control", "no-store")])


def _form(environ: dict[str, Any]) -> dict[str, str] | None:
    kind = str(environ.get("CONTENT_TYPE", "")).split(";", 1)[0].strip().lower()
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if kind != "application/x-www-form-urlencoded" or length > MAX_FORM_BYTES:
        return None
    body = environ["wsgi.input"].read(length) if length else b""
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        return None
