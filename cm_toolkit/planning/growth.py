"""When follower snapshots are taken: ``growth.snapshot`` cron times in the workspace zone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from cm_toolkit.errors import Problem, WorkspaceError
from cm_toolkit.workspace.models import Workspace
from cm_toolkit.workspace.times import CronSyntaxError, cron_times


def growth_snapshot_times(
    workspace: Workspace, start: datetime, end: datetime
) -> Iterator[datetime]:
    """Snapshot instants (aware UTC) in ``[start, end)``; ``start``/``end`` must be aware."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("growth_snapshot_times needs aware datetimes")
    schedules = workspace.schedules
    try:
        times = cron_times(schedules.growth.snapshot, ZoneInfo(schedules.timezone), start)
        for moment in times:
            if moment >= end:
                return
            yield moment
    except CronSyntaxError as exc:
        raise WorkspaceError(
            [Problem("schedules.yaml", None, None, f"growth: snapshot: {exc}",
                     "write 5 fields, e.g. '0 6 * * *' for every day at 06:00")]
        ) from None
