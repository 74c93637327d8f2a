"""Live announcements as ``cm preview`` and ``cm check`` show them: each host's link (a
placeholder of the host's own form and length until the session is created), and a template
naming a link the session cannot have is an error at ``cm check``, with its file and line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cm_toolkit.channels.meet import MeetChannel
from cm_toolkit.channels.youtube import YouTubeChannel
from cm_toolkit.cli import main
from tests.scheduler.workspace import live_session, post, write_workspace

START = datetime(2031, 3, 6, 18, 0, tzinfo=UTC)  # ahead of any test run: nothing stale
YOUTUBE = "https://www.youtube.com/watch?v=XXXXXXXXXXX"
MEET = "https://meet.google.com/xxx-xxxx-xxx"


def _workspace(tmp_path: Path, template: str, hosted_on: tuple[str, ...]) -> Path:
    session = live_session("live-1", START, hosted_on=hosted_on, announce_on=("x-mooc",))
    root = write_workspace(tmp_path / "ws", sessions=[session])
    (root / "templates" / "announce.j2").write_text(template, encoding="utf-8")
    return root


def test_the_placeholders_are_the_adapters_class_data() -> None:
    assert YouTubeChannel.live_link_placeholder == YOUTUBE  # an 11-character video id
    assert MeetChannel.live_link_placeholder == MEET


def test_a_session_on_both_hosts_announces_both_links(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _workspace(tmp_path, "Live: {{ session.links.youtube }} or {{ session.links.meet }}\n",
                      ("youtube", "meet"))
    code = main(["preview", "live-1", "--json", "--workspace", str(root)])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0
    (delivery,) = payload["deliveries"]
    assert delivery["text"] == f"Live: {YOUTUBE} or {MEET}"
    assert delivery["live_links"] == {"youtube": {"link": YOUTUBE, "placeholder": True},
                                      "meet": {"link": MEET, "placeholder": True}}
    # X measures each URL as 23 and prices a post with one at $0.200: as it will be sent
    assert delivery["length"] == len("Live:  or ") + 2 * 23
    assert delivery["cost_usd"] == 0.2
    assert main(["check", "--workspace", str(root)]) == 0


def test_session_link_is_never_none_in_a_preview(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _workspace(tmp_path, "Join here: {{ session.link }}\n", ("meet",))
    code = main(["preview", "live-1", "--json", "--workspace", str(root)])
    (delivery,) = json.loads(capsys.readouterr().out)["deliveries"]
    assert code == 0 and delivery["text"] == f"Join here: {MEET}"


def test_a_link_the_session_cannot_have_is_an_error_at_check(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _workspace(tmp_path, "Live!\nMeet: {{ session.links.meet }}\n", ("youtube",))
    code = main(["check", "--workspace", str(root)])
    out = " ".join(capsys.readouterr().out.split())
    assert code == 1
    assert ("templates/announce.j2:2: live session 'live-1' is not hosted on meet: it has no "
            "session.links.meet") in out
    assert "its links: session.links.youtube" in out


def test_the_templates_see_the_hosts_and_not_the_links_internals(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _workspace(tmp_path, "{{ session.hosts | join(',') }}\n", ("youtube", "meet"))
    assert main(["preview", "live-1", "--json", "--workspace", str(root)]) == 0
    (delivery,) = json.loads(capsys.readouterr().out)["deliveries"]
    assert delivery["text"] == "youtube,meet"
    root = _workspace(tmp_path / "2", "{{ session.links._session_id }}\n", ("youtube",))
    assert main(["preview", "live-1", "--json", "--workspace", str(root)]) == 1
    capsys.readouterr()




def test_session_link_in_a_post_of_no_session_is_an_error_at_check(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_workspace(tmp_path / "ws", [post("hello", START, ["x-mooc"])])
    (root / "templates" / "plain.j2").write_text("{{ text }}\nJoin here: {{ session.link }}\n",
                                                 encoding="utf-8")
    code = main(["check", "--workspace", str(root)])
    out = " ".join(capsys.readouterr().out.split())
    assert code == 1
    assert "templates/plain.j2:2: cannot read 'link' of an empty value (None)" in out
    assert "Join here: None" not in out


def test_a_mistyped_ledger_url_is_refused_and_not_created(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _workspace(tmp_path, "Live: {{ session.link }}\n", ("youtube",))
    missing = tmp_path / "nowhere" / "cm.db"
    for command in (["preview", "live-1"], ["check"], ["sessions"]):
        code = main([*command, "--workspace", str(root), "--database-url", f"sqlite:///{missing}"])
        err = " ".join(capsys.readouterr().err.split())
        assert code == 2 and f"there is no ledger at {missing}" in err, command
    assert not missing.parent.exists()


def test_a_reminder_due_before_its_session_is_created_is_an_error_at_check(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    session = live_session("live-1", START, hosted_on=("youtube",), create_before=timedelta(days=1),
                           announce_before=(timedelta(days=7), timedelta(hours=1)))
    root = write_workspace(tmp_path / "ws", sessions=[session])
    code = main(["check", "--workspace", str(root)])
    out = " ".join(capsys.readouterr().out.split())
    assert code == 1
    lines = (root / "schedules.yaml").read_text().splitlines()
    first_reminder = lines.index("    - template: announce") + 1  # the reminder's own line
    assert (f"schedules.yaml:{first_reminder}: live-1/announce/0 is due 7d before live session 'live-1' starts, but the session is "
            "created only 1d before (create_before): this reminder would wait for its link and "
            "be missed") in out
    assert "set create_before to at least 7d on the session" in out
    assert "live-1/announce/1 is due" not in out  # an hour before: the session exists by then


def test_session_link_is_the_public_hosts_whatever_the_order(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert YouTubeChannel.live_link_public and not MeetChannel.live_link_public
    root = _workspace(tmp_path, "{{ session.link }}\n", ("meet", "youtube"))
    assert main(["preview", "live-1", "--json", "--workspace", str(root)]) == 0
    (delivery,) = json.loads(capsys.readouterr().out)["deliveries"]
    assert delivery["text"] == YOUTUBE


def test_every_built_in_live_host_declares_its_placeholder_link() -> None:
    from cm_toolkit.channels.base import Capability
    from cm_toolkit.channels.registry import channel_class, registered

    hosts = [channel_class(network) for network in registered()
             if Capability.LIVE in channel_class(network).capabilities]
    assert {cls.network for cls in hosts} == {"youtube", "meet"}
    for cls in hosts:
        assert (cls.live_link_placeholder or "").startswith("https://"), cls
