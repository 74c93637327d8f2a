"""``cm growth import``: all rows or none, every bad row reported with its line."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from cm_toolkit.errors import UsageError, WorkspaceError
from cm_toolkit.growth.importer import import_history
from cm_toolkit.ledger import Ledger
from cm_toolkit.ledger.models import FollowerSnapshot

NETWORKS = {"x-mooc": "x", "facebook-page": "facebook"}
PARIS = ZoneInfo("Europe/Paris")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "history.csv"
    path.write_text(text, encoding="utf-8")
    return path


def count(ledger: Ledger) -> int:
    with ledger.reading() as session:
        return session.scalar(select(func.count()).select_from(FollowerSnapshot)) or 0


def test_imports_every_row_in_the_workspace_zone(ledger: Ledger, tmp_path: Path) -> None:
    path = write(tmp_path, "Channel,Date,Followers\n"
                           "x-mooc,2025-09-01,1200\n"
                           "x-mooc,2025-09-08 06:00,1300\n"
                           "\n"
                           "facebook-page,2025-09-01T00:00+00:00,800\n")
    result = import_history(ledger, path, NETWORKS, PARIS)
    assert (result.rows, result.added, result.unchanged) == (3, 3, 0)
    with ledger.reading() as session:
        rows = session.execute(select(FollowerSnapshot.channel_id, FollowerSnapshot.taken_at,
                                      FollowerSnapshot.followers, FollowerSnapshot.network)
                               .order_by(FollowerSnapshot.id)).all()
    assert rows == [
        ("x-mooc", datetime(2025, 8, 31, 22, 0, tzinfo=UTC), 1200, "x"),  # Paris midnight
        ("x-mooc", datetime(2025, 9, 8, 4, 0, tzinfo=UTC), 1300, "x"),
        ("facebook-page", datetime(2025, 9, 1, 0, 0, tzinfo=UTC), 800, "facebook"),
    ]
    again = import_history(ledger, path, NETWORKS, PARIS)
    assert (again.added, again.unchanged) == (0, 3) and count(ledger) == 3


def test_bad_rows_are_all_reported_and_nothing_is_imported(ledger: Ledger, tmp_path: Path) -> None:
    path = write(tmp_path, "date,channel,followers\n"
                           "2025-09-01,x-mooc,1200\n"
                           "2025-09-02,x-moc,1210\n"
                           "yesterday,x-mooc,1220\n"
                           "2025-09-04,x-mooc,-5\n"
                           "2025-09-01,x-mooc,1200\n")
    with pytest.raises(WorkspaceError) as caught:
        import_history(ledger, path, NETWORKS, PARIS)
    problems = caught.value.problems
    assert [(p.line, p.column) for p in problems] == [(3, 2), (4, 1), (5, 3), (6, None)]
    assert "did you mean 'x-mooc'" in problems[0].fix
    assert "already on line 2" in problems[3].message
    assert all(p.file == str(path) for p in problems)
    assert count(ledger) == 0


def test_a_conflict_with_the_ledger_rolls_everything_back(ledger: Ledger, tmp_path: Path) -> None:
    import_history(ledger, write(tmp_path, "date,channel,followers\n2025-09-01,x-mooc,1200\n"),
                   NETWORKS, PARIS)
    path = write(tmp_path, "date,channel,followers\n2025-09-02,x-mooc,1250\n"
                           "2025-09-01,x-mooc,999\n")
    with pytest.raises(WorkspaceError) as caught:
        import_history(ledger, path, NETWORKS, PARIS)
    [problem] = caught.value.problems
    assert problem.line == 3 and "already has 1200 followers" in problem.message
    assert count(ledger) == 1  # the good line 2 was not imported either


def test_old_channels_need_a_network_column(ledger: Ledger, tmp_path: Path) -> None:
    path = write(tmp_path, "date,channel,followers,network\n2024-01-01,old-page,50,facebook\n"
                           "2024-01-01,other,50,myspace\n")
    with pytest.raises(WorkspaceError) as caught:
        import_history(ledger, path, NETWORKS, PARIS)
    assert [(p.line, "unknown network" in p.message) for p in caught.value.problems] == [(3, True)]
    path.write_text("date,channel,followers,network\n2024-01-01,old-page,50,facebook\n")
    assert import_history(ledger, path, NETWORKS, PARIS).added == 1


def test_header_and_file_problems(ledger: Ledger, tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError) as caught:
        import_history(ledger, write(tmp_path, "when,channel,followers\n"), NETWORKS, PARIS)
    assert caught.value.problems[0].line == 1 and "date" in caught.value.problems[0].message
    with pytest.raises(WorkspaceError):
        import_history(ledger, write(tmp_path, ""), NETWORKS, PARIS)
    with pytest.raises(UsageError):
        import_history(ledger, tmp_path / "absent.csv", NETWORKS, PARIS)
