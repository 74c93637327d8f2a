"""The crash test's machinery: run ``cm run`` as a process, kill it again and again, then judge.

``check_exactly_once`` is the judge. It reads two independent records, the ledger (what the
scheduler believes) and the sandbox journal (what reached the networks), and returns every
problem it finds:

- a post whose create call was *processed* by a network (2xx answer, or a ``timeout`` /
  ``drop-after-commit`` fault, where the post exists but the client never heard) more than once;
- a create call for a post after one was already processed (a re-send, even if the network
  refused it as a duplicate), unless the network answered it with the post already created
  (a Mastodon create re-sent under the same ``Idempotency-Key``: the journal says
  ``idempotent_replay``), which creates nothing;
- a ``published`` delivery whose post was not processed exactly once;
- a ``failed`` or ``missed`` delivery without a reason, or whose post reached the network;
- an ``unknown`` delivery without a reason;
- a delivery left ``planned``, ``retry_wait`` or ``sending`` (lost), or ``cancelled``;
- a processed create call for a text no delivery planned (a request cut short by SIGKILL
  arrives without its body and is refused: not a post).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from random import Random
from urllib.parse import unquote_plus

from sqlalchemy import func, select

from cm_toolkit.ledger.engine import open_ledger
from cm_toolkit.ledger.models import Delivery, Event
from cm_toolkit.ledger.states import DeliveryState, EventKind
from cm_toolkit.sandbox.journal import JournalEntry

S = DeliveryState
PROCESSED_FAULTS = ("timeout", "drop-after-commit")
CREATE_CALLS = {  # network -> (method, path regex) of the call that creates a post
    "x": ("POST", r"/2/tweets"),
    "facebook": ("POST", r"/v[0-9.]+/[0-9]+/(feed|photos)"),
    "linkedin": ("POST", r"/rest/posts"),
    "mastodon": ("POST", r"/api/v1/statuses"),
    "bluesky": ("POST", r"/xrpc/com\.atproto\.repo\.createRecord"),
}
_POST_ID = re.compile(r"crash test post (p\d{4})")
NOT_FINISHED = (S.PLANNED, S.RETRY_WAIT, S.SENDING)


@dataclass(frozen=True)
class Outcome:
    """One delivery as the ledger ends it."""

    post_id: str
    state: DeliveryState
    reason: str | None


@dataclass(frozen=True)
class CreateCall:
    """One create call as the sandbox journal saw it."""

    seq: int
    post_id: str | None  # None: a text no post of the test has
    status: int | None
    fault: str | None
    network: str = ""
    body: str = ""  # the start of the request body, to show an unrecognised one
    replayed: bool = False  # answered with the post an earlier call created (idempotency key)

    @property
    def processed(self) -> bool:
        """The network created the post (whether or not the client heard the answer)."""
        if self.replayed:
            return False
        return (self.status is not None and 200 <= self.status < 300) or (
            self.fault in PROCESSED_FAULTS
        )


def create_calls(entries: Iterable[JournalEntry]) -> list[CreateCall]:
    """The create calls of the journal, each matched to its post by the post's unique text."""
    calls = []
    for entry in entries:
        expected = CREATE_CALLS.get(entry.network)
        if expected is None or entry.method != expected[0]:
            continue
        if not re.fullmatch(expected[1], entry.path):
            continue
        found = _POST_ID.search(unquote_plus(entry.body))
        calls.append(CreateCall(entry.seq, found[1] if found else None, entry.status,
                                entry.fault, entry.network, entry.body[:160],
                                replayed=bool(entry.extra.get("idempotent_replay"))))
    return calls


