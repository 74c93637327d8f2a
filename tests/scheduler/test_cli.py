"""A person's decisions through ``cm`` (in-process ``cm_toolkit.cli.main``) against a sandbox
served on a port, as ``cm sandbox serve`` would: publish --now, cancel, retry, review, resolve."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cm_toolkit.cli import main
from cm_toolkit.ledger.engine import open_ledger
from cm_toolkit.ledger.models import Delivery
from cm_toolkit.ledger.states import DeliveryState
from cm_toolkit.sandbox.server import Sandbox
from tests.scheduler.conftest import CREATE_PATHS
from tests.scheduler.workspace import post, stamp, write_workspace

S = DeliveryState


@dataclass
class Cli:
    root: Path
    database_url: str
    sandbox: Sandbox
    capsys: pytest.CaptureFixture[str]

    def __call__(self, *args: str, sandbox: bool = False) -> tuple[int, str, str]:
        self.capsys.readouterr()
        argv = [*args, "--workspace", str(self.root), "--database-url", self.database_url]
        if sandbox:
            argv += ["--sandbox", self.sandbox.base_url]
        code = main(argv)
        out, err = self.capsys.readouterr()
        return code, out, err

    def rows(self, post_key: str) -> list[Delivery]:
        ledger = open_ledger(self.database_url, self.root)
        try:
            with ledger.reading() as session:
                from sqlalchemy import select

                return list(session.scalars(select(Delivery).where(
                    Delivery.post_key == post_key).order_by(Delivery.channel_id)))
        finally:
            ledger.close()

    def row(self, post_key: str) -> Delivery:
        [found] = self.rows(post_key)
        return found

    def creates(self, network: str) -> list[Any]:
        method, path = CREATE_PATHS[network]
        return self.sandbox.journal.entries(network=network, method=method, path=path)


@pytest.fixture
def cm(tmp_path: Path, capsys: pytest.CaptureFixture[str],
       monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    monkeypatch.setenv("CM_TOKEN_DIR", str(tmp_path / "tokens"))
    monkeypatch.setenv("COLUMNS", "200")
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    root = write_workspace(tmp_path / "ws", [
        post("news", tomorrow, ["x-mooc", "facebook-page"]),
        post("oops", tomorrow, ["x-mooc"], template="broken"),
        post("maybe", tomorrow, ["facebook-page"], text="Peut-être publié"),
    ])
    with Sandbox(seed=3).running(port=0) as sandbox:
        yield Cli(root, f"sqlite:///{tmp_path / 'cm.db'}", sandbox, capsys)


def test_publish_now_sends_every_waiting_delivery_of_the_post(cm: Cli) -> None:
    code, out, _ = cm("publish", "news", "--now", sandbox=True)
    assert code == 0, out
    assert [r.state for r in cm.rows("news")] == [S.PUBLISHED, S.PUBLISHED]
    assert len(cm.creates("x")) == len(cm.creates("facebook")) == 1
    assert "published" in out
    code, out, err = cm("publish", "news", "--now", sandbox=True)  # nothing left to send
    assert code == 2 and "has no delivery waiting to be sent" in err
    assert len(cm.creates("x")) == 1


def test_publish_without_now_is_a_usage_error(cm: Cli) -> None:
    code, _, err = cm("publish", "news")
    assert code == 2 and "needs --now" in err


def _mend_the_broken_template(cm: Cli) -> None:
    """cm apply refuses what cm check refuses, so the tests that apply mend "oops"'s template
    first (the others publish it with --now, which renders at send time and fails)."""
    (cm.root / "templates" / "broken.j2").write_text("Bonjour\n", encoding="utf-8")


def _apply_keeping_oops_broken(cm: Cli) -> None:
    """Apply with "oops"'s template mended (apply refuses what check refuses), then break it
    again, so that its publish --now fails at send time."""
    path = cm.root / "templates" / "broken.j2"
    broken = path.read_text(encoding="utf-8")
    _mend_the_broken_template(cm)
    assert cm("apply")[0] == 0
    path.write_text(broken, encoding="utf-8")


def test_cancel_holds_the_delivery_and_apply_does_not_bring_it_back(cm: Cli) -> None:
    code, _, err = cm("apply")
    assert code == 1 and "broken.j2:2" in err  # refused as cm check refuses it
    _mend_the_broken_template(cm)
    assert cm("apply")[0] == 0
    code, out, _ = cm("cancel", "news", "--channel", "x-mooc", "--yes")
    assert code == 0 and "1 delivery of news cancelled" in out
    x_row = next(r for r in cm.rows("news") if r.channel_id == "x-mooc")
    assert x_row.state is S.CANCELLED and x_row.held
    assert cm("apply")[0] == 0
    states = {r.channel_id: r.state for r in cm.rows("news")}
    assert states == {"x-mooc": S.CANCELLED, "facebook-page": S.PLANNED}
    # cm retry lifts the hold: the person changed their mind; it keeps its planned instant
    code, out, _ = cm("retry", str(x_row.id))
    assert code == 0 and "due at its planned instant" in out
    assert cm("apply")[0] == 0
    row = next(r for r in cm.rows("news") if r.channel_id == "x-mooc")
    assert row.state is S.PLANNED and not row.held
    assert row.due_at == x_row.due_at


def test_retry_past_its_grace_window_is_due_now(cm: Cli, tmp_path: Path) -> None:
    """A delivery whose instant and grace window are over is sent now, not at its old date."""
    long_ago = datetime.now(UTC) - timedelta(days=3)
    write_workspace(tmp_path / "ws", [post("old", long_ago, ["x-mooc"])])
    assert cm("apply")[0] == 0
    row = cm.row("old")
    assert cm("cancel", "old", "--yes")[0] == 0
    before = datetime.now(UTC)
    code, out, _ = cm("retry", str(row.id))
    assert code == 0 and "planned again, due now" in out, out
    assert cm.row("old").due_at.replace(tzinfo=UTC) >= before.replace(microsecond=0)


def test_a_failed_publish_now_keeps_its_date_and_retry_puts_it_back_there(cm: Cli) -> None:
    _apply_keeping_oops_broken(cm)
    planned = cm.row("oops").due_at
    code, _, _ = cm("publish", "oops", "--now", sandbox=True)
    assert code == 1 and cm.row("oops").state is S.FAILED
    assert cm.row("oops").due_at == planned  # not the instant of the failed attempt
    (cm.root / "templates" / "broken.j2").write_text("Réparé : {{ text }}\n", encoding="utf-8")
    code, out, _ = cm("retry", str(cm.row("oops").id))
    row = cm.row("oops")
    assert code == 0 and "due at its planned instant" in out
    assert row.state is S.PLANNED and row.last_error is None
    assert row.due_at == planned
    code, _, err = cm("retry", str(row.id))  # planned: nothing to retry
    assert code == 2 and "cannot be retried" in err
    assert cm("publish", "oops", "--now", sandbox=True)[0] == 0
    assert cm.row("oops").rendered_text == "Réparé : oops says hello"


def _make_unknown(cm: Cli, fault: str = "drop-after-commit") -> Delivery:
    cm.sandbox.faults.add(f"facebook:{fault}@once")
    code, _, _ = cm("publish", "maybe", "--now", sandbox=True)
    row = cm.row("maybe")
    assert code == 1 and row.state is S.UNKNOWN
    return row


def test_review_lists_what_needs_a_decision_with_what_to_do(cm: Cli) -> None:
    assert cm("publish", "oops", "--now", sandbox=True)[0] == 1
    unknown = _make_unknown(cm)
    code, out, _ = cm("review", "--json")
    assert code == 0
    items = {item["post"]: item for item in json.loads(out)}
    assert set(items) == {"oops", "maybe"}
    assert items["maybe"]["state"] == "unknown" and items["maybe"]["id"] == unknown.id
    assert items["maybe"]["text"] == "Peut-être publié"
    assert f"cm resolve {unknown.id} --published URL | --resend | --drop" in (
        items["maybe"]["what_to_do"])
    assert items["oops"]["state"] == "failed" and "broken.j2:2" in items["oops"]["error"]
    code, out, _ = cm("review")
    assert code == 0 and "Deliveries that need a decision" in out and "maybe" in out


def test_resolve_published_records_the_url(cm: Cli) -> None:
    row = _make_unknown(cm)
    url = "https://www.facebook.com/104857600123456/posts/1"
    code, out, _ = cm("resolve", str(row.id), "--published", url)
    assert code == 0 and "marked published" in out
    assert (cm.row("maybe").state, cm.row("maybe").remote_url) == (S.PUBLISHED, url)


def test_resolve_resend_plans_it_again_and_publish_sends_it_once_more(cm: Cli) -> None:
    row = _make_unknown(cm, "drop")  # dropped before Facebook processed it: not online
    assert cm("resolve", str(row.id), "--resend")[0] == 0
    assert cm.row("maybe").state is S.PLANNED
    assert cm("publish", "maybe", "--now", sandbox=True)[0] == 0
    assert cm.row("maybe").state is S.PUBLISHED
    assert [e.fault for e in cm.creates("facebook")] == ["drop", None]


def test_resolve_drop_gives_it_up_for_good(cm: Cli) -> None:
    row = _make_unknown(cm)
    assert cm("resolve", str(row.id), "--drop")[0] == 0
    assert cm.row("maybe").state is S.CANCELLED and cm.row("maybe").held
    _mend_the_broken_template(cm)
    assert cm("apply")[0] == 0 and cm.row("maybe").state is S.CANCELLED


@pytest.mark.parametrize("options", [[], ["--resend", "--drop"],
                                     ["--published", "https://x.com/a/status/1", "--resend"]])
def test_resolve_needs_exactly_one_option(cm: Cli, options: list[str]) -> None:
    row = _make_unknown(cm)
    code, _, err = cm("resolve", str(row.id), *options)
    assert code == 2 and "exactly one of --published URL, --resend, --drop" in err
    assert cm.row("maybe").state is S.UNKNOWN


def test_resolve_refuses_a_delivery_that_is_not_unknown(cm: Cli) -> None:
    _mend_the_broken_template(cm)
    assert cm("apply")[0] == 0
    code, _, err = cm("resolve", str(cm.rows("news")[0].id), "--resend")
    assert code == 2 and "it cannot be resent" in err


def test_a_publish_now_that_will_be_retried_goes_back_to_its_date(cm: Cli) -> None:
    """A retryable failure of `cm publish --now` does not send it before its planned date."""
    _apply_keeping_oops_broken(cm)
    planned = {r.channel_id: r.due_at for r in cm.rows("news")}
    cm.sandbox.faults.add("facebook:500@once")
    code, _, _ = cm("publish", "news", "--now", sandbox=True)
    assert code == 1
    rows = {r.channel_id: r for r in cm.rows("news")}
    assert rows["x-mooc"].state is S.PUBLISHED
    facebook = rows["facebook-page"]
    assert (facebook.state, facebook.due_at, facebook.next_attempt_at) == (
        S.PLANNED, planned["facebook-page"], None)


def _weekly(cm: Cli, tmp_path: Path) -> list[Delivery]:
    """A weekly post on X, three occurrences from next week (a recurring post)."""
    start = (datetime.now(UTC) + timedelta(days=7)).replace(hour=9, minute=0, second=0,
                                                          microsecond=0)
    weekly = post("weekly", start, ["x-mooc"], every=f"0 9 * * {start:%a}".upper(), count=3)
    del weekly["at"]
    root = write_workspace(tmp_path / "ws", [weekly])
    schedules = root / "schedules.yaml"  # repetitions count from the campaign's start
    schedules.write_text(schedules.read_text().replace(
        "- id: season\n", f"- id: season\n  start: '{stamp(start - timedelta(hours=1))}'\n"))
    code, out, err = cm("apply")
    assert code == 0, out + err
    rows = sorted(cm.rows("weekly"), key=lambda r: r.occurrence)
    assert [r.occurrence for r in rows] == [1, 2, 3]
    return rows


def test_cancel_lists_and_asks_before_cancelling(cm: Cli, tmp_path: Path) -> None:
    rows = _weekly(cm, tmp_path)
    code, out, _ = cm("cancel", "weekly")  # no terminal to answer: nothing is cancelled
    assert code == 1 and "Cancel these 3 deliveries?" in out and "Nothing cancelled" in out
    assert all(r.state is S.PLANNED for r in cm.rows("weekly"))
    for row in rows:
        assert str(row.id) in out
    code, out, _ = cm("cancel", "weekly", "--occurrence", "2", "--yes")
    assert code == 0 and "1 delivery of weekly cancelled" in out
    states = {r.occurrence: r.state for r in cm.rows("weekly")}
    assert states == {1: S.PLANNED, 2: S.CANCELLED, 3: S.PLANNED}
    day = f"{rows[2].due_at:%Y-%m-%d}"
    code, out, _ = cm("cancel", "weekly", "--at", day, "--yes")  # a holiday week
    assert code == 0 and "1 delivery of weekly cancelled" in out
    assert {r.occurrence: r.state for r in cm.rows("weekly")}[3] is S.CANCELLED
    code, _, err = cm("cancel", "weekly", "--occurrence", "2", "--yes")
    assert code == 2 and "no delivery left to cancel --occurrence 2" in err
    code, _, err = cm("cancel", "weekly", "--at", "next week", "--yes")
    assert code == 2 and "neither a date nor a date-time" in err


def test_cancel_a_mistyped_post_suggests_the_right_one(cm: Cli) -> None:
    _apply_keeping_oops_broken(cm)
    code, _, err = cm("cancel", "nwes", "--yes")
    assert code == 2 and "did you mean `news`?" in " ".join(err.split())


def test_status_and_review_show_ids_and_workspace_times(
    cm: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS")  # piped output: rows are whole, not cut at 80 columns
    schedules = cm.root / "schedules.yaml"
    schedules.write_text(schedules.read_text().replace("timezone: UTC",
                                                       "timezone: America/New_York"))
    _apply_keeping_oops_broken(cm)
    x_row = next(r for r in cm.rows("news") if r.channel_id == "x-mooc")
    code, out, _ = cm("status")
    assert code == 0 and "due (America/New_York)" in out
    local = x_row.due_at.replace(tzinfo=UTC).astimezone(ZoneInfo("America/New_York"))
    # one line holds the id, the local time and the channel
    assert any(line.split("│")[1].strip() == str(x_row.id) and f"{local:%Y-%m-%d %H:%M}" in line
               and "x-mooc" in line for line in out.splitlines() if line.count("│") > 3), out
    code, out, _ = cm("status", "--utc")
    assert code == 0 and "due (UTC)" in out
    assert cm("publish", "oops", "--now", sandbox=True)[0] == 1
    code, out, _ = cm("review")
    assert code == 0 and "due (America/New_York)" in out
