"""One run of the single-process crash test and its verdict, shared by the test files that run
it (``test_crash.py``, ``test_crash_faults.py``, ``test_crash_postgres.py``; the faults also by
``test_crash_cluster.py``). Each long run has a file of its own so that ``make test``'s workers
(``--dist loadfile``: a file is one unit of work) can run them side by side.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random

from cm_toolkit.sandbox.faults import FaultKind, FaultRule
from cm_toolkit.sandbox.server import Sandbox
from tests.scheduler.crash import CrashRun, check_exactly_once, create_calls, describe
from tests.scheduler.workspace import crash_workspace

FAULTS = ("x:429@0.05,facebook:500@0.05,linkedin:timeout@0.03,x:drop-after-commit@0.03,"
          "facebook:drop@0.03,x:expire@0.02,linkedin:expire@0.02,"
          # Mastodon by its create path ("*": the fault parser's network list predates it);
          # a lost answer there is recovered by the same Idempotency-Key, never a second post
          "*:drop-after-commit@0.08/api/v1/statuses$")
# Bluesky's, as rules: the fault syntax's list of networks (sandbox/faults.py) does not name it
BLUESKY_FAULTS = ((FaultKind.DROP_AFTER_COMMIT, 0.04), (FaultKind.SERVER_500, 0.03),
                  (FaultKind.EXPIRE, 0.02))


def run_crash(tmp_path: Path, faults: str, seed: int,
              ledger_url: str) -> tuple[list[str], str, CrashRun]:
    """Run the crash test; return the judge's problems, a summary and the run."""
    sandbox = Sandbox(seed=seed, faults=faults)
    if faults:
        sandbox.faults.rules += [FaultRule("bluesky", kind, probability, seed=seed)
                                 for kind, probability in BLUESKY_FAULTS]
    sandbox.faults.reset_after = 2  # a 429's reset: seconds, not a minute, to keep the test short
    sandbox.faults.timeout_delay = 11.0  # past cm run's 10 s client timeout: a real timeout
    with sandbox.running() as running:
        start = datetime.now(UTC) + timedelta(seconds=4)
        texts = crash_workspace(tmp_path / "ws", start)
        crash = CrashRun(root=tmp_path / "ws", database_url=ledger_url,
                         sandbox_url=running.base_url, logs=tmp_path / "logs",
                         token_dir=tmp_path / "tokens", rng=Random(seed))
        crash.run()
        calls = create_calls(running.journal.entries())
        sign_ins = running.journal.entries(path=r"/xrpc/com\.atproto\.server\.createSession")
    if not faults:  # the session is stored and reused across the restarts, not re-made at each:
        # a SIGKILL can land between createSession's answer and the session written to the
        # token store (milliseconds; seen once in CI), so one more sign-in is allowed, never
        # one per restart (there are 20 or more)
        assert 1 <= len(sign_ins) <= 2, [e.status for e in sign_ins]
    outcomes = crash.outcomes()
    assert len(outcomes) == len(texts) == 240
    return check_exactly_once(outcomes, calls), describe(outcomes, calls), crash


def judge_crash(tmp_path: Path, faults: str, seed: int, ledger_url: str, ledger: str) -> None:
    """Run the crash test and assert its verdict: every kill happened, the last run stopped
    cleanly, every post reached its network once (or is unknown/missed with a reason), and
    every unknown one keeps the text a person would look for."""
    problems, summary, crash = run_crash(tmp_path, faults, seed, ledger_url)
    print(f"{len(crash.killed_at)} SIGKILLs on {ledger} at "
          f"{[round(t, 1) for t in crash.killed_at]} s; {summary}; "
          f"{crash.recovered()} claims released at a restart (never sent)")
    assert len(crash.killed_at) >= 20
    assert crash.exit_code == 0, crash.stderr(crash.kills)
    assert problems == [], "\n".join(problems[:40])
    assert crash.unknown_without_text() == 0  # cm review shows what to look for
