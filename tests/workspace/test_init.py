"""``cm init``: a new workspace passes ``cm check`` and rehearses in the sandbox with its own ids.

The sandbox provisions the accounts the workspace's channel files name (``Sandbox.provision``):
``cm demo``, ``cm channels --check --sandbox`` and ``cm auth --sandbox`` work for them, and an
error names the real cause.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest
import yaml

from cm_toolkit.demo import run_demo
from cm_toolkit.inbox.faq import FaqBook
from cm_toolkit.sandbox.server import Sandbox
from cm_toolkit.workspace.loader import load_workspace
from cm_toolkit.workspace.starter import StarterOptions, starter_files
from tests.cli import test_channels
from tests.cli.test_channels import run

EVERY_NETWORK = "x,facebook,linkedin,manual,youtube,meet"
# the same environment and sandbox as the channel commands' tests
clean_env = test_channels.clean_env
sandbox = test_channels.sandbox


def _account(folder: Path, channel: str) -> dict[str, str]:
    workspace, _warnings = load_workspace(folder)
    return {str(k): str(v) for k, v in workspace.channels[channel].account.items()}


def test_init_then_check_then_demo_with_its_own_ids(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = tmp_path / "club-lecture"
    code, out, err = run(capsys, "init", str(folder), "--timezone", "America/New_York",
                         "--language", "fr", "--networks", EVERY_NETWORK)
    assert code == 0, err
    assert "cm check" in out
    code, out, err = run(capsys, "check", "-w", str(folder))
    assert code == 0, out + err
    assert "no problem" in out

    page_id = _account(folder, "facebook")["page_id"]
    organization = _account(folder, "linkedin")["organization"]
    channel_id = _account(folder, "youtube")["channel_id"]
    assert page_id != "104857600123456" and organization != "urn:li:organization:5515715"

    result = run_demo(folder, seconds=2, seed=1)
    states = {key: count for key, count in result.states.items() if count}
    assert set(states) == {("facebook", "published"), ("linkedin", "published"),
                           ("x", "published"), ("youtube", "published"), ("meet", "published"),
                           ("manual", "awaiting_done")}, states
    assert result.journal is not None
    posted = [e.path for e in result.journal.entries(network="facebook", method="POST")]
    assert posted and all(f"/{page_id}/" in path for path in posted), posted
    authors = {json.loads(e.body or "{}").get("author") for e in
               result.journal.entries(network="linkedin", method="POST")
               if e.path.endswith("/posts")}
    assert authors == {organization}
    assert {line.channel_id for line in result.growth} >= {"facebook", "x", "linkedin", "youtube"}
    broadcasts = sqlite3.connect(result.database).execute(
        "select count(*) from deliveries where network = 'youtube' and state = 'published'"
    ).fetchone()
    assert broadcasts == (1,)
    assert channel_id.startswith("UC")


def test_the_sandbox_checks_and_authorizes_the_new_workspace(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sandbox: Sandbox
) -> None:
    folder = tmp_path / "atelier"
    assert run(capsys, "init", str(folder), "--networks", EVERY_NETWORK)[0] == 0
    code, out, err = run(capsys, "channels", "-w", str(folder), "--check", "--sandbox",
                         sandbox.base_url, "--json")
    assert code == 0, out + err
    checks = {row["id"]: row["check"] for row in json.loads(out)["channels"]}
    assert all(check["ok"] for check in checks.values()), checks
    assert "@Atelier" in checks["x"]["message"]
    # after `cm auth` the channel uses the stored tokens; the check must still pass (it used
    # to say "run `cm auth youtube`" right after it succeeded: the sandbox signed in as the
    # sample's channel)
    for channel in ("x", "facebook", "linkedin", "youtube", "meet"):
        code, out, err = run(capsys, "auth", channel, "-w", str(folder), "--sandbox",
                             sandbox.base_url)
        assert code == 0, f"{channel}: {out} {err}"
    code, out, err = run(capsys, "channels", "-w", str(folder), "--check", "--sandbox",
                         sandbox.base_url, "--json")
    checks = {row["id"]: row["check"] for row in json.loads(out)["channels"]}
    assert code == 0 and all(check["ok"] for check in checks.values()), checks


def test_an_unknown_page_is_named_as_the_cause(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sandbox: Sandbox
) -> None:
    """A Page id Facebook does not know (mistyped) is the error, not the app's credentials."""
    folder = tmp_path / "autre"
    assert run(capsys, "init", str(folder), "--networks", "facebook")[0] == 0
    page_id = _account(folder, "facebook")["page_id"]
    # this sandbox does not provision Pages: it plays Facebook with a mistyped Page id
    sandbox.emulator("facebook").provision = lambda account: {}  # type: ignore[method-assign]
    code, _out, err = run(capsys, "auth", "facebook", "-w", str(folder), "--sandbox",
                          sandbox.base_url)
    assert code == 1
    assert f"Page {page_id}" in err and "account.page_id" in err, err
    assert "client id" not in err, err