def check_exactly_once(outcomes: Iterable[Outcome], calls: Iterable[CreateCall]) -> list[str]:
    """Every problem with 'each planned post reached its network once, none lost' (see above)."""
    problems: list[str] = []
    by_post: dict[str | None, list[CreateCall]] = {}
    for call in sorted(calls, key=lambda c: c.seq):
        by_post.setdefault(call.post_id, []).append(call)
    planned = {o.post_id for o in outcomes}
    for post_id, its_calls in by_post.items():
        # a request cut short by SIGKILL reaches the network without its body: refused, harmless
        created = [c for c in its_calls if c.processed]
        if post_id not in planned and created:
            problems.append(f"{len(created)} create call(s) for a post nobody planned "
                            f"({post_id or 'unrecognised text'})")
            problems.extend(f"  #{c.seq} {c.network} {c.status} {c.fault}: {c.body!r}"
                            for c in created if c.post_id is None)
    for outcome in outcomes:
        its_calls = by_post.get(outcome.post_id, [])
        processed = [c for c in its_calls if c.processed]
        where = f"{outcome.post_id} ({outcome.state.value})"
        if len(processed) > 1:
            problems.append(f"{where}: created {len(processed)} times "
                            f"(journal #{', #'.join(str(c.seq) for c in processed)})")
        if processed:
            after = [c for c in its_calls
                     if c.seq > processed[0].seq and not c.processed and not c.replayed]
            if after:
                problems.append(f"{where}: sent again after it reached the network "
                                f"(journal #{processed[0].seq}, then "
                                f"#{', #'.join(str(c.seq) for c in after)})")
        if outcome.state in NOT_FINISHED:
            problems.append(f"{where}: lost, never finished")
        elif outcome.state is S.PUBLISHED and len(processed) != 1:
            problems.append(f"{where}: published in the ledger, created {len(processed)} times")
        elif outcome.state in (S.FAILED, S.MISSED, S.UNKNOWN) and not outcome.reason:
            problems.append(f"{where}: no reason recorded")
        elif outcome.state in (S.FAILED, S.MISSED) and processed:
            problems.append(f"{where}: the network has it, the ledger says {outcome.state.value}")
        elif outcome.state not in (S.PUBLISHED, S.FAILED, S.MISSED, S.UNKNOWN):
            problems.append(f"{where}: unexpected final state")
    return problems


# -- running cm run as a process ------------------------------------------------------------


