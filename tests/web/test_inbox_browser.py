"""The Inbox page in Chromium (Playwright) at 390×844 and 1280×800: a learner's comment read from
the sandbox's Graph emulator, answered from the phone, and the reply counted in the sandbox's
journal; without --allow-replies the page has no form. Screenshots land in test-artifacts/."""

from __future__ import annotations

import json
import shutil
import sqlite3
from typing import Any

import pytest

from cm_toolkit.clock import ManualClock
from cm_toolkit.growth.context import GrowthContext
from cm_toolkit.inbox import load_faq
from cm_toolkit.ledger.states import MessageState
from cm_toolkit.web.app import Dashboard
from cm_toolkit.web.server import serving
from tests.scheduler.conftest import START, Rig, rig  # noqa: F401 (the rig fixture)

from .conftest import REPO, Season, shot_path
from .test_browser import DESKTOP, PHONE, no_sideways_scroll, opened
from .test_inbox import (  # noqa: F401 (ledger: the fixture)
    FB,
    HOSTILE,
    TOKEN,
    actions_on,
    commented,
    ledger,
    make,
    message,
    replies_posted,
    store,
)

pytestmark = pytest.mark.browser


def test_a_message_answered_from_the_phone_reaches_the_sandbox_once(
        browser: Any, rig: Rig) -> None:  # noqa: F811
    shutil.copy(REPO / "faq.yaml", rig.root)  # the sample FAQ: suggestions and answers
    faq = load_faq(rig.root)
    inbox, runner = commented(rig, faq)
    app = Dashboard(rig.ledger, GrowthContext(reference=START, names={FB: "Page Facebook"}),
                    rig.clock, TOKEN, language="fr",
                    actions=actions_on(rig.ledger, runner, rig.clock, faq))
    text = "Bonjour ! Le replay et le lien du live sont sur la page du cours."
    with serving(app) as url, opened(browser, PHONE) as (page, errors):
        page.goto(url + f"/inbox?network=facebook&token={TOKEN}")  # X mentions arrive too
        assert page.url == url + "/inbox?network=facebook"  # the token left the address bar
        items = page.locator("article.inbox-item")
        assert items.count() > 0
        no_sideways_scroll(page)
        page.screenshot(path=str(shot_path("inbox-390")), full_page=True)
        first = items.first
        message_id = int(first.get_attribute("data-message") or 0)
        target = inbox.message(message_id)
        first.locator("a.open-thread").click()
        page.wait_for_url(f"**/inbox/message/{message_id}")
        assert page.locator("li.inbox-item.selected .inbox-text").inner_text() == target.text
        page.fill("#reply-text", text)
        page.locator(".reply-form button").click()
        page.wait_for_url(f"**/inbox/message/{message_id}?done=reply")
        assert page.locator(".notice").inner_text() == "Réponse envoyée."
        assert page.locator("ul.replies .state-published").count() == 1
        no_sideways_scroll(page)
        page.screenshot(path=str(shot_path("inbox-thread-390")), full_page=True)
        page.screenshot(path=str(shot_path("inbox-thread-390-top")))  # what the phone shows
        page.go_back()  # the form again, sent a second time: refused, said on the page
        page.fill("#reply-text", text)
        page.locator(".reply-form button").click()
        assert page.locator(".alert").count() == 1
        assert [e for e in errors if "409 (Conflict)" in e] == errors != []  # the refusal's status
        errors.clear()
        page.goto(url + "/inbox?network=facebook")
        assert page.locator(f'article.inbox-item[data-message="{message_id}"]').count() == 0
        # an FAQ suggestion, sent with its button: the answer rendered for Facebook, once
        suggested = page.locator("article.inbox-item:has(ul.suggestions)").first
        faq_target = inbox.message(int(suggested.get_attribute("data-message") or 0))
        suggested.locator("a.open-thread").click()
        page.wait_for_url(f"**/inbox/message/{faq_target.id}")
        best = page.locator(".panel ul.suggestions li").first
        faq_id = best.get_attribute("data-faq") or ""
        best.locator("button").click()
        page.wait_for_url(f"**/inbox/message/{faq_target.id}?done=reply")
        assert page.locator("ul.replies .state-published").count() == 1
        page.screenshot(path=str(shot_path("inbox-faq-reply-390")))
        page.set_viewport_size(DESKTOP)  # the same page with its forms on a desktop
        no_sideways_scroll(page)
        page.screenshot(path=str(shot_path("inbox-faq-reply-1280")), full_page=True)
    assert replies_posted(rig, target.remote_id) == [text]
    assert inbox.message(message_id).state is MessageState.ANSWERED
    expected = faq.render(faq_id, network="facebook", language=faq_target.language).strip()
    assert replies_posted(rig, faq_target.remote_id) == [expected]
    assert inbox.replies_of(faq_target.id)[0].faq_id == faq_id


