from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from cm_toolkit.errors import WorkspaceError
from cm_toolkit.planning import growth_snapshot_times


def test_daily_snapshots_follow_local_time_across_dst(workspace_of: Any) -> None:
    ws = workspace_of({"growth": {"snapshot": "0 6 * * *"}})
    times = list(growth_snapshot_times(ws, datetime(2027, 3, 27, tzinfo=UTC),
                                       datetime(2027, 3, 29, 4, tzinfo=UTC)))
    assert times == [datetime(2027, 3, 27, 5, tzinfo=UTC), datetime(2027, 3, 28, 4, tzinfo=UTC)]


def test_end_is_exclusive(workspace_of: Any) -> None:
    ws = workspace_of({"growth": {"snapshot": "0 * * * *"}})
    start = datetime(2027, 1, 1, tzinfo=UTC)
    assert len(list(growth_snapshot_times(ws, start, datetime(2027, 1, 1, 3, tzinfo=UTC)))) == 3


def test_bad_snapshot_cron_is_a_workspace_problem(workspace_of: Any) -> None:
    ws = workspace_of({"growth": {"snapshot": "every day"}})
    with pytest.raises(WorkspaceError) as raised:
        list(growth_snapshot_times(ws, datetime(2027, 1, 1, tzinfo=UTC),
                                   datetime(2027, 1, 2, tzinfo=UTC)))
    assert "growth: snapshot" in raised.value.problems[0].message