@dataclass
class CrashRun:
    """``cm run`` on ``root`` against the sandbox at ``sandbox_url``, killed ``kills`` times."""

    root: Path
    database_url: str  # SQLite file or PostgreSQL schema (tests/ledger_fixtures.py)
    sandbox_url: str
    logs: Path
    token_dir: Path
    rng: Random
    kills: int = 20
    gap: tuple[float, float] = (0.05, 1.2)  # seconds a started process publishes before SIGKILL
    early_kills: float = 0.2  # share of the kills that land during start-up
    finish_within: float = 100.0
    killed_at: list[float] = field(default_factory=list)
    exit_code: int | None = None

    def command(self) -> list[str]:
        return [sys.executable, "-c", "from cm_toolkit.cli import entry; entry()", "run",
                "--quiet", "--workspace", str(self.root), "--sandbox", self.sandbox_url,
                "--database-url", self.database_url, "--resync", "0.5",
                "--log-file", str(self.logs / "cm.log")]

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not (k.startswith("CM_") and k != "CM_TEST_POSTGRES_URL")}
        env["CM_TOKEN_DIR"] = str(self.token_dir)
        return env

    def start(self, index: int) -> subprocess.Popen[bytes]:
        self.logs.mkdir(parents=True, exist_ok=True)
        with (self.logs / f"run-{index:02d}.err").open("wb") as err:
            return subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=err,
                                    env=self.environment())

    def unfinished(self) -> int:
        return self.count(*NOT_FINISHED)

    def count(self, *states: DeliveryState) -> int:
        """Deliveries in one of ``states`` (every delivery when none is given)."""
        ledger = open_ledger(self.database_url, self.root)
        try:
            with ledger.reading() as session:
                query = select(func.count()).select_from(Delivery)
                if states:
                    query = query.where(Delivery.state.in_(states))
                return int(session.scalar(query) or 0)
        finally:
            ledger.close()

    def last_retry_in(self) -> float | None:
        """Seconds until the last retry the ledger has scheduled (None: no retry is waiting)."""
        ledger = open_ledger(self.database_url, self.root)
        try:
            with ledger.reading() as session:
                last = session.scalar(select(func.max(Delivery.next_attempt_at)).where(
                    Delivery.state == S.RETRY_WAIT))
        finally:
            ledger.close()
        if last is None:
            return None
        if last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        return max(0.0, (last - datetime.now(UTC)).total_seconds())

    def ready(self, index: int, process: subprocess.Popen[bytes], within: float = 180.0) -> bool:
        """Wait until run ``index`` says it started (its alarms are set: it publishes).

        ``within`` is a cap, not a margin: the wait ends at the line. A start takes about 2 s on
        an idle machine and was seen taking 50 s on a shared one (load 20)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline and process.poll() is None:
            if "cm run started" in self.stderr(index):
                return True
            time.sleep(0.05)
        return False

    def run(self) -> None:
        started = time.monotonic()
        for index in range(self.kills):
            process = self.start(index)
            if self.rng.random() < self.early_kills:
                # during start-up: imports, apply, orphan recovery, the first alarms
                time.sleep(self.rng.uniform(0.3, 2.5))
            else:
                assert self.ready(index, process), f"cm run did not start: {self.stderr(index)}"
                time.sleep(self.rng.uniform(*self.gap))
            process.send_signal(signal.SIGKILL)
            process.wait()
            self.killed_at.append(time.monotonic() - started)
        process = self.start(self.kills)
        try:
            deadline = time.monotonic() + self.finish_within
            assert self.ready(self.kills, process), self.stderr(self.kills)
            extensions = 3  # a retry that is never made must not hold the test to its timeout
            while self.unfinished():
                if time.monotonic() >= deadline:
                    extensions -= 1
                    # A post that met X's 429 three times waits its backoff (about 2 minutes
                    # after the third): the run is given until that retry, not a fixed slack;
                    # a retry further than ``finish_within`` away, or none, is judged as is.
                    retry_in = self.last_retry_in()
                    if retry_in is None or retry_in > self.finish_within or extensions < 0:
                        break
                    deadline = time.monotonic() + retry_in + 30.0
                assert process.poll() is None, f"cm run exited early: {self.stderr(self.kills)}"
                time.sleep(0.5)
        finally:
            process.send_signal(signal.SIGTERM)
            self.exit_code = process.wait(timeout=60)

    def stderr(self, index: int) -> str:
        return (self.logs / f"run-{index:02d}.err").read_text(encoding="utf-8", errors="replace")

    def recovered(self) -> int:
        """Claims released at a restart: their process died before the request left."""
        ledger = open_ledger(self.database_url, self.root)
        try:
            with ledger.reading() as session:
                return int(session.scalar(select(func.count()).select_from(Event).where(
                    Event.kind == EventKind.RECOVERED)) or 0)
        finally:
            ledger.close()

    def unknown_without_text(self) -> int:
        """``unknown`` deliveries whose text is not in the ledger (a person could not look
        for them on the network)."""
        ledger = open_ledger(self.database_url, self.root)
        try:
            with ledger.reading() as session:
                return int(session.scalar(select(func.count()).select_from(Delivery).where(
                    Delivery.state == DeliveryState.UNKNOWN,
                    Delivery.rendered_text.is_(None))) or 0)
        finally:
            ledger.close()

    def outcomes(self) -> list[Outcome]:
        ledger = open_ledger(self.database_url, self.root)
        try:
            with ledger.reading() as session:
                rows = session.execute(
                    select(Delivery.post_key, Delivery.state, Delivery.last_error)).all()
        finally:
            ledger.close()
        return [Outcome(post_key, state, error) for post_key, state, error in rows]


def describe(outcomes: Iterable[Outcome], calls: Iterable[CreateCall]) -> str:
    """A one-line summary for the test's output: states and create calls."""
    states: dict[str, int] = {}
    for outcome in outcomes:
        states[outcome.state.value] = states.get(outcome.state.value, 0) + 1
    listed = list(calls)
    faults: dict[str, int] = {}
    for call in listed:
        key = call.fault or str(call.status)
        faults[key] = faults.get(key, 0) + 1
    return f"states {dict(sorted(states.items()))}; create calls {dict(sorted(faults.items()))}"
