"""The crash test for inbox replies, its machinery: ``cm run`` (which sends the replies waiting,
like its auto answers) and ``cm inbox reply`` killed with SIGKILL at random instants, then
``cm run`` let finish; judged by ``check_exactly_once`` (``crash.py``) on the sandbox journal.
Shared by ``test_crash_replies.py`` (SQLite) and ``test_crash_replies_postgres.py``: a file per
long run, so that ``make test``'s workers (``--dist loadfile``) run them side by side.

Messages are real comments of the simulated audience on a Facebook post (the Graph emulator
checks that the comment answered exists).
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random
from urllib.parse import unquote_plus

from sqlalchemy import func, select

from cm_toolkit.channels.base import ConversationQuery, RenderedPost
from cm_toolkit.channels.credentials import MemoryTokenStore
from cm_toolkit.channels.pool import ChannelPool
from cm_toolkit.clock import ManualClock
from cm_toolkit.ledger.engine import open_ledger
from cm_toolkit.ledger.inbox import InboxLedger
from cm_toolkit.ledger.models import InboxReply
from cm_toolkit.ledger.states import DeliveryState
from cm_toolkit.sandbox.journal import JournalEntry
from cm_toolkit.sandbox.server import Sandbox
from cm_toolkit.workspace.loader import load_workspace
from tests.scheduler.crash import NOT_FINISHED, CrashRun, CreateCall, Outcome, check_exactly_once
from tests.scheduler.workspace import write_workspace

FB = "facebook-page"
REPLY_CALL = re.compile(r"/v[0-9.]+/([0-9_]+)/comments")
REPLY_KEY = re.compile(r"crash test reply (r\d{4})")
FAULTS = "facebook:500@0.05,facebook:429@0.04,facebook:drop-after-commit@0.03,facebook:drop@0.03"


def reply_calls(entries: Iterable[JournalEntry]) -> tuple[list[CreateCall], dict[str, list[str]]]:
    """The reply calls (a comment under a comment) matched by their text; and per comment
    answered, the replies processed there."""
    calls: list[CreateCall] = []
    per_comment: dict[str, list[str]] = {}
    for entry in entries:
        found = REPLY_CALL.fullmatch(entry.path)
        if entry.method != "POST" or found is None:
            continue
        key = REPLY_KEY.search(unquote_plus(entry.body))
        call = CreateCall(entry.seq, key[1] if key else None, entry.status, entry.fault,
                          entry.network, entry.body[:160])
        calls.append(call)
        if call.processed:
            per_comment.setdefault(found[1], []).append(call.post_id or "?")
    return calls, per_comment


class ReplyCrashRun(CrashRun):
    """``cm run`` killed again and again while it sends replies; finished when none waits."""

    def unfinished(self) -> int:
        ledger = open_ledger(self.database_url, self.root)
        try:
            with ledger.reading() as session:
                return int(session.scalar(select(func.count()).select_from(InboxReply).where(
                    InboxReply.state.in_(NOT_FINISHED))) or 0)
        finally:
            ledger.close()

    def kill_replies(self, message_ids: list[int]) -> int:
        """``cm inbox reply`` per message, each SIGKILLed at a random instant (or done)."""
        killed = 0
        for n, message_id in enumerate(message_ids):
            command = [*self.command()[:3], "inbox", "reply", str(message_id), "--text",
                       f"crash test reply r{9000 + n:04d} message {message_id}",
                       "--workspace", str(self.root), "--sandbox", self.sandbox_url,
                       "--database-url", self.database_url]
            with (self.logs / f"reply-{n:02d}.err").open("wb") as err:
                process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err,
                                           env=self.environment())
            if self.rng.random() < 0.2:  # during start-up
                time.sleep(self.rng.uniform(0.2, 1.5))
            else:  # around the send: once its reply row exists (start-up takes seconds)
                self.wait_for_reply(message_id, process)
                time.sleep(self.rng.uniform(0.0, 0.25))
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                killed += 1
            process.wait()
        return killed

    def wait_for_reply(self, message_id: int, process: subprocess.Popen[bytes],
                       within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline and process.poll() is None:
            ledger = open_ledger(self.database_url, self.root)
            try:
                with ledger.reading() as session:
                    if session.scalar(select(InboxReply.id).where(
                            InboxReply.message_id == message_id)) is not None:
                        return
            finally:
                ledger.close()
            time.sleep(0.02)

    def reply_outcomes(self) -> list[tuple[Outcome, int, str]]:
        ledger = open_ledger(self.database_url, self.root)
        try:
            with ledger.reading() as session:
                rows = session.execute(select(InboxReply.rendered_text, InboxReply.state,
                                              InboxReply.last_error, InboxReply.message_id)).all()
        finally:
            ledger.close()
        out = []
        for text, state, error, message_id in rows:
            key = REPLY_KEY.search(text or "")
            out.append((Outcome(key[1] if key else "?", state, error), message_id, text or ""))
        return out


def _messages(root: Path, url: str, sandbox: Sandbox, clock: ManualClock) -> list[int]:
    """Comments of the simulated audience under two Facebook posts, stored in the inbox."""
    workspace, _ = load_workspace(root)
    pool = ChannelPool(workspace, transport=sandbox.transport(), fallback_env=sandbox.env(),
                       store=MemoryTokenStore())
    ledger = open_ledger(url, root)
    new: list[int] = []
    try:
        with pool.using(FB) as channel:
            posts = tuple(channel.publish(RenderedPost(text=f"Module {n} en ligne")).remote_id
                          for n in (1, 2, 3, 4))
            clock.advance(timedelta(hours=80))
            cursor, more = None, True
            while more:
                page = channel.conversations(ConversationQuery(
                    "comments", cursor=cursor, post_remote_ids=posts))
                new += InboxLedger(ledger).store_page(
                    FB, "facebook", "comments", page.messages, datetime.now(UTC),
                    cursor=page.cursor).new_ids
                cursor, more = page.cursor, page.more
    finally:
        ledger.close()
    return new


def judge_replies(tmp_path: Path, url: str, seed: int) -> None:
    """Run the reply crash test on the ledger at ``url`` and assert its verdict."""
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    sandbox = Sandbox(seed=seed, clock=clock, epoch=clock.now())
    sandbox.faults.reset_after = 2
    with sandbox.running() as running:
        root = write_workspace(tmp_path / "ws", channels=[FB])
        message_ids = _messages(root, url, running, clock)
        assert len(message_ids) >= 30, "the audience wrote enough comments"
        running.faults.add(FAULTS)  # from here on: the network fails now and then
        by_run, by_cli = message_ids[:-10], message_ids[-10:]
        ledger = open_ledger(url, root)
        try:
            inbox = InboxLedger(ledger)
            for n, message_id in enumerate(by_run):  # sent by cm run, like its auto answers
                inbox.create_reply(message_id, f"crash test reply r{n:04d} message {message_id}",
                                   datetime.now(UTC), "test", auto=True)
        finally:
            ledger.close()
        crash = ReplyCrashRun(root=root, database_url=url,
                              sandbox_url=running.base_url, logs=tmp_path / "logs",
                              token_dir=tmp_path / "tokens", rng=Random(seed), kills=12,
                              gap=(0.05, 0.8))
        crash.logs.mkdir(parents=True, exist_ok=True)
        cli_kills = crash.kill_replies(by_cli)
        crash.run()  # the last cm run also sends what the killed cm inbox reply left planned
        calls, per_comment = reply_calls(running.journal.entries(network="facebook"))
    rows = crash.reply_outcomes()
    outcomes = [outcome for outcome, _, _ in rows]
    problems = check_exactly_once(outcomes, calls)
    states: dict[str, int] = {}
    for outcome in outcomes:
        states[outcome.state.value] = states.get(outcome.state.value, 0) + 1
    from_cli = sum(1 for outcome in outcomes if outcome.post_id.startswith("r9"))
    print(f"{len(crash.killed_at)} SIGKILLs of cm run, {cli_kills} of {len(by_cli)} cm inbox "
          f"reply ({from_cli} had created their reply); "
          f"replies {dict(sorted(states.items()))}; {len(calls)} reply calls")
    assert len(crash.killed_at) == 12 and crash.exit_code == 0, crash.stderr(crash.kills)
    assert problems == [], "\n".join(problems[:40])
    twice = {comment: keys for comment, keys in per_comment.items() if len(keys) > 1}
    assert twice == {}, f"comments answered twice: {twice}"
    per_message = [message_id for _, message_id, _ in rows]
    assert len(per_message) == len(set(per_message)), "a message with two replies"
    assert all(text for outcome, _, text in rows if outcome.state is DeliveryState.UNKNOWN)
    assert len(rows) >= len(by_run)  # nothing lost: every reply cm run had is still there
