"""``cm review`` never suggests sending again a live reminder whose moment has passed."""

from __future__ import annotations

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from cm_toolkit.cli import main
from cm_toolkit.ledger import decisions, reminders
from cm_toolkit.ledger.states import DeliveryState
from cm_toolkit.scheduler.publisher import Step
from tests.scheduler.conftest import START, Rig
from tests.scheduler.workspace import live_session

UTC_ZONE = ZoneInfo("UTC")
SESSION_START = START + timedelta(days=2)  # 2027-03-03 09:00 UTC


def _missed_reminders(rig: Rig) -> None:
    """live-1 on 3 March 09:00; reminders 1 day and 1 hour before; cm run was not running."""
    rig.apply(sessions=[live_session("live-1", SESSION_START, create_before=timedelta(days=2),
                                     announce_before=(timedelta(days=1), timedelta(hours=1)))])
    rig.clock.set(START + timedelta(minutes=1))
    assert rig.run("live-1/live", "youtube").step is Step.PUBLISHED
    rig.clock.set(SESSION_START - timedelta(hours=3))  # the day itself, 06:00
    assert rig.run("live-1/announce/0", "x-mooc").step is Step.MISSED


def _advice(rig: Rig, now_offset: timedelta) -> dict[str, str]:
    items = decisions.review(rig.ledger)
    now = SESSION_START + now_offset
    stale = reminders.out_of_date(rig.ledger, items, now, UTC_ZONE)
    return {i.post_key: (reminders.advice(i, stale[i.id]) if i.id in stale else i.what_to_do)
            for i in items}


def test_a_day_before_reminder_is_not_retried_on_the_day_itself(rig: Rig) -> None:
    _missed_reminders(rig)
    row = rig.row("live-1/announce/0", "x-mooc")
    advice = _advice(rig, -timedelta(hours=3))["live-1/announce/0"]
    assert advice == (f"cm resolve {row.id} --drop: it was written for 2027-03-02 and live "
                      "session live-1 is today: it would say the wrong day, so sending it now "
                      "would mislead")
    assert "cm retry" not in advice


def test_a_reminder_after_a_later_one_or_the_start_is_dropped(rig: Rig) -> None:
    _missed_reminders(rig)
    # an hour before the start the next reminder is due: this one is old news
    advice = _advice(rig, -timedelta(minutes=30))["live-1/announce/0"]
    assert "a later reminder (live-1/announce/1) was due at 2027-03-03 08:00" in advice
    advice = _advice(rig, timedelta(minutes=5))["live-1/announce/0"]
    assert "live session live-1 started at 2027-03-03 09:00" in advice and "retry" not in advice


def test_a_reminder_still_in_time_keeps_cm_retry(rig: Rig) -> None:
    _missed_reminders(rig)
    row = rig.row("live-1/announce/0", "x-mooc")
    # the day before (its own day): retrying it now still says the right thing
    advice = _advice(rig, -timedelta(hours=20))["live-1/announce/0"]
    assert advice == f"fix the cause, then cm retry {row.id} (or cm resolve {row.id} --drop)"


def test_cm_review_shows_the_advice(rig: Rig, capsys: pytest.CaptureFixture[str]) -> None:
    _missed_reminders(rig)
    code = main(["review", "--json", "--workspace", str(rig.root),
                 "--database-url", str(rig.ledger.engine.url)])
    (item,) = json.loads(capsys.readouterr().out)
    assert code == 0 and item["state"] == DeliveryState.MISSED.value
    # the real clock is years before this season: nothing is out of date yet
    assert item["what_to_do"].startswith("fix the cause, then cm retry")
