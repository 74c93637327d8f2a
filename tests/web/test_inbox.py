"""The dashboard's Inbox page without a browser: listing, escaping, keyset pages, filters, and
the ``--allow-replies`` rules (token, CSRF, POST refused otherwise). Messages are stored through
inbox-core's ``InboxLedger.store_page``; the reply goes to the sandbox through the real adapter."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode
from wsgiref.util import setup_testing_defaults

import pytest

from cm_toolkit.channels.base import IncomingMessage, MessageKind
from cm_toolkit.channels.pool import ChannelSource
from cm_toolkit.cli import main
from cm_toolkit.clock import ManualClock
from cm_toolkit.errors import UsageError
from cm_toolkit.growth.charts import palette_for
from cm_toolkit.growth.context import GrowthContext
from cm_toolkit.inbox import Faq
from cm_toolkit.inbox.replies import ReplyService
from cm_toolkit.inbox.sync import InboxSync
from cm_toolkit.ledger import Ledger, open_ledger
from cm_toolkit.ledger.inbox import Annotation, InboxFilter, InboxLedger
from cm_toolkit.ledger.models import InboxMessage
from cm_toolkit.ledger.states import MessageState
from cm_toolkit.scheduler.publisher import Step
from cm_toolkit.scheduler.runner import Runner
from cm_toolkit.web.app import Dashboard
from cm_toolkit.web.inbox_actions import InboxActions
from cm_toolkit.workspace.models import Network
from cm_toolkit.workspace.networks import known_networks
from tests.scheduler.conftest import START, Rig, rig  # noqa: F401 (the rig fixture)
from tests.scheduler.workspace import post

T0 = datetime(2027, 3, 1, 9, tzinfo=UTC)
TOKEN = "s3cret-token-for-the-inbox-tests"
FB = "facebook-page"
FACEBOOK_ONLY = InboxFilter(networks=frozenset({"facebook"}))  # X mentions arrive too
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def message(n: int, *, thread: str = "post-1", text: str | None = None,
            author: str | None = None, url: str | None = None) -> IncomingMessage:
    return IncomingMessage(
        remote_id=f"c{n}", kind=MessageKind.COMMENT, author_id=f"u{n}",
        author_name=author or f"Learner {n}", text=text or f"Question {n}",
        created_at=T0 + timedelta(minutes=n), thread_remote_id=thread, url=url)


def store(ledger: Ledger, channel: str, network: Network, messages: list[IncomingMessage],
          suggestions: dict[str, Any] | None = None) -> list[int]:
    stored = InboxLedger(ledger).store_page(
        channel, network, "comments", messages, T0 + timedelta(days=1),
        annotate=lambda m: Annotation(True, suggestions))
    return stored.new_ids


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    opened = open_ledger(f"sqlite:///{tmp_path / 'cm.db'}", tmp_path)
    yield opened
    opened.close()


def call(app: Dashboard, path: str, method: str = "GET", form: dict[str, str] | None = None,
         **headers: str) -> tuple[int, dict[str, str], str]:
    environ: dict[str, Any] = {"REQUEST_METHOD": method, "HTTP_HOST": "127.0.0.1:8050"}
    path, _, query = path.partition("?")
    environ["PATH_INFO"], environ["QUERY_STRING"] = path, query
    if form is not None:
        body = urlencode(form).encode()
        environ.update({"CONTENT_TYPE": "application/x-www-form-urlencoded",
                        "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)})
    environ.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
    setup_testing_defaults(environ)
    seen: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = int(status.split()[0]), dict(response_headers)

    body_out = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], body_out.decode("utf-8")


def make(ledger: Ledger, *, language: str = "fr", **kwargs: Any) -> Dashboard:
    context = GrowthContext(reference=T0, names={FB: "Page Facebook", "x-mooc": "X"})
    return Dashboard(ledger, context, ManualClock(T0 + timedelta(days=2)), language=language,
                     **kwargs)


def listed(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<article class="inbox-item" data-message="(\d+)"', page)]


# -- reading ----------------------------------------------------------------------------------


def test_open_items_newest_first_grouped_with_suggestions_in_french(ledger: Ledger) -> None:
    first = store(ledger, FB, "facebook", [message(1), message(3, thread="post-2")],
                  {"faq": [["certificat", 4.5, "Certificat", False]]})
    later = store(ledger, "x-mooc", "x", [message(2, thread="conv-9")])
    InboxLedger(ledger).set_state(first[0], MessageState.CLOSED, T0 + timedelta(days=1), "cli")
    status, _, page = call(make(ledger), "/inbox")
    assert status == 200 and '<html lang="fr">' in page and "<h1>Messages</h1>" in page
    assert listed(page) == [first[1], later[0]]  # the closed one is not listed
    assert page.count('<section class="conversation') == 2
    # each conversation wears its channel's colour, the one the charts give it (not a colour
    # per network name: a plugin's network gets one too)
    app = make(ledger)
    colours = palette_for(app.views.ledger, app.views.context)
    for channel in (FB, "x-mooc"):
        assert f'style="border-left-color: {colours[channel]}"' in page
    assert 'data-faq="certificat"' in page and "Certificat" in page and "4.5" in page
    assert "nouveau" in page and "Page Facebook" in page
    assert "Lecture seule" in page  # no --allow-replies
    english = call(make(ledger, language="en"), "/inbox")[2]
    assert "<h1>Inbox</h1>" in english and "read only" in english.lower()


def test_message_text_author_and_links_are_escaped(ledger: Ledger) -> None:
    [mid] = store(ledger, FB, "facebook", [message(
        1, text=HOSTILE, author='<b onmouseover="x">Eve</b>', url="javascript:alert(1)")],
        {"faq": [["<i>faq</i>", 1.0, "<svg onload=alert(2)>", False]]})
    for path in ("/inbox", f"/inbox/message/{mid}"):
        status, _, page = call(make(ledger), path)
        assert status == 200
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
        assert "<b onmouseover" not in page and "<svg" not in page and "<i>faq" not in page
        assert 'href="javascript:' not in page


def test_keyset_pages_never_repeat_nor_skip(ledger: Ledger) -> None:
    ids = store(ledger, FB, "facebook",
                [message(n, thread=f"post-{n % 7}") for n in range(120)])
    app, seen, path = make(ledger), [], "/inbox"
    for _ in range(4):
        page = call(app, path)[2]
        seen.append(listed(page))
        found = re.search(r'id="older" href="([^"]+)"', page)
        if found is None:
            break
        path = found.group(1).replace("&amp;", "&")
    assert [len(p) for p in seen] == [50, 50, 20]
    # grouped by conversation within a page; across pages, strictly older
    assert [sorted(p, reverse=True) for p in seen] == [
        sorted(ids, reverse=True)[start:start + 50] for start in (0, 50, 100)]


def test_keyset_pages_split_messages_received_at_the_same_instant(ledger: Ledger) -> None:
    same = [IncomingMessage(f"s{n}", MessageKind.COMMENT, f"u{n}", f"L{n}", f"Q{n}", T0, "p")
            for n in range(60)]
    ids = store(ledger, FB, "facebook", same)
    app = make(ledger)
    first = call(app, "/inbox")[2]
    found = re.search(r'id="older" href="([^"]+)"', first)
    assert found is not None
    second = call(app, found.group(1).replace("&amp;", "&"))[2]
    assert sorted(listed(first) + listed(second)) == sorted(ids)
    assert len(listed(first)) == 50 and 'id="older"' not in second


def test_filters_by_network_channel_and_state(ledger: Ledger) -> None:
    fb = store(ledger, FB, "facebook", [message(1), message(2)])
    x = store(ledger, "x-mooc", "x", [message(3, thread="conv")])
    InboxLedger(ledger).assign(fb[0], "instructor", T0 + timedelta(days=1), "cli")
    app = make(ledger)
    assert listed(call(app, "/inbox?network=x")[2]) == x
    assert listed(call(app, f"/inbox?channel={FB}")[2]) == [fb[1], fb[0]]
    page = call(app, "/inbox?state=open")[2]
    assert listed(page) == [fb[0]] and "→ instructor" in page
    assert listed(call(app, "/inbox?state=bogus&network=nowhere")[2]) == [x[0], fb[1], fb[0]]


def test_purged_messages_are_not_listed(ledger: Ledger) -> None:
    ids = store(ledger, FB, "facebook", [message(1), message(90)])
    assert InboxLedger(ledger).purge(T0 + timedelta(minutes=30), T0 + timedelta(days=1)) == 1
    page = call(make(ledger), "/inbox")[2]
    assert listed(page) == [ids[1]] and "Question 1<" not in page


def test_thread_shows_the_whole_conversation(ledger: Ledger) -> None:
    ids = store(ledger, FB, "facebook", [message(1), message(2), message(3, thread="b")])
    status, _, page = call(make(ledger), f"/inbox/message/{ids[1]}")
    assert status == 200
    assert [int(i) for i in re.findall(r'<li class="inbox-item[^"]*" data-message="(\d+)"', page)] == ids[:2]
    assert f'class="inbox-item selected" data-message="{ids[1]}"' in page
    assert call(make(ledger), "/inbox/message/999")[0] == 404


# -- answering: refused without the flag, token and CSRF with it --------------------------------


def test_without_allow_replies_no_form_and_every_post_is_refused(ledger: Ledger) -> None:
    [mid] = store(ledger, FB, "facebook", [message(1)],
                  {"faq": [["certificat", 4.5, "Certificat", False]]})
    for app in (make(ledger), make(ledger, token=TOKEN)):
        auth = {"AUTHORIZATION": f"Bearer {TOKEN}"} if app.access.token else {}
        page = call(app, f"/inbox/message/{mid}", **auth)[2]
        assert "<form method=\"post\"" not in page and "csrf" not in page
        assert "<textarea" not in page
        for action in ("reply", "close", "assign"):
            status, headers, _ = call(app, f"/inbox/message/{mid}/{action}", "POST",
                                      {"text": "hi", "faq": "certificat"}, **auth)
            assert (status, headers["Allow"]) == (405, "GET, HEAD")
    assert InboxLedger(ledger).message(mid).state is MessageState.NEW
    assert InboxLedger(ledger).replies_of(mid) == []


class NoChannels:
    """A channel source for tests that must never reach a network."""

    def using(self, channel_id: str) -> Any:
        raise AssertionError(f"no network call expected ({channel_id})")


def actions_on(ledger: Ledger, channels: ChannelSource, clock: ManualClock,
               faq: Faq | None = None) -> InboxActions:
    inbox = InboxLedger(ledger)
    return InboxActions(inbox, ReplyService(ledger=inbox, channels=channels, clock=clock,
                                            worker_id="testhost/1/web", faq=faq), clock)


def test_allow_replies_needs_a_token_even_on_loopback(
        ledger: Ledger, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    clock = ManualClock(T0)
    with pytest.raises(UsageError) as caught:
        make(ledger, actions=actions_on(ledger, NoChannels(), clock))
    assert "CM_DASHBOARD_TOKEN" in caught.value.fix
    monkeypatch.delenv("CM_DASHBOARD_TOKEN", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["dashboard", "--allow-replies", "-w", str(tmp_path)]) == 2
    assert "--allow-replies needs an access token" in capsys.readouterr().err


def form_of(page: str, action: str) -> dict[str, str]:
    form = re.search(rf'<form method="post" action="(/inbox/message/\d+/{action})"[^>]*>(.*?)</form>',
                     page, re.DOTALL)
    assert form is not None, f"no {action} form"
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(2)))


def session_cookie(headers: dict[str, str]) -> str:
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    return cookie.split(";", 1)[0]


def test_csrf_missing_wrong_foreign_or_without_session_is_refused(ledger: Ledger) -> None:
    [mid] = store(ledger, FB, "facebook", [message(1)])
    app = make(ledger, token=TOKEN, actions=actions_on(ledger, NoChannels(), ManualClock(T0)))
    bearer = f"Bearer {TOKEN}"
    status, headers, page = call(app, f"/inbox/message/{mid}", AUTHORIZATION=bearer)
    assert status == 200 and "<textarea" in page
    assert "form-action 'self'" in headers["Content-Security-Policy"]
    session = session_cookie(headers)
    fields = form_of(page, "close")
    assert len(fields["csrf"]) >= 40
    url = f"/inbox/message/{mid}/close"
    cookies = f"{session}; cm_dashboard={TOKEN}"
    refused = [
        call(app, url, "POST", {}, COOKIE=cookies),  # no CSRF field
        call(app, url, "POST", {"csrf": "x" * 43}, COOKIE=cookies),  # a wrong one
        call(app, url, "POST", fields, COOKIE=f"cm_dashboard={TOKEN}"),  # no session cookie
        call(app, url, "POST", fields, COOKIE=f"cm_inbox_session=other; cm_dashboard={TOKEN}"),
        call(app, url, "POST", fields, COOKIE=cookies, ORIGIN="https://evil.example"),
        call(app, url, "POST", fields, COOKIE=cookies, SEC_FETCH_SITE="same-site"),
        call(app, url, "POST", fields, COOKIE=cookies, SEC_FETCH_SITE="cross-site"),
    ]
    assert [r[0] for r in refused] == [403] * 7
    assert call(app, url, "POST", fields, COOKIE=session)[0] == 401  # no access token
    other = make(ledger, token=TOKEN + "-changed",
                 actions=actions_on(ledger, NoChannels(), ManualClock(T0)))
    assert call(other, url, "POST", fields, COOKIE=f"{session}; cm_dashboard={TOKEN}-changed",
                )[0] == 403  # a form of another token
    assert InboxLedger(ledger).message(mid).state is MessageState.NEW
    status, headers, _ = call(app, url, "POST", fields, COOKIE=cookies,
                              ORIGIN="http://127.0.0.1:8050", SEC_FETCH_SITE="same-origin")
    assert (status, headers["Location"]) == (303, f"/inbox/message/{mid}?done=state")
    row = InboxLedger(ledger).message(mid)
    assert row.state is MessageState.CLOSED
    assert InboxLedger(ledger).events(mid)[-1].actor == "dashboard"


def test_assign_then_reopen_from_the_page(ledger: Ledger) -> None:
    [mid] = store(ledger, FB, "facebook", [message(1)])
    app = make(ledger, token=TOKEN, actions=actions_on(ledger, NoChannels(), ManualClock(T0)))
    _, headers, page = call(app, f"/inbox/message/{mid}", AUTHORIZATION=f"Bearer {TOKEN}")
    cookies = f"{session_cookie(headers)}; cm_dashboard={TOKEN}"
    fields = form_of(page, "assign")
    assert call(app, f"/inbox/message/{mid}/assign", "POST", {**fields, "who": "instructor"},
                COOKIE=cookies)[0] == 303
    assert InboxLedger(ledger).message(mid).assignee == "instructor"
    assert call(app, f"/inbox/message/{mid}/ignore", "POST", fields, COOKIE=cookies)[0] == 303
    status, _, page = call(app, f"/inbox/message/{mid}/ignore", "POST", fields, COOKIE=cookies)
    assert status == 303  # already ignored: nothing to do
    status, _, page = call(app, f"/inbox/message/{mid}/close", "POST", fields, COOKIE=cookies)
    assert status == 409 and "cm inbox reopen" in page  # refused, said on the page
    assert call(app, f"/inbox/message/{mid}/reopen", "POST", fields, COOKIE=cookies)[0] == 303
    assert InboxLedger(ledger).message(mid).state is MessageState.OPEN


def commented(rig: Rig, faq: Faq | None = None) -> tuple[InboxLedger, Runner]:  # noqa: F811
    """A published Facebook post, 30 hours of the simulated audience, one inbox sync."""
    runner = rig.apply([post("p1", START + timedelta(minutes=1), [FB])])
    rig.clock.advance(timedelta(minutes=1))
    assert rig.run("p1", FB).step is Step.PUBLISHED
    rig.clock.advance(timedelta(hours=30))
    inbox = InboxLedger(rig.ledger)
    reports = InboxSync(inbox=inbox, channels=runner, clock=rig.clock,
                        workspace=runner.current_view().workspace, faq=faq).sync()
    assert any(r.new for r in reports if r.channel_id == FB)
    return inbox, runner


def replies_posted(rig: Rig, comment_id: str) -> list[str]:  # noqa: F811
    """Replies that reached the Graph emulator (refused requests do not count)."""
    entries = rig.sandbox.journal.entries(method="POST", path=rf"/v[0-9.]+/{comment_id}/comments")
    return [parse_qs(e.body)["message"][0] for e in entries
            if e.status is None or e.status < 400]


@dataclass
class Answering:
    """A dashboard with --allow-replies over a synced Facebook comment, and its reply form."""

    inbox: InboxLedger
    app: Dashboard
    target: InboxMessage
    form: dict[str, str]  # the reply form's hidden fields (the CSRF token)
    cookies: str  # the session and access cookies a browser would send


def answering(rig: Rig, language: str) -> Answering:  # noqa: F811
    inbox, runner = commented(rig)
    target = inbox.listing(FACEBOOK_ONLY)[0].messages[0]
    app = Dashboard(rig.ledger, GrowthContext(reference=START), rig.clock, TOKEN,
                    language=language, actions=actions_on(rig.ledger, runner, rig.clock))
    _, headers, page = call(app, f"/inbox/message/{target.id}", AUTHORIZATION=f"Bearer {TOKEN}")
    return Answering(inbox, app, target, form_of(page, "reply"),
                     f"{session_cookie(headers)}; cm_dashboard={TOKEN}")


def test_a_reply_from_the_page_reaches_the_sandbox_once(rig: Rig) -> None:  # noqa: F811
    a = answering(rig, "fr")
    inbox, app, target, cookies = a.inbox, a.app, a.target, a.cookies
    text = "Bonjour ! Le lien est sur la page du cours."
    form = {**a.form, "text": text}
    status, headers, _ = call(app, f"/inbox/message/{target.id}/reply", "POST", form,
                              COOKIE=cookies)
    assert (status, headers["Location"]) == (303, f"/inbox/message/{target.id}?done=reply")
    again = call(app, f"/inbox/message/{target.id}/reply", "POST", form, COOKIE=cookies)
    assert again[0] == 409  # a second reply is refused, said on the page
    assert replies_posted(rig, target.remote_id) == [text]
    assert inbox.message(target.id).state is MessageState.ANSWERED
    page = call(app, f"/inbox/message/{target.id}?done=reply", COOKIE=cookies)[2]
    assert "Réponse envoyée." in page and 'class="state state-published"' in page


def test_a_reply_whose_answer_is_lost_shows_unknown_and_is_not_sent_again(
        rig: Rig) -> None:  # noqa: F811
    a = answering(rig, "en")
    app, target, cookies = a.app, a.target, a.cookies
    form = {**a.form, "text": "Hello! Everything is on the course page."}
    rig.sandbox.faults.add("facebook:drop-after-commit@once")  # stored, the answer never comes
    status, headers, _ = call(app, f"/inbox/message/{target.id}/reply", "POST", form,
                              COOKIE=cookies)
    assert (status, headers["Location"]) == (
        303, f"/inbox/message/{target.id}?done=reply_not_sent")
    page = call(app, headers["Location"], COOKIE=cookies)[2]
    assert "The reply did not go out" in page and 'class="state state-unknown"' in page
    assert call(app, f"/inbox/message/{target.id}/reply", "POST", form,
                COOKIE=cookies)[0] == 409  # unknown: never sent again from here
    assert len(replies_posted(rig, target.remote_id)) == 1


def test_interactivity_metrics_computed_in_the_background_once_a_minute(
        ledger: Ledger) -> None:
    store(ledger, FB, "facebook", [message(1), message(2)])
    store(ledger, "x-mooc", "x", [message(3, thread="conv")])
    clock = ManualClock(T0 + timedelta(days=2))
    app = Dashboard(ledger, GrowthContext(reference=T0), clock, language="fr")

    def received_total(page: str, network: str) -> int:
        row = re.search(rf'<tr data-network="{network}" class="total">(.*?)</tr>', page,
                        re.DOTALL)
        assert row is not None, network
        return int(re.findall(r'<td class="num">([^<]*)</td>', row.group(1))[0])

    def computed() -> str:
        assert app.inbox.metrics_computed.wait(30)
        return call(app, "/inbox/metrics")[2]

    status, _, page = call(app, "/inbox/metrics")
    assert status == 200 and 'id="metrics-pending"' in page and 'http-equiv="refresh"' in page
    page = computed()
    assert "Interactivité" in page and 'id="interactivity-table"' in page
    assert (received_total(page, "facebook"), received_total(page, "x")) == (2, 1)
    store(ledger, FB, "facebook", [message(4)])
    assert received_total(call(app, "/inbox/metrics")[2], "facebook") == 2  # kept a minute
    clock.advance(timedelta(minutes=1))
    stale = call(app, "/inbox/metrics")[2]  # served at once while the new one is computed
    assert received_total(stale, "facebook") == 2
    assert received_total(computed(), "facebook") == 3
    assert 'href="/inbox/metrics"' in call(app, "/inbox")[2]


def test_the_network_filter_offers_the_workspaces_networks(ledger: Ledger) -> None:
    """Not every installed network (a plugin, Meet...): the ones the workspace's channels use;
    every known one when the dashboard has no workspace to say."""
    store(ledger, FB, "facebook", [message(1)])
    clock = ManualClock(T0 + timedelta(days=2))

    def offered(context: GrowthContext) -> list[str]:
        page = call(Dashboard(ledger, context, clock), "/inbox")[2]
        select = re.search(r'<select[^>]*name="network".*?</select>', page, re.DOTALL)
        assert select is not None
        return re.findall(r'<option value="([^"]+)"', select.group(0))

    assert offered(GrowthContext(reference=T0, names={FB: "Page", "x-mooc": "X"},
                                 networks={FB: "facebook", "x-mooc": "x"})) == ["facebook", "x"]
    assert offered(GrowthContext(reference=T0)) == sorted(known_networks())
