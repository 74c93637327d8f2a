"""Live sessions once created, against the sandbox: ``cm sessions`` lists each host with its
link and state, ``cm preview`` announces the real link (the other host keeping its
placeholder), and ``cm preview SESSION/live`` shows the very body the adapter sent."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest

from cm_toolkit.channels.meet import MeetChannel
from cm_toolkit.channels.youtube import YouTubeChannel
from cm_toolkit.cli import main
from cm_toolkit.scheduler.publisher import Step
from tests.scheduler.conftest import START, Rig
from tests.scheduler.workspace import live_session

SESSION_START = START + timedelta(days=1, hours=1)


def _cli(rig: Rig, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    code = main([*args, "--json", "--workspace", str(rig.root),
                 "--database-url", str(rig.ledger.engine.url)])
    return code, json.loads(capsys.readouterr().out)


@pytest.fixture
def youtube_created(rig: Rig) -> Rig:
    """live-1 hosted on YouTube and Meet; only YouTube's broadcast is created (yet)."""
    (rig.root / "templates" / "announce.j2").write_text(
        "{{ text }} {{ session.link }} / {{ session.links.meet }}\n", encoding="utf-8")
    rig.apply(sessions=[live_session("live-1", SESSION_START, hosted_on=("youtube", "meet"))])
    rig.clock.set(START + timedelta(hours=1))
    assert rig.run("live-1/live", "youtube").step is Step.PUBLISHED
    return rig


def test_cm_sessions_lists_hosts_links_and_states(
        youtube_created: Rig, capsys: pytest.CaptureFixture[str]) -> None:
    rig = youtube_created
    link = rig.row("live-1/live", "youtube").remote_url
    code, payload = _cli(rig, capsys, "sessions")
    assert code == 0
    (session,) = payload["sessions"]
    assert session["session"] == "live-1" and session["start"] == "2027-03-02T10:00:00+00:00"
    assert session["hosts"] == [
        {"channel": "youtube", "network": "youtube", "state": "published",
         "creation_due": "2027-03-01T10:00:00+00:00", "link": link},
        {"channel": "meet", "network": "meet", "state": "planned",
         "creation_due": "2027-03-01T10:00:00+00:00", "link": None},
    ]
    assert session["reminders"] == {"planned": 1}
    assert main(["sessions", "--workspace", str(rig.root),
                 "--database-url", str(rig.ledger.engine.url)]) == 0
    out = capsys.readouterr().out
    assert "live-1" in out and "published" in out and "to be created at" in out


def test_preview_announces_the_created_link_and_the_others_placeholder(
        youtube_created: Rig, capsys: pytest.CaptureFixture[str]) -> None:
    rig = youtube_created
    link = rig.row("live-1/live", "youtube").remote_url
    assert link is not None
    code, payload = _cli(rig, capsys, "preview", "live-1")
    assert code == 0
    (delivery,) = payload["deliveries"]
    meet = "https://meet.google.com/xxx-xxxx-xxx"
    assert delivery["text"] == f"live-1 in 3600s {link} / {meet}"
    assert delivery["live_links"] == {"youtube": {"link": link, "placeholder": False},
                                      "meet": {"link": meet, "placeholder": True}}
    # the same link goes out at send time (rendered by the publisher, then sent to X)
    rig.clock.set(SESSION_START - timedelta(hours=1))
    (rig.root / "templates" / "announce.j2").write_text("{{ text }} {{ session.link }}\n",
                                                        encoding="utf-8")
    rig.apply(sessions=[live_session("live-1", SESSION_START, hosted_on=("youtube", "meet"))])
    assert rig.run("live-1/announce/0", "x-mooc").step is Step.PUBLISHED
    assert rig.row("live-1/announce/0", "x-mooc").rendered_text == f"live-1 in 3600s {link}"


def test_a_meet_link_not_created_at_send_time_fails_with_the_reason(youtube_created: Rig) -> None:
    rig = youtube_created
    rig.clock.set(SESSION_START - timedelta(hours=1))
    assert rig.run("live-1/announce/0", "x-mooc").step is Step.FAILED
    error = rig.row("live-1/announce/0", "x-mooc").last_error or ""
    assert "templates/announce.j2:1: live session 'live-1' has no meet link yet" in error
    assert "None" not in error and not [c for c in rig.creates("x") if c.status == 201]


def test_preview_session_live_shows_the_body_the_adapter_sends(
        youtube_created: Rig, capsys: pytest.CaptureFixture[str]) -> None:
    rig = youtube_created
    code, payload = _cli(rig, capsys, "preview", "live-1/live")
    assert code == 0
    setups = {s["channel"]: s for s in payload["live_setups"]}
    youtube, meet = setups["youtube"], setups["meet"]
    assert youtube["title"] == "Live live-1: your questions"
    assert youtube["privacy"] == "public" and meet["privacy"] is None
    assert youtube["start"] == "2027-03-02T10:00:00+00:00"
    assert youtube["end"] == "2027-03-02T11:00:00+00:00"
    assert youtube["link"] == rig.row("live-1/live", "youtube").remote_url
    assert youtube["link_created"] and not meet["link_created"]
    [insert] = [c for c in rig.creates("youtube") if c.status == 200]
    assert youtube["request_body"] == insert.json_body()  # exactly what was sent
    assert meet["request_body"]["summary"] == "Live live-1: your questions"
    assert "hangoutsMeet" in json.dumps(meet["request_body"])
    # ... and what Meet is then sent is that body too
    assert rig.run("live-1/live", "meet").step is Step.PUBLISHED
    [event] = rig.sandbox.journal.entries(network="meet", method="POST", path=r".*/events")
    assert event.json_body() == meet["request_body"]


def test_the_placeholders_have_the_form_and_length_of_the_created_links(
        youtube_created: Rig, capsys: pytest.CaptureFixture[str]) -> None:
    rig = youtube_created
    assert rig.run("live-1/live", "meet").step is Step.PUBLISHED
    created = {"youtube": rig.row("live-1/live", "youtube").remote_url,
               "meet": rig.row("live-1/live", "meet").remote_url}
    placeholders = {"youtube": YouTubeChannel.live_link_placeholder,
                    "meet": MeetChannel.live_link_placeholder}
    for network, link in created.items():
        placeholder = placeholders[network]
        assert link is not None and placeholder is not None
        assert len(link) == len(placeholder)
        shape = re.sub(r"[A-Za-z0-9_-]", "a", placeholder.rsplit("/", 1)[1].split("=")[-1])
        assert re.sub(r"[A-Za-z0-9_-]", "a", link.rsplit("/", 1)[1].split("=")[-1]) == shape
    # cm check reads them from the ledger: the announcement is checked with both real links
    code, payload = _cli(rig, capsys, "check")
    assert code == 0 and payload["plan"]["x"]["posts_with_url"] == 1


def test_preview_session_live_on_a_channel_that_is_not_a_host(
        youtube_created: Rig, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["preview", "live-1/live", "--channel", "youtub", "--workspace",
                 str(youtube_created.root)])
    assert code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "live-1/live is not hosted on channel 'youtub'" in err and "'youtube'" in err
