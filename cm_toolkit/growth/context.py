"""What the growth metrics need besides the ledger: names, time zone, reference date, cadence.

``GrowthContext.from_workspace`` reads them from the workspace; ``GrowthContext.bare`` is used
when only a ledger is at hand (UTC, channel ids as names, reference from the ledger's campaigns).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from cm_toolkit.errors import CmError
from cm_toolkit.ledger.report_reads import earliest_campaign_start, earliest_due
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.planning.growth import growth_snapshot_times
from cm_toolkit.workspace.models import Workspace

DEFAULT_INTERVAL = timedelta(days=1)


@dataclass(frozen=True)
class GrowthContext:
    """Labels and settings of the metrics.

    ``reference``: the instant growth multiples are computed from (``growth.reference``, else
    the earliest campaign start, else the first planned delivery; ``None``: the first snapshot).
    ``snapshot_interval``: the longest interval between two instants of the growth cadence; two
    snapshots further apart than 1.5 times this leave a gap in the curves.
    """

    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    reference: datetime | None = None
    snapshot_interval: timedelta = DEFAULT_INTERVAL
    names: dict[str, str] = field(default_factory=dict)
    title: str = "cm-toolkit"
    language: str = "en"  # defaults.language: the words, numbers and dates of pages and report
    # channel id -> network: the Inbox page's network filter offers the workspace's networks
    networks: dict[str, str] = field(default_factory=dict)

    def name_of(self, channel_id: str) -> str:
        return self.names.get(channel_id, channel_id)

    @property
    def gap_after(self) -> timedelta:
        """Two consecutive snapshots further apart than this are separated by a gap."""
        return self.snapshot_interval * 1.5

    @classmethod
    def from_workspace(cls, workspace: Workspace, ledger: Ledger | None = None) -> GrowthContext:
        schedules = workspace.schedules
        reference = schedules.growth.reference
        if reference is None:
            starts = [c.start for c in schedules.campaigns if c.start is not None]
            reference = min(starts) if starts else None
        if reference is None and ledger is not None:
            reference = earliest_due(ledger)
        names = {cid: (c.name or cid) for cid, c in workspace.channels.items()}
        networks = {cid: str(c.network) for cid, c in workspace.channels.items()}
        courses = schedules.variables.get("course")
        return cls(
            zone=ZoneInfo(schedules.timezone),
            reference=reference.astimezone(UTC) if reference is not None else None,
            snapshot_interval=_cadence_interval(workspace),
            names=names,
            title=str(courses) if courses else workspace.root.name,
            language=schedules.defaults.language,
            networks=networks,
        )

    @classmethod
    def bare(cls, ledger: Ledger, reference: datetime | None = None) -> GrowthContext:
        """A context from the ledger alone (UTC; reference: earliest campaign start)."""
        if reference is None:
            reference = earliest_campaign_start(ledger)
            if reference is None:
                reference = earliest_due(ledger)
        return cls(reference=reference)

    def with_reference(self, reference: datetime | None) -> GrowthContext:
        if reference is None:
            return self
        return GrowthContext(self.zone, reference.astimezone(UTC), self.snapshot_interval,
                             self.names, self.title, self.language, self.networks)


def _cadence_interval(workspace: Workspace) -> timedelta:
    """The longest interval between consecutive cadence instants over a sample of nine weeks."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    try:
        times = list(growth_snapshot_times(workspace, start, start + timedelta(days=63)))
    except CmError:
        return DEFAULT_INTERVAL
    if len(times) < 2:
        return timedelta(days=31)
    return max(b - a for a, b in pairwise(times))
