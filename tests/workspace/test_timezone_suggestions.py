"""A mistyped or abbreviated time zone gets the city zone it means, through ``cm check`` and
``cm init``: IANA names with daylight saving time (``America/New_York``), never ``EST5`` nor
``EST``; a valid zone without daylight saving time (``EST``, ``GMT+1``) is a warning."""

from __future__ import annotations

from pathlib import Path

import pytest

from cm_toolkit.cli import main

CITY_FOR = [
    ("New York", "America/New_York"),
    ("new-york", "America/New_York"),
    ("EST5", "America/New_York"),
    ("Eastern Time", "America/New_York"),
    ("PST8PDT ", "America/Los_Angeles"),
    ("Paris, France", "Europe/Paris"),
    ("Europe/Pari", "Europe/Paris"),
    ("Montréal", "America/Montreal"),
    ("Asia/Tokio", "Asia/Tokyo"),
]


def _set_timezone(root: Path, zone: str) -> None:
    path = root / "schedules.yaml"
    text = path.read_text(encoding="utf-8")
    assert "timezone: Europe/Paris" in text
    path.write_text(text.replace("timezone: Europe/Paris", f'timezone: "{zone}"'),
                    encoding="utf-8")


def _check(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["check", "-w", str(root)])
    return code, capsys.readouterr().out


@pytest.mark.parametrize(("written", "meant"), CITY_FOR)
def test_check_suggests_the_city_zone(workspace: Path, capsys: pytest.CaptureFixture[str],
                                      written: str, meant: str) -> None:
    _set_timezone(workspace, written)
    code, out = _check(workspace, capsys)
    assert code == 1
    [line] = [line for line in out.splitlines() if "`timezone`" in line]
    assert line.endswith(f"is not an IANA time zone — did you mean `{meant}`?"), line


def test_nothing_close_names_examples_rather_than_a_legacy_zone(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _set_timezone(workspace, "UTC+1")
    code, out = _check(workspace, capsys)
    assert code == 1
    assert ("`timezone` `UTC+1` is not an IANA time zone — use an IANA name such as "
            "Europe/Paris or America/Montreal") in out


@pytest.mark.parametrize(("zone", "said"), [
    ("EST", ("is a fixed offset with no daylight saving time (summer posts would be an hour "
            "off): use `America/New_York` or your city's zone")),
    ("Etc/GMT-1", ("is UTC+1 all year (the sign of these names is reversed) with no daylight "
                  "saving time")),
])
def test_a_zone_without_daylight_saving_is_a_warning(
    workspace: Path, capsys: pytest.CaptureFixture[str], zone: str, said: str
) -> None:
    _set_timezone(workspace, zone)
    code, out = _check(workspace, capsys)
    assert code == 0, out
    assert f"schedules.yaml:3:11: warning: `timezone` `{zone}` {said}" in out, out


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "US/Eastern"])
def test_zones_with_their_rules_are_not_warned_about(
    workspace: Path, capsys: pytest.CaptureFixture[str], zone: str
) -> None:
    _set_timezone(workspace, zone)
    code, out = _check(workspace, capsys)
    assert code == 0 and "`timezone`" not in out, out


def test_init_suggests_the_city_zone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["init", str(tmp_path / "ws"), "--timezone", "EST5"])
    err = capsys.readouterr().err
    assert code == 2 and "did you mean `America/New_York`?" in err, err
    assert not (tmp_path / "ws").exists()
