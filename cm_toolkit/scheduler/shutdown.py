"""Stopping ``cm run``: the steps the single process (``runner.py``) and a cluster worker
(``cluster.py``) share, in the order that keeps every send recorded.

1. refuse new work: jobs that start from now on do nothing (their alarm or queue job is
   rebuilt from the ledger at the next start, or by the cluster's leader), a render in
   flight (a looping template) ends at once, and the inbox's tick in flight ends at its next
   step (between two pages read or two replies sent);
2. (each stops its own alarm source: APScheduler, or the Procrastinate worker)
3. wait for the jobs in flight: each records its send's outcome in the ledger;
4. close what the sends used: the webhook notifier (its last messages), the in-flight file
   (every send it guarded is recorded, so it has served) and the inbox's jobs.
"""

from __future__ import annotations

import threading
from typing import Protocol

from cm_toolkit.scheduler.notify import Notifier
from cm_toolkit.sending.inflight import InflightLog


class Closes(Protocol):
    """The side job beside the publishing (the inbox's: ``inbox/autorun.InboxJob``)."""

    def stop(self) -> None: ...

    def close(self) -> None: ...


class Shutdown:
    """Mixed into ``Runner``, whose ``__init__`` sets these attributes."""

    _stopping: bool
    _stop_renders: threading.Event
    _inflight: int
    _inflight_done: threading.Condition
    notifier: Notifier | None
    _sends_log: InflightLog | None
    inbox: Closes | None

    def _refuse_new_work(self) -> None:
        self._stopping = True
        self._stop_renders.set()
        if self.inbox is not None:
            self.inbox.stop()

    def _wait_for_jobs(self, timeout: float) -> bool:
        """True when every job in flight ended within ``timeout`` seconds."""
        with self._inflight_done:
            return self._inflight_done.wait_for(lambda: self._inflight == 0, timeout)

    def _close_services(self) -> None:
        if self.notifier is not None:
            self.notifier.close()
        if self._sends_log is not None:
            self._sends_log.close()
        if self.inbox is not None:
            self.inbox.close()
