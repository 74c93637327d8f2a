"""The dashboard's pages without a browser: the workspace language, one colour per channel, and
"Next up" (only what is still to be sent)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cm_toolkit.clock import ManualClock
from cm_toolkit.growth.activity import build_activity
from cm_toolkit.growth.context import GrowthContext
from cm_toolkit.growth.report import report_figures
from cm_toolkit.growth.wording import catalogue
from cm_toolkit.ledger import Ledger, open_ledger
from cm_toolkit.ledger.states import DeliveryState
from cm_toolkit.web.app import Dashboard
from tests.growth.conftest import add_published, add_snapshots

from .test_app import call

T0 = datetime(2027, 2, 1, 5, tzinfo=UTC)
NOW = T0 + timedelta(days=10)
PAGES = ("/", "/channel/x-mooc", "/calendar", "/posts", "/review", "/inbox", "/inbox/metrics")


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    opened = open_ledger(f"sqlite:///{tmp_path / 'cm.db'}", tmp_path)
    for channel, network, base in (("x-mooc", "x", 3000), ("linkedin-page",
                                   "linkedin", 1200), ("youtube", "youtube", 800)):
        add_snapshots(opened, channel, network,
                      [(T0 + timedelta(days=d), base + 7 * d) for d in range(20)])
    add_published(opened, "teaser", "x-mooc", "x", T0 + timedelta(days=2), (10, 2, 3))
    add_published(opened, "broken", "x-mooc", "x", T0 + timedelta(days=3), None,
                  state=DeliveryState.FAILED, error="refused")
    yield opened
    opened.close()


def dashboard(ledger: Ledger, language: str) -> Dashboard:
    names = {"x-mooc": "@ManagerLeader20", "linkedin-page": "Leader 2.0", "youtube": "MOOC TV"}
    context = GrowthContext(zone=ZoneInfo("Europe/Paris"), reference=T0, names=names,
                            language=language)
    return Dashboard(ledger, context, ManualClock(NOW))


class Texts(HTMLParser):
    """Every text node and every attribute a person reads (title, aria-label)."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.texts.append(" ".join(data.split()))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.texts += [v for k, v in attrs if k in ("title", "aria-label", "data-chart-failed")
                       and v]


def english_only_words() -> set[str]:
    """Words of the English catalogue that French says differently (at least two letters)."""
    english, french = catalogue("en"), catalogue("fr")
    return {word for section, words in english.items() if section != "plotly"
            for key, word in words.items()
            if french[section][key] != word and len(word) > 2 and "{" not in word}


@pytest.mark.parametrize("path", PAGES)
def test_french_pages_have_no_english_chrome(ledger: Ledger, path: str) -> None:
    app = dashboard(ledger, "fr")
    status, _, body = call(app, path)
    assert status == 200
    page = body.decode()
    assert '<html lang="fr">' in page
    parser = Texts()
    parser.feed(page)
    english = english_only_words()
    left = [text for text in parser.texts if text in english
            or any(text.startswith(word + " ") for word in english if " " in word)]
    assert left == [], f"English words on the French page {path}: {left}"


def test_numbers_and_dates_follow_the_language(ledger: Ledger) -> None:
    french = call(dashboard(ledger, "fr"), "/")[2].decode()
    english = call(dashboard(ledger, "en"), "/")[2].decode()
    # 3000 + 7 * 19 = 3133 followers; multiple 3133 / 3000
    assert "3\u202f133" in french and "x1,04" in french and "févr. 2027" in french
    assert "3,133" in english and "x1.04" in english and "Feb " in english
    assert "Croissance des abonnés" in french and "Follower growth" in english
    assert "Prochains envois" in french and "Next up" in english


def test_a_language_without_words_is_english_with_its_own_numbers(ledger: Ledger) -> None:
    page = call(dashboard(ledger, "de"), "/")[2].decode()
    assert '<html lang="de">' in page and "Follower growth" in page and "3.133" in page


def test_charts_speak_the_language_and_carry_plotly_locale(ledger: Ledger) -> None:
    figure = json.loads(call(dashboard(ledger, "fr"), "/api/channel/x-mooc/growth.json")[2])
    assert figure["title"] == "Abonnés (▲ publications)"
    assert figure["layout"]["yaxis"]["title"]["text"] == "abonnés"
    assert figure["locale"]["name"] == "fr"
    assert figure["locale"]["format"]["months"][1] == "février"
    assert figure["locale"]["format"]["days"][0] == "dimanche"  # Plotly counts from Sunday
    assert figure["layout"]["separators"][0] == ","
    assert "title" not in figure["layout"]  # the page shows it above the chart


def test_one_colour_per_channel_on_every_chart_and_page(ledger: Ledger, tmp_path: Path) -> None:
    app = dashboard(ledger, "fr")
    colours: dict[str, set[str]] = {}

    def seen(channel: str, colour: str | None) -> None:
        assert colour, channel
        colours.setdefault(channel, set()).add(colour)

    names = {"@ManagerLeader20": "x-mooc", "Leader 2.0": "linkedin-page", "MOOC TV": "youtube"}
    overview = json.loads(call(app, "/api/overview/growth.json")[2])
    for trace in overview["data"]:
        seen(names[trace["name"]], trace["line"]["color"])
    for channel in names.values():
        for chart in ("growth", "net-adds"):
            figure = json.loads(call(app, f"/api/channel/{channel}/{chart}.json")[2])
            for trace in figure["data"]:
                seen(channel, trace["marker"]["color"])
    cards = re.findall(r'data-channel="([^"]+)" style="border-top-color: (#[0-9a-f]{6})"',
                       call(app, "/")[2].decode())
    assert len(cards) == 3
    for channel, colour in cards:
        seen(channel, colour)
    context = app.views.context
    report = build_activity(ledger, context, now=NOW)
    for figure_id in ("chart-growth", "chart-multiple", "chart-net-adds"):
        for trace in report_figures(ledger, report)[figure_id]["data"]:
            seen(names[trace["name"].split(" : ")[0]], trace["marker"]["color"])
    assert all(len(found) == 1 for found in colours.values()), colours
    assert len({next(iter(found)) for found in colours.values()}) == 3  # three colours


def test_next_up_lists_only_deliveries_still_to_be_sent(ledger: Ledger) -> None:
    ahead = {state: add_published(ledger, f"later-{state.value}", "x-mooc", "x",
                                  NOW + timedelta(hours=1 + i), None, state=state)
             for i, state in enumerate(DeliveryState)}
    page = call(dashboard(ledger, "en"), "/")[2].decode()
    next_up = page.split('id="next-up"')[1].split("</ul>")[0]
    shown = {int(i) for i in re.findall(r'data-delivery="(\d+)"', next_up)}
    to_send = (DeliveryState.PLANNED, DeliveryState.RETRY_WAIT, DeliveryState.SENDING,
               DeliveryState.AWAITING_DONE)
    assert shown == {ahead[state] for state in to_send}
    calendar = call(dashboard(ledger, "en"), "/calendar")[2].decode()
    listed = {int(i) for i in re.findall(r'data-delivery="(\d+)"', calendar)}
    assert ahead[DeliveryState.PUBLISHED] in listed  # the calendar still shows what went out
    assert ahead[DeliveryState.CANCELLED] not in listed
