"""The one catalogue of the dashboard's and the report's words, and Babel's formats."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from jinja2 import Environment

from cm_toolkit.growth.wording import Wording, catalogue


def test_french_says_everything_english_says() -> None:
    english, french = catalogue("en"), catalogue("fr")
    assert set(french) == set(english)
    for section, words in english.items():
        assert set(french[section]) == set(words), section
        assert all(value.strip() for value in french[section].values()), section


def test_a_missing_word_falls_back_to_english_and_a_wrong_key_is_an_error() -> None:
    words = Wording("de")  # no German catalogue: English words, German numbers
    assert words.code == "de" and words.dashboard.next_up == "Next up"
    assert words.count(1234) == "1.234"
    with pytest.raises(KeyError):
        words.dashboard["no such key"]
    with pytest.raises(KeyError):  # in a template too: an error, never a blank label
        Environment().from_string("{{ words.dashboard.no_such_key }}").render(words=words)
    with pytest.raises(KeyError):
        Environment().from_string("{{ words.no_such_section.x }}").render(words=words)
    assert Wording(None).code == "en" and Wording("fr_CA").code == "fr"
    assert Wording("not a language!").code == "en"


@pytest.mark.parametrize(("language", "shown"), [
    ("fr", ("1\u202f234", "+1\u202f234", "12,3\xa0%", "x2,52", "50\xa0%", "2 j 4 h", "3 j",
            "3 févr. 2027 18:00", "mercredi 3 février 2027")),
    ("en", ("1,234", "+1,234", "12.3%", "x2.52", "50%", "2 d 4 h", "3 d",
            "Feb 3, 2027 6:00\u202fPM", "Wednesday, February 3, 2027")),
])
def test_numbers_and_dates(language: str, shown: tuple[str, ...]) -> None:
    words = Wording(language)
    moment = datetime(2027, 2, 3, 17, 0, tzinfo=UTC)
    assert (words.count(1234), words.signed(1234), words.percent(12.34), words.multiple(2.5234),
            words.share(0.5), words.delay(timedelta(days=2, hours=4)),
            words.age(timedelta(days=3)), words.moment(moment, ZoneInfo("Europe/Paris")),
            words.long_day(date(2027, 2, 3))) == shown
    assert words.count(None) == words.multiple(None) == "—"