@pytest.mark.parametrize("viewport", [pytest.param(DESKTOP, id="desktop"),
                                      pytest.param(PHONE, id="phone")])
def test_without_allow_replies_the_page_has_no_form(
        browser: Any, ledger: Any, viewport: dict[str, int]) -> None:  # noqa: F811
    suggestions = {"faq": [["live-lien", 7.2, "Lien du live et replay", False],
                           ["certificat", 3.1, "Certificat", True]]}
    ids = store(ledger, FB, "facebook", [
        message(1, text="Bonjour, où trouver le lien du live de jeudi ? Merci d'avance !"),
        message(2, text=HOSTILE, author="<b>Mallory</b>"),
        message(3, thread="post-2", text="How do I get the certificate at the end of the "
                "course? I followed every module and did the quizzes."),
        message(4, thread="conv-x", text="Le module 3 ne s'ouvre pas chez moi, la vidéo "
                "reste noire.\nJ'ai essayé sur deux navigateurs.")], suggestions)
    with serving(make(ledger)) as url, opened(browser, viewport) as (page, _errors):
        page.on("dialog", lambda dialog: pytest.fail(f"a script ran: {dialog.message}"))
        page.goto(url + "/inbox")
        assert page.locator("article.inbox-item").count() == len(ids)
        assert page.locator("h1").inner_text() == "Messages"
        assert page.locator(f'[data-message="{ids[1]}"] .inbox-text').inner_text() == HOSTILE
        no_sideways_scroll(page)
        page.screenshot(path=str(shot_path(f"inbox-read-only-{viewport['width']}")),
                        full_page=True)
        page.locator(f'[data-message="{ids[0]}"] a.open-thread').click()
        page.wait_for_url(f"**/inbox/message/{ids[0]}")
        assert page.locator("form[method=post]").count() == 0
        assert page.locator("textarea").count() == 0
        assert page.locator(".panel ul.suggestions li").count() == 2
        no_sideways_scroll(page)
        page.screenshot(path=str(shot_path(f"inbox-thread-read-only-{viewport['width']}")),
                        full_page=True)


@pytest.mark.parametrize("viewport", [pytest.param(DESKTOP, id="desktop"),
                                      pytest.param(PHONE, id="phone")])
def test_the_replayed_season_s_inbox(browser: Any, season: Season,
                                     viewport: dict[str, int]) -> None:
    """The demo's messages on every network, checked against the ledger read with sqlite3."""
    with sqlite3.connect(season.result.database) as db:
        rows = db.execute(
            "SELECT id, suggestions FROM inbox_messages WHERE state IN ('new', 'open') "
            "AND from_us = 0 AND purged_at IS NULL ORDER BY received_at DESC, id DESC "
            "LIMIT 50").fetchall()
        youtube = db.execute(
            "SELECT count(*) FROM inbox_messages WHERE state IN ('new', 'open') "
            "AND from_us = 0 AND purged_at IS NULL AND network = 'youtube'").fetchone()[0]
        received = dict(db.execute("SELECT network, count(*) FROM inbox_messages "
                                   "WHERE from_us = 0 GROUP BY network").fetchall())
    newest = [row[0] for row in rows]
    suggested = sum(len(json.loads(row[1]).get("faq", [])) for row in rows if row[1])
    assert newest, "the season's audience wrote nothing the inbox kept"
    assert suggested, "no message of the page has an FAQ suggestion"
    app = Dashboard(season.ledger, season.context, ManualClock(season.result.season_end),
                    language="fr")
    with serving(app) as url, opened(browser, viewport) as (page, _errors):
        page.goto(url + "/inbox")
        shown = page.locator("article.inbox-item").evaluate_all(
            "items => items.map(i => Number(i.dataset.message))")
        assert sorted(shown) == sorted(newest)
        assert page.locator("article.inbox-item ul.suggestions li").count() == suggested
        no_sideways_scroll(page)
        page.screenshot(path=str(shot_path(f"inbox-season-{viewport['width']}")))
        page.goto(url + "/inbox?network=youtube")
        assert page.locator("article.inbox-item").count() == min(youtube, 50)
        page.locator("#metrics-link").click()
        page.wait_for_url("**/inbox/metrics")
        page.wait_for_selector("#interactivity-table")  # the page reloads until computed
        totals = dict(page.locator("#interactivity-table tr.total").evaluate_all(
            "rows => rows.map(r => [r.dataset.network, Number(r.cells[2].innerText)])"))
        assert totals == received
        no_sideways_scroll(page)
        page.screenshot(path=str(shot_path(f"inbox-metrics-{viewport['width']}")))
