"""``cm check`` in-process: output, JSON, exit codes (0 clean, 1 problems, 2 usage)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cm_toolkit.cli import main
from cm_toolkit.errors import Problem, Severity
from cm_toolkit.workspace.check import check_workspace
from cm_toolkit.workspace.models import Workspace
from tests.workspace.conftest import NOW, write

TOKEN = "EAAGm0PX4ZCpsBAKZCq1w2e3r4t5y6u7i8o9p0"


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_clean_workspace_exits_0_with_a_summary(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(["check", "--workspace", str(workspace)], capsys)
    assert code == 0
    # The plan check's table comes before the summary line.
    assert out.strip().splitlines()[-1] == (
        "1 campaign, 3 posts, 1 live session, 5 channels, 2 templates — no problem"
    )


def test_problems_exit_1_and_are_all_printed(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        workspace,
        "schedules.yaml",
        """
        timezone: Europe/Pari
        campaigns:
          - id: c1
            name: C1
            posts:
              - id: p1
                template: teasr
                channels: [x-mooc]
                at: 2027-02-08 10:00
    """,
    )
    code, out, _ = _run(["check", "-w", str(workspace)], capsys)
    assert code == 1
    lines = out.strip().splitlines()
    assert lines[0] == (
        "schedules.yaml:1:11: `timezone` `Europe/Pari` is not an IANA time zone"
        " — did you mean `Europe/Paris`?"
    )
    assert lines[1] == (
        'schedules.yaml:7:19: post "p1": unknown template `teasr` — did you mean `teaser`?'
    )
    assert lines[2] == (
        "1 campaign, 1 post, 0 live sessions, 5 channels, 2 templates — 2 errors, 0 warnings"
    )


def test_warnings_alone_exit_0(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(
        workspace,
        "schedules.yaml",
        """
        timezone: Europe/Paris
        variables: {course: C}
        campaigns:
          - id: c1
            name: C1
            posts:
              - {id: p1, template: teaser, channels: [x-mooc], at: 2020-01-06 10:00}
    """,
    )
    code, out, _ = _run(["check", "-w", str(workspace)], capsys)
    assert code == 0
    assert 'warning: post "p1" is due 2020-01-06 10:00 CET, which has passed' in out
    assert out.strip().endswith("0 errors, 1 warning")


def test_json_output(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(workspace, "schedules.yaml", "timezone: Europe/Paris\nzzz: 1\n")
    code, out, _ = _run(["check", "-w", str(workspace), "--json"], capsys)
    assert code == 1
    report = json.loads(out)
    assert report["problems"] == [
        {
            "file": "schedules.yaml",
            "line": 2,
            "column": 1,
            "severity": "error",
            "message": "unknown key `zzz`",
            "fix": report["problems"][0]["fix"],
        }
    ]
    assert report["summary"] == {
        "campaigns": 0,
        "posts": 0,
        "live_sessions": 0,
        "channels": 5,
        "templates": 2,
        "errors": 1,
        "warnings": 0,
    }


@pytest.mark.parametrize("missing", ["folder", "schedules"])
def test_not_a_workspace_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], missing: str
) -> None:
    target = tmp_path / "nowhere" if missing == "folder" else tmp_path
    code, out, err = _run(["check", "--workspace", str(target)], capsys)
    assert code == 2
    assert out == ""
    assert "--workspace" in err and "Traceback" not in err


def test_bad_option_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = _run(["check", "--no-such-option"], capsys)
    assert code == 2


def test_secret_value_is_never_printed(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(
        workspace,
        "channels/facebook-page.yaml",
        f"""
        network: facebook
        account:
          page_id: "104857600123456"
          token: {TOKEN}
        secrets:
          page_token: {TOKEN}
    """,
    )
    for args in (["check", "-w", str(workspace)], ["check", "-w", str(workspace), "--json"]):
        code, out, err = _run(args, capsys)
        assert code == 1
        assert TOKEN not in out and TOKEN not in err
        assert "put it in an environment variable and reference it as {env: NAME}" in out


def test_extra_checks_run_on_a_loaded_workspace(workspace: Path) -> None:
    seen: list[Workspace] = []

    def plan_check(loaded: Workspace) -> list[Problem]:
        seen.append(loaded)
        return [Problem("templates/teaser.j2", 1, 1, "too long for X", "shorten it")]

    report = check_workspace(workspace, NOW, extra_checks=[plan_check], settings_lookup=None)
    assert len(seen) == 1 and not report.ok
    assert [str(p) for p in report.problems] == [
        "templates/teaser.j2:1:1: too long for X — shorten it"
    ]


def test_extra_checks_are_skipped_when_loading_failed(workspace: Path) -> None:
    write(workspace, "schedules.yaml", "timezone: 3\n")
    report = check_workspace(
        workspace,
        datetime(2027, 1, 1, tzinfo=UTC),
        extra_checks=[lambda loaded: pytest.fail("must not run")],
        settings_lookup=None,
    )
    assert report.workspace is None
    assert [p.severity for p in report.problems] == [Severity.ERROR]
