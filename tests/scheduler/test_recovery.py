"""Crash recovery (``scheduler/recovery.py``, ``sending/inflight.py``), on SQLite and
PostgreSQL: a real process claims deliveries, starts the request of one, and is SIGKILLed.
At the next start the delivery whose request started is ``unknown``; the others go back to the
state they were claimed from and are sent once. A file that cannot be trusted (another boot,
cut short, missing) makes every orphan ``unknown``, as before."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from cm_toolkit.ledger import DeliveryState, EventKind, Ledger
from cm_toolkit.scheduler.recovery import recover_orphans
from cm_toolkit.sending import inflight
from tests.claiming import claim
from tests.ledger.test_claim import DUE, LEASE, planned_ids
from tests.ledger_fixtures import database_url, ledger  # noqa: F401 (fixtures)

S = DeliveryState
NOW = DUE + timedelta(minutes=2)

# claims every id given, starts the request of the first, then waits to be killed
CLAIMER = """
import sys, time
from datetime import datetime, timedelta
from pathlib import Path
from cm_toolkit.ledger import open_ledger
from cm_toolkit.sending.inflight import InflightLog
from cm_toolkit.sending.worker import new_worker_id
url, root, now = sys.argv[1], Path(sys.argv[2]), datetime.fromisoformat(sys.argv[3])
ids = [int(i) for i in sys.argv[4:]]
worker = new_worker_id()
log = InflightLog(root / ".cm" / "inflight", worker)
ledger = open_ledger(url, root)
for delivery_id in ids:
    seen = ledger.snapshot(delivery_id)
    assert ledger.claim(seen, worker, now, timedelta(minutes=10)), delivery_id
log.started(ids[0])
print(worker, flush=True)
time.sleep(120)
"""


def killed_claimer(database_url: str, root: Path, ids: list[int]) -> str:  # noqa: F811
    """Run CLAIMER, SIGKILL it once it has claimed; its worker id."""
    child = subprocess.Popen(
        [sys.executable, "-c", CLAIMER, database_url, str(root), NOW.isoformat(),
         *map(str, ids)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        worker = child.stdout.readline().strip()
    finally:
        child.kill()
        _, err = child.communicate(timeout=10)
    assert worker, err
    return worker


def three_orphans(ledger: Ledger, database_url: str, root: Path) -> tuple[list[int], str]:  # noqa: F811
    """Three deliveries claimed by a killed process: the first one's request had started;
    the third was claimed from retry_wait."""
    ids = planned_ids(ledger, root, count=3)
    assert claim(ledger, ids[2], "earlier", DUE, LEASE)
    ledger.record_outcome(ids[2], "earlier", S.RETRY_WAIT, DUE, error="429",
                          retry_at=DUE + timedelta(minutes=1))
    return ids, killed_claimer(database_url, root, ids)


def test_orphans_whose_request_never_started_wait_again_the_started_one_is_unknown(
    ledger: Ledger, database_url: str, tmp_path: Path  # noqa: F811
) -> None:
    ids, worker = three_orphans(ledger, database_url, tmp_path)
    folder = tmp_path / ".cm" / "inflight"
    assert inflight.started_ids(folder, worker) == {ids[0]}

    settled = recover_orphans(ledger, "this/1/000000", NOW, folder, None)

    assert sorted(settled) == sorted(ids)
    states = {i: ledger.get(i) for i in ids}
    started, planned, retrying = (states[i] for i in ids)
    assert started is not None and started.state is S.UNKNOWN
    assert planned is not None and planned.state is S.PLANNED and planned.attempts == 0
    assert planned.claimed_by is None and planned.lease_until is None
    assert retrying is not None and retrying.state is S.RETRY_WAIT and retrying.attempts == 1
    assert retrying.next_attempt_at == DUE + timedelta(minutes=1)
    recovered = [e for e in ledger.events(ids[1]) if e.kind is EventKind.RECOVERED]
    assert [(e.from_state, e.to_state) for e in recovered] == [(S.SENDING, S.PLANNED)]
    assert not list(folder.glob("*.ids"))  # the dead worker's file is gone
    # released ones are claimable again: sent once, at their next alarm
    assert claim(ledger, ids[1], "this/1/000000", NOW, LEASE)


@pytest.mark.parametrize("damage", ["another boot", "cut short", "missing"])
def test_a_file_that_cannot_be_trusted_makes_every_orphan_unknown(
    ledger: Ledger, database_url: str, tmp_path: Path, damage: str  # noqa: F811
) -> None:
    ids, _ = three_orphans(ledger, database_url, tmp_path)
    folder = tmp_path / ".cm" / "inflight"
    [path] = folder.glob("*.ids")
    text = path.read_text(encoding="utf-8")
    if damage == "another boot":  # the machine restarted: unsynced writes may be lost
        header, rest = text.split("\n", 1)
        path.write_text(header.rsplit(" ", 1)[0] + " 00000000-other-boot\n" + rest)
    elif damage == "cut short":  # the last id was being written: its newline is missing
        path.write_text(text.rstrip("\n"))
    else:
        path.unlink()

    recover_orphans(ledger, "this/1/000000", NOW, folder, None)

    assert [ledger.get(i).state for i in ids] == [S.UNKNOWN] * 3  # type: ignore[union-attr]