def test_init_refuses_a_workspace_and_wrong_options(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(capsys, "init", str(tmp_path / "a"))[0] == 0
    code, _out, err = run(capsys, "init", str(tmp_path / "a"))
    assert code == 2 and "already holds a workspace" in err
    code, _out, err = run(capsys, "init", str(tmp_path / "b"), "--timezone", "New York")
    assert code == 2 and "America/New_York" in err, err
    code, _out, err = run(capsys, "init", str(tmp_path / "c"), "--networks", "x,facebok")
    assert code == 2 and "did you mean `facebook`" in err, err
    code, _out, err = run(capsys, "init", str(tmp_path / "c"), "--networks", "twitter")
    assert code == 2 and "did you mean `x`" in err, err  # the adapter's alias, not a spelling
    code, _out, err = run(capsys, "init", str(tmp_path / "d"), "--language", "zz-notone")
    assert code == 2 and "--language" in err, err
    assert not (tmp_path / "b").exists() and not (tmp_path / "c").exists()


def test_two_folders_get_different_ids() -> None:
    options = StarterOptions(networks=("x", "facebook", "linkedin", "youtube"))
    one = starter_files(Path("/tmp/one-project"), options, date(2027, 1, 1))
    two = starter_files(Path("/tmp/other-project"), options, date(2027, 1, 1))
    for name in ("channels/x.yaml", "channels/facebook.yaml", "channels/linkedin.yaml",
                 "channels/youtube.yaml"):
        assert one[name] != two[name]


def test_init_with_mastodon_and_bluesky_checks_and_passes_the_sandbox_check(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sandbox: Sandbox
) -> None:
    """`cm init` writes what each adapter's ``starter`` fact says: any network declaring one."""
    folder = tmp_path / "campus"
    code, _out, err = run(capsys, "init", str(folder), "--networks", "mastodon,bluesky")
    assert code == 0, err
    assert _account(folder, "bluesky") == {"handle": "campus.bsky.social"}
    assert _account(folder, "mastodon")["username"] == "Campus"
    code, out, err = run(capsys, "check", "-w", str(folder))
    assert code == 0 and "no problem" in out, out + err
    code, out, err = run(capsys, "channels", "-w", str(folder), "--check", "--sandbox",
                         sandbox.base_url, "--json")
    checks = {row["id"]: row["check"] for row in json.loads(out)["channels"]}
    assert code == 0 and set(checks) == {"mastodon", "bluesky"}, out + err
    assert all(check["ok"] for check in checks.values()), checks


def test_the_default_networks_are_the_starters_marked_default(tmp_path: Path) -> None:
    files = starter_files(tmp_path / "club", StarterOptions(), date(2027, 1, 1))
    assert [name for name in files if name.startswith("channels/")] == [
        "channels/x.yaml", "channels/facebook.yaml", "channels/linkedin.yaml"]
    assert "channels: [x, facebook, linkedin]" in files["schedules.yaml"]


def test_init_writes_a_faq_whose_answers_wait_for_a_person(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The starter's faq.yaml suggests answers and renders them for every network, but sends
    nothing by itself (``auto: false``): the person reads an answer before it speaks alone."""
    for language, question, entry in (("en", "How can I sign up please?", "sign-up"),
                                      ("fr", "Comment je peux m'inscrire ?", "inscription")):
        folder = tmp_path / f"club-{language}"
        code, out, err = run(capsys, "init", str(folder), "--language", language,
                             "--networks", "x,facebook,bluesky")
        assert code == 0, err
        assert "faq.yaml" in out
        code, out, err = run(capsys, "check", "-w", str(folder))
        assert code == 0 and "no problem" in out, out + err
        workspace, _warnings = load_workspace(folder)
        book = FaqBook.load(folder, workspace=workspace)
        assert len(book.ids) == 2 and entry in book.ids
        [best, *_] = book.suggest(question, language=language)
        assert best.faq_id == entry and not best.auto
        assert not any(s.auto for s in book.suggest("contact help account problem"))
        answer = book.render(entry, network="x", language=language)
        assert "ClubEn" in answer or "ClubFr" in answer
        assert "https://example.org/" in answer and len(answer) <= 263
        written = yaml.safe_load((folder / "faq.yaml").read_text(encoding="utf-8"))
        assert [e["auto"] for e in written["entries"]] == [False, False]  # said, not implied


def test_init_never_overwrites_an_existing_faq(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "faq.yaml").write_text("version: 1\nentries: []\n", encoding="utf-8")
    code, _out, err = run(capsys, "init", str(folder))
    assert code == 2 and "already holds a workspace (faq.yaml)" in err, err
    assert (folder / "faq.yaml").read_text(encoding="utf-8") == "version: 1\nentries: []\n"
    assert sorted(p.name for p in folder.iterdir()) == ["faq.yaml"]  # nothing else written
