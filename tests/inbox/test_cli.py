"""``cm inbox`` in-process (``cm_toolkit.cli.main``) against a sandbox served on a port, as
``cm sandbox serve`` would; the sandbox's clock is moved so that the audience has commented."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import pytest

from cm_toolkit.clock import ManualClock
from cm_toolkit.sandbox.server import Sandbox
from tests.scheduler.test_cli import Cli as SchedulerCli
from tests.scheduler.workspace import post, write_workspace


@dataclass
class Cli(SchedulerCli):
    """The scheduler tests' ``cm`` caller, with the sandbox's clock."""

    clock: ManualClock = field(default_factory=lambda: ManualClock(datetime.now(UTC)))

    def json(self, *args: str, flag: bool = True) -> Any:
        code, out, err = self(*args, *(["--json"] if flag else []))
        assert code == 0, err
        return json.loads(out)

    def replies_posted(self, comment_id: str) -> list[str]:
        entries = self.sandbox.journal.entries(method="POST",
                                               path=rf"/v[0-9.]+/{comment_id}/comments")
        return [parse_qs(e.body)["message"][0] for e in entries
                if e.status is None or e.status < 400]


@pytest.fixture
def cm(tmp_path: Path, capsys: pytest.CaptureFixture[str],
       monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    monkeypatch.setenv("CM_TOKEN_DIR", str(tmp_path / "tokens"))
    monkeypatch.setenv("COLUMNS", "200")
    now = datetime.now(UTC).replace(microsecond=0)
    root = write_workspace(tmp_path / "ws", [post("news", now + timedelta(days=1),
                                                  ["facebook-page"])])
    clock = ManualClock(now)
    with Sandbox(seed=3, clock=clock, epoch=now).running(port=0) as sandbox:
        yield Cli(root, f"sqlite:///{tmp_path / 'cm.db'}", sandbox, capsys, clock)


def synced(cm: Cli) -> list[dict[str, Any]]:
    assert cm("publish", "news", "--now", sandbox=True)[0] == 0
    cm.clock.advance(timedelta(hours=30))
    code, out, err = cm("inbox", "sync", sandbox=True)
    assert code == 0, err
    assert "facebook-page comments:" in out
    groups = cm.json("inbox", "--network", "facebook")
    return [m for g in groups for m in g["messages"]]


def test_sync_twice_stores_nothing_twice_and_lists_newest_first(cm: Cli) -> None:
    messages = synced(cm)
    assert messages and {m["network"] for m in messages} == {"facebook"}
    everything = [m for g in cm.json("inbox") for m in g["messages"]]
    assert {m["network"] for m in everything} >= {"facebook", "x"}
    assert {m["state"] for m in messages} == {"new"}
    assert all("suggestions" in m for m in messages)
    code, out, _ = cm("inbox", "sync", "--network", "facebook", sandbox=True)
    assert code == 0 and "0 new" in out
    again = [m for g in cm.json("inbox") for m in g["messages"]]
    assert sorted(m["id"] for m in again) == sorted(m["id"] for m in everything)


def test_reply_reaches_the_network_once_and_a_second_is_refused(cm: Cli) -> None:
    target = synced(cm)[0]
    code, out, err = cm("inbox", "reply", str(target["id"]), "--text", "Merci, voir le cours",
                        sandbox=True)
    assert code == 0, err
    assert "published" in out
    code, _, err = cm("inbox", "reply", str(target["id"]), "--text", "Encore", sandbox=True)
    assert code == 1 and "already answered" in err and "--again" in err
    assert len(err.strip().splitlines()) == 1
    assert cm.replies_posted(target["remote_id"]) == ["Merci, voir le cours"]
    shown = cm.json("inbox", "show", str(target["id"]))
    assert shown["message"]["state"] == "answered"
    assert [r["state"] for r in shown["replies"]] == ["published"]
    assert shown["post"]["post"] == "news"
    code, _, _ = cm("inbox", "reply", str(target["id"]), "--text", "Et aussi", "--again",
                    sandbox=True)
    assert code == 0 and len(cm.replies_posted(target["remote_id"])) == 2


def test_unknown_reply_is_reviewed_and_resolved(cm: Cli) -> None:
    target = synced(cm)[0]
    cm.sandbox.faults.add("facebook:drop-after-commit@once")
    code, out, _ = cm("inbox", "reply", str(target["id"]), "--text", "Peut-être", sandbox=True)
    assert code == 1 and "unknown" in out
    code, out, _ = cm("review")
    assert "reply 1" in out and "resolve" in out, out
    [item] = [i for i in cm.json("review") if i.get("reply")]
    assert item["text"] == "Peut-être" and item["state"] == "unknown"
    code, out, _ = cm("inbox", "resolve", str(item["id"]), "--published", "https://fb/x")
    assert code == 0 and "marked published" in out
    assert cm.json("inbox", "show", str(target["id"]))["message"]["state"] == "answered"


def test_people_decide_on_messages(cm: Cli) -> None:
    first, second = synced(cm)[:2]
    assert cm("inbox", "assign", str(first["id"]), "instructor")[0] == 0
    assert cm("inbox", "close", str(second["id"]))[0] == 0
    listed = {m["id"]: m for g in cm.json("inbox", "--network", "facebook")
              for m in g["messages"]}
    assert listed[first["id"]]["state"] == "open"
    assert listed[first["id"]]["assignee"] == "instructor"
    assert second["id"] not in listed
    closed = cm.json("inbox", "--state", "closed")
    assert [m["id"] for g in closed for m in g["messages"]] == [second["id"]]
    assert cm("inbox", "reopen", str(second["id"]))[0] == 0
    assert cm("inbox", "reopen", str(second["id"]))[0] == 0  # already open: nothing to do


def test_manual_channel_add_import_export_and_purge(cm: Cli, tmp_path: Path) -> None:
    code, out, err = cm("inbox", "add", "linkedin-group", "--author", "Ana",
                        "--text", "Quel est le rôle du manager 2.0 ?", "--thread", "débat-1")
    assert code == 0, err
    assert cm("inbox", "add", "linkedin-group", "--author", "Ana", "--text", "x",
              "--at", "2026-01-01 10:00")[0] == 0
    rows = tmp_path / "group.csv"
    rows.write_text("author,text,at,thread\nBen,Je ne suis pas d'accord,2026-01-02 09:00,"
                    "débat-1\nAna,Pourquoi ?,2026-01-02 10:00,débat-1\n", encoding="utf-8")
    code, out, _ = cm("inbox", "import", str(rows), "--channel", "linkedin-group")
    assert code == 0 and "2 message(s) added" in out
    code, out, _ = cm("inbox", "import", str(rows), "--channel", "linkedin-group")
    assert "0 message(s) added, 2 already there" in out
    listed = [m for g in cm.json("inbox", "--channel", "linkedin-group") for m in g["messages"]]
    assert len(listed) == 4 and all(m["kind"] == "manual" for m in listed)
    assert {m["network"] for m in listed} == {"manual"}
    exported = cm.json("inbox", "export", "--author", "Ana", flag=False)
    assert len(exported["messages"]) == 3
    code, out, _ = cm("inbox", "purge")  # 180 days by default: the three from January
    assert code == 0 and "3 message(s) older than 180d purged" in out
    [kept] = cm.json("inbox", "export", "--author", "Ana", flag=False)["messages"]
    assert kept["text"] == "Quel est le rôle du manager 2.0 ?"


def test_sync_of_a_network_without_an_inbox_says_how_to_log_its_messages(cm: Cli) -> None:
    code, out, err = cm("inbox", "sync", "--network", "manual", sandbox=True)
    assert code == 0, err
    said = " ".join(out.split())
    assert said.startswith("No channel of this workspace (manual) reads conversations (the "
                           "networks read: ")
    assert "mastodon, x, youtube)" in said and "meet" not in said
    assert said.endswith("): log what people say there with cm inbox add CHANNEL "
                         "(docs/inbox.md).")


def test_times_are_shown_in_the_workspace_zone_or_utc(cm: Cli) -> None:
    messages = synced(cm)
    schedules = cm.root / "schedules.yaml"
    text = schedules.read_text(encoding="utf-8")
    assert "timezone: UTC" in text
    schedules.write_text(text.replace("timezone: UTC", "timezone: America/Montreal"),
                         encoding="utf-8")
    first = messages[0]
    at = datetime.fromisoformat(first["received_at"])
    local = at.astimezone(ZoneInfo("America/Montreal"))
    code, out, _ = cm("inbox", "--network", "facebook")
    assert code == 0
    assert f"#{first['id']} new {local:%Y-%m-%d %H:%M %Z} " in out, out
    assert " UTC " not in out
    code, out, _ = cm("inbox", "--network", "facebook", "--utc")
    assert f"#{first['id']} new {at.astimezone(UTC):%Y-%m-%d %H:%M} UTC " in out
    code, out, _ = cm("inbox", "show", str(first["id"]))
    assert f"> #{first['id']} {local:%Y-%m-%d %H:%M %Z} " in out
    code, out, _ = cm("inbox", "show", str(first["id"]), "--utc")
    assert f"> #{first['id']} {at.astimezone(UTC):%Y-%m-%d %H:%M} UTC " in out


@pytest.mark.parametrize("args", [
    ["inbox"], ["inbox", "show", "1"], ["inbox", "export", "--author", "Ana"],
    ["inbox", "close", "1"], ["inbox", "assign", "1", "instructor"],
    ["inbox", "resolve", "1", "--drop"], ["inbox", "purge"],
])
def test_readers_and_deciders_refuse_a_missing_ledger_and_create_none(
    cm: Cli, args: list[str]
) -> None:
    ledger = Path(cm.database_url.removeprefix("sqlite:///"))
    assert not ledger.exists()
    code, _, err = cm(*args)
    said = " ".join(err.split())  # one message (the terminal may wrap it)
    assert code == 1 and said.startswith("error: there is no ledger") and "cm apply" in said
    assert "Traceback" not in err
    assert not ledger.exists()


def test_reading_commands_open_the_ledger_read_only(cm: Cli) -> None:
    [message, *_] = synced(cm)
    ledger = Path(cm.database_url.removeprefix("sqlite:///"))
    with sqlite3.connect(ledger) as connection:  # as if left by an older cm-toolkit
        connection.execute("UPDATE alembic_version SET version_num = '0003'")
    for args in (["inbox"], ["inbox", "show", str(message["id"])],
                 ["inbox", "export", "--author", "x"]):
        code, _, err = cm(*args)
        # read-only: it says so, where a writer would have migrated the ledger
        assert code == 1 and "older cm-toolkit" in err, (args, err)
    with sqlite3.connect(ledger) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone() == (
            "0003",)


@pytest.mark.parametrize(("args", "said"), [
    (["inbox", "--state", "opne"], "did you mean `open`"),
    (["inbox", "--network", "facebok"], "did you mean `facebook`"),
    (["inbox", "--channel", "x-moc"], "did you mean `x-mooc`"),
    (["inbox", "--limit", "0"], "at least 1"),
    (["inbox", "--json", "show", "1"], "--json before `show` is an option of the listing"),
    (["inbox", "show", "999"], "no inbox message 999"),
    (["inbox", "close", "999"], "no inbox message 999"),
    (["inbox", "reply", "1"], "exactly one of --text"),
    (["inbox", "resolve", "1"], "exactly one of --published"),
    (["inbox", "resolve", "999", "--drop"], "no reply 999"),
    (["inbox", "add", "facebook-page", "--author", "A", "--text", "t"], "cm inbox sync"),
    (["inbox", "add", "nowhere", "--author", "A", "--text", "t"], "no channel 'nowhere'"),
    (["inbox", "add", "linkedin-group", "--author", "A", "--text", "t", "--at", "soon"],
     "--at 'soon'"),
    (["inbox", "purge", "--older-than", "forever"], "--older-than 'forever'"),
    (["inbox", "import", "missing.csv", "--channel", "linkedin-group"], "cannot read"),
])
def test_wrong_values_end_in_one_line_and_an_exit_code(cm: Cli, args: list[str],
                                                       said: str) -> None:
    assert cm("apply")[0] == 0  # a ledger, with no message nor reply 999
    code, out, err = cm(*args)
    assert code in (1, 2), out
    assert said in err
    assert len(err.strip().splitlines()) == 1, err


def test_a_bad_csv_row_is_shown_at_its_line(cm: Cli, tmp_path: Path) -> None:
    rows = tmp_path / "bad.csv"
    rows.write_text("author,text,at\nBen,ok,\n,no author,\nAna,late,someday\n",
                    encoding="utf-8")
    code, _, err = cm("inbox", "import", str(rows), "--channel", "linkedin-group")
    assert code == 1
    assert f"{rows}:3: author and text are required" in err
    assert f"{rows}:4: bad time" in err
