"""Filters: dates in the workspace language and time zone, countdown, UTM, hashtags, truncation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cm_toolkit.channels.x.text import x_weighted_length
from cm_toolkit.errors import TemplateError
from cm_toolkit.templates import TemplateRenderer
from cm_toolkit.templates.filters import countdown_text, hashtags, tag_link, truncate_text
from cm_toolkit.workspace.models import Network, UtmDefaults

from .conftest import PARIS, make_context

Build = Callable[..., TemplateRenderer]
UTC = ZoneInfo("UTC")


def render(build: Build, body: str, network: Network = "x", language: str = "fr",
           **context: object) -> str:
    renderer = build({"t.j2": body}, language)
    return renderer.render_for(network, "t", make_context(network, **context)).text  # type: ignore[arg-type]


def test_date_long_in_french(workspace_with: Build) -> None:
    text = render(workspace_with, "{{ d | date_long }}",
                  variables={"d": datetime(2027, 12, 9, 18, 0, tzinfo=PARIS)})
    assert text == "jeudi 9 décembre 2027"


def test_first_of_the_month_is_an_ordinal_in_french(workspace_with: Build) -> None:
    assert render(workspace_with, "{{ session.start | date_long }}") == "jeudi 1er avril 2027"
    assert render(workspace_with, "{{ session.start | date_long }}", language="en") == (
        "Thursday, April 1, 2027"
    )


def test_time_and_datetime_long(workspace_with: Build) -> None:
    assert render(workspace_with, "{{ session.start | time_short }}") == "18:00"
    assert render(workspace_with, "{{ session.start | datetime_long }}") == (
        "jeudi 1er avril 2027 à 18:00"
    )
    assert render(workspace_with, "{{ session.start | datetime_long }}", language="en") == (
        "Thursday, April 1, 2027 at 6:00\u202fPM"
    )


def test_dates_are_shown_in_the_workspace_time_zone_across_dst(workspace_with: Build) -> None:
    # 17:00 UTC is 18:00 in Paris before 2027-03-28 (UTC+1) and 19:00 after it (UTC+2).
    before = datetime(2027, 3, 25, 17, 0, tzinfo=UTC)
    after = datetime(2027, 4, 1, 17, 0, tzinfo=UTC)
    body = "{{ before | datetime_long }} / {{ after | datetime_long }}"
    assert render(workspace_with, body, variables={"before": before, "after": after}) == (
        "jeudi 25 mars 2027 à 18:00 / jeudi 1er avril 2027 à 19:00"
    )


def test_naive_and_text_dates_are_workspace_wall_time(workspace_with: Build) -> None:
    body = "{{ a | time_short }} {{ b | date_long }} {{ c | date_short }}"
    text = render(workspace_with, body, variables={
        "a": datetime(2027, 3, 29, 9, 0), "b": "2027-02-22 09:00", "c": date(2027, 5, 2)})
    assert text == "09:00 lundi 22 février 2027 02/05/2027"


def test_custom_date_pattern(workspace_with: Build) -> None:
    assert render(workspace_with, "{{ session.start | date('EEEE d MMMM') }}") == (
        "jeudi 1 avril"
    )
    assert render(workspace_with, "{{ session.start | datetime('d/M HH:mm') }}") == "1/4 18:00"


def test_a_date_filter_on_a_wrong_value_names_the_line(workspace_with: Build) -> None:
    renderer = workspace_with({"t.j2": "ligne 1\n{{ 'pas une date' | date_long }}"})
    with pytest.raises(TemplateError) as caught:
        renderer.render_for("x", "t", make_context())
    assert caught.value.problem.line == 2
    assert "date_long" in caught.value.problem.message


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(hours=1), "dans 1 heure"),
        (timedelta(minutes=30), "dans 30 minutes"),
        (timedelta(seconds=20), "maintenant"),
        (timedelta(days=1), "demain"),
        (timedelta(days=2), "après-demain"),
        (timedelta(days=3), "dans 3 jours"),
        (timedelta(days=7), "dans 7 jours"),
        (timedelta(days=21), "dans 3 semaines"),
        (timedelta(hours=-2), "il y a 2 heures"),
    ],
)
def test_countdown_in_french(delta: timedelta, expected: str) -> None:
    at = datetime(2027, 3, 1, 18, 0, tzinfo=PARIS)
    assert countdown_text(at + delta, at, "fr", PARIS) == expected


def test_countdown_counts_calendar_days_across_dst() -> None:
    # 7 days before a Thursday 18:00 (summer time) at 17:00 winter time: 7 calendar days.
    at = datetime(2027, 3, 25, 17, 0, tzinfo=PARIS)
    start = datetime(2027, 4, 1, 18, 0, tzinfo=PARIS)
    assert countdown_text(start, at, "fr", PARIS) == "dans 7 jours"
    assert countdown_text(start, at, "en", PARIS) == "in 7 days"


def test_countdown_filter_is_relative_to_the_delivery(workspace_with: Build) -> None:
    body = "{{ session.start | countdown }}"
    at = datetime(2027, 3, 31, 18, 0, tzinfo=PARIS)
    assert render(workspace_with, body, at=at) == "demain"
    assert render(workspace_with, body, at=at + timedelta(hours=23)) == "dans 1 heure"


def test_duration_filter(workspace_with: Build) -> None:
    assert render(workspace_with, "{{ session.duration | duration }}") == "1\u00a0heure 30 minutes"


UTM = UtmDefaults()


def test_utm_tags_a_link_for_the_network_campaign_and_post() -> None:
    url = tag_link("https://mooc-leader20.fr/inscription", network="x", campaign_id="lancement",
                   post_id="teaser", utm=UTM)
    assert url == ("https://mooc-leader20.fr/inscription?utm_source=x&utm_medium=social"
                   "&utm_campaign=lancement&utm_content=teaser")


def test_utm_keeps_existing_parameters_and_fragment() -> None:
    url = tag_link("https://a.fr/p?ref=news%20letter&utm_source=mail#top", network="facebook",
                   campaign_id="c", post_id="p", utm=UTM, content="bouton")
    assert url == ("https://a.fr/p?ref=news%20letter&utm_source=mail&utm_medium=social"
                   "&utm_campaign=c&utm_content=bouton#top")


def test_utm_leaves_other_links_alone() -> None:
    for url in ("mailto:equipe@mooc-leader20.fr", "/relative/path", "ftp://a.fr/x"):
        assert tag_link(url, network="x", campaign_id="c", post_id="p", utm=UTM) == url
    disabled = UtmDefaults(enabled=False)
    assert tag_link("https://a.fr", network="x", campaign_id="c", post_id="p",
                    utm=disabled) == "https://a.fr"


def test_utm_defaults_override_source_and_campaign() -> None:
    utm = UtmDefaults(medium="organic", source="mooc", campaign="saison-2027")
    url = tag_link("https://a.fr", network="x", campaign_id="c", post_id="p", utm=utm)
    assert url == ("https://a.fr?utm_source=mooc&utm_medium=organic&utm_campaign=saison-2027"
                   "&utm_content=p")


def test_utm_filter_uses_the_template_context(workspace_with: Build) -> None:
    text = render(workspace_with, "{{ post.link | utm(content='cta') }}", "linkedin")
    assert text == ("https://mooc-leader20.fr/inscription?utm_source=linkedin&utm_medium=social"
                    "&utm_campaign=lancement&utm_content=cta")


def test_utm_source_of_a_manual_channel_is_its_id(workspace_with: Build) -> None:
    text = render(workspace_with, "{{ link }}", "manual")
    assert "utm_source=manual-channel" in text


def test_hashtags() -> None:
    assert hashtags(["leadership", "#MOOC", "Management 2.0", "télétravail"]) == (
        "#leadership #MOOC #Management20 #télétravail"
    )
    assert hashtags("leadership, MOOC") == "#leadership #MOOC"
    assert hashtags([]) == ""


def test_hashtags_same_text_on_linkedin(workspace_with: Build) -> None:
    body = "{{ tags | hashtags }}"
    assert render(workspace_with, body, "linkedin") == "#leadership #MOOC"
    assert render(workspace_with, body, "x") == "#leadership #MOOC"


def test_truncate_words_keeps_whole_words() -> None:
    text = "Du manager au leader : huit semaines pour changer de posture"
    cut = truncate_text(text, 30, "facebook")
    assert cut == "Du manager au leader : huit…"
    assert len(cut) <= 30
    assert truncate_text(text, 200, "facebook") == text


def test_truncate_words_uses_x_weighting_on_x() -> None:
    text = "🎉 " * 20 + "fin"  # each emoji weighs 2 on X
    cut_x = truncate_text(text, 20, "x")
    cut_fb = truncate_text(text, 20, "facebook")
    assert x_weighted_length(cut_x) <= 20
    assert len(cut_fb) > len(cut_x)


def test_truncate_words_filter_reads_the_network(workspace_with: Build) -> None:
    body = "{{ ('中文 ' * 30) | truncate_words(21) }}"
    x_text = render(workspace_with, body, "x")
    assert x_weighted_length(x_text) <= 21
    assert len(render(workspace_with, body, "facebook")) > len(x_text)
