"""``cm growth import``: follower history kept elsewhere (a spreadsheet) into the ledger.

The file is CSV with a header naming the columns ``date``, ``channel`` and ``followers`` (any
order, any case; an optional ``network`` column lets history of a channel no longer in the
workspace in). Every row is checked first; any problem aborts the whole import and lists every
bad row as ``file:line``. The rows are then inserted in one transaction: all or nothing.
Importing the same file twice adds nothing the second time (same channel, instant and count).
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from cm_toolkit.errors import Problem, UsageError, WorkspaceError
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.snapshot_writes import NewSnapshot, import_snapshots
from cm_toolkit.workspace.datetimes import DateTimeError, localize, parse_datetime
from cm_toolkit.workspace.models import Network
from cm_toolkit.workspace.networks import known_networks

REQUIRED = ("date", "channel", "followers")


@dataclass(frozen=True)
class ImportResult:
    rows: int  # data rows read
    added: int  # snapshots inserted
    unchanged: int  # already in the ledger with the same count


@dataclass(frozen=True)
class _Row:
    line: int
    channel_id: str
    network: Network
    taken_at: datetime
    followers: int


def _refused(problems: list[Problem], name: str) -> WorkspaceError:
    """The problems of the file being imported (not of the workspace): nothing is imported."""
    return WorkspaceError(problems, where=name, outcome="nothing was imported")


def _header(reader: Iterator[list[str]], name: str) -> dict[str, int]:
    try:
        header: list[str] = next(reader)
    except StopIteration:
        raise _refused([Problem(name, 1, None, "the file is empty",
                               "write a header line: date,channel,followers")], name) from None
    columns = {cell.strip().lower(): index for index, cell in enumerate(header)}
    missing = [column for column in REQUIRED if column not in columns]
    if missing:
        raise _refused([Problem(
            name, 1, None, f"the header lacks the column(s) {', '.join(missing)}",
            "the first line must name the columns, e.g. date,channel,followers")], name)
    return columns


def _parse_row(
    cells: list[str], columns: dict[str, int], line: int, name: str,
    networks: dict[str, Network], zone: ZoneInfo, problems: list[Problem],
) -> _Row | None:
    def cell(column: str) -> str:
        index = columns.get(column)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    def problem(column: str, message: str, fix: str) -> None:
        problems.append(Problem(name, line, columns[column] + 1, message, fix))

    channel_id, raw_date, raw_count = cell("channel"), cell("date"), cell("followers")
    bad = len(problems)
    network = networks.get(channel_id)
    if not channel_id:
        problem("channel", "the channel is empty", "write the channel id (a file in channels/)")
    elif network is None and "network" in columns and cell("network"):
        network = cell("network").lower()
        if network not in known_networks():
            problem("network", f"unknown network {cell('network')!r}",
                    "one of " + ", ".join(known_networks()))
            network = None
    elif network is None:
        close = difflib.get_close_matches(channel_id, list(networks), n=1)
        problem("channel", f"no channel {channel_id!r} in this workspace",
                f"did you mean {close[0]!r}?" if close else
                "use a channel id from channels/, or add a network column for an old channel")
    taken_at: datetime | None = None
    try:
        taken_at = localize(parse_datetime(raw_date), zone).astimezone(UTC)
    except DateTimeError as exc:
        problem("date", f"{raw_date!r} {exc}", "write 2026-09-14 or 2026-09-14 06:00")
    try:
        followers = int(raw_count.replace("_", "").replace(" ", ""))
        if followers < 0:
            raise ValueError
    except ValueError:
        followers = -1
        problem("followers", f"{raw_count!r} is not a follower count",
                "write a whole number of 0 or more, without separators")
    if len(problems) > bad or network is None or taken_at is None:
        return None
    return _Row(line, channel_id, network, taken_at, followers)


def read_history(path: Path, networks: dict[str, Network], zone: ZoneInfo) -> list[_Row]:
    """Every row of the file, or ``WorkspaceError`` listing every bad row (file:line:column)."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"there is no file {path}", fix="check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}", fix="save it as UTF-8 CSV") from None
    reader = csv.reader(text.splitlines())
    columns = _header(reader, name)
    problems: list[Problem] = []
    rows: list[_Row] = []
    seen: dict[tuple[str, datetime], int] = {}
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        row = _parse_row(cells, columns, line, name, networks, zone, problems)
        if row is None:
            continue
        first = seen.setdefault((row.channel_id, row.taken_at), line)
        if first != line:
            problems.append(Problem(name, line, None,
                                    f"{row.channel_id} at {row.taken_at:%Y-%m-%d %H:%M} UTC "
                                    f"is already on line {first}", "keep one of the two lines"))
            continue
        rows.append(row)
    if problems:
        raise _refused(problems, name)
    return rows


def import_history(
    ledger: Ledger, path: Path, networks: dict[str, Network], zone: ZoneInfo,
) -> ImportResult:
    """Check the whole file, then insert its snapshots in one transaction."""
    rows = read_history(path, networks, zone)
    name = str(path)
    fresh: list[_Row] = []
    unchanged = 0

    def choose(existing: Mapping[tuple[str, datetime], int]) -> list[NewSnapshot]:
        nonlocal unchanged
        problems: list[Problem] = []
        for row in rows:
            known = existing.get((row.channel_id, row.taken_at))
            if known is None:
                fresh.append(row)
            elif known == row.followers:
                unchanged += 1
            else:
                problems.append(Problem(
                    name, row.line, None,
                    f"the ledger already has {known} followers for {row.channel_id} at "
                    f"{row.taken_at:%Y-%m-%d %H:%M} UTC (this line says {row.followers})",
                    "remove the line, or correct it to match"))
        if problems:
            raise _refused(problems, name)  # raised inside the transaction: it rolls back
        return [NewSnapshot(r.channel_id, r.network, r.taken_at, r.followers) for r in fresh]

    import_snapshots(ledger, [(r.channel_id, r.taken_at) for r in rows], choose)
    return ImportResult(len(rows), len(fresh), unchanged)
