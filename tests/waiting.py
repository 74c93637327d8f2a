"""Waiting for the sandbox to have processed a request the client gave up on.

A client with a short timeout (0.2 s) raises as soon as that time passes, whether or not the
sandbox's server thread has read the request yet: on a busy machine it may not have. A test that
then looks at the sandbox's state (the post exists, one event, the journal's entry) waits for
the request's journal entry first; the sandbox records it after processing. An event, not a
margin: the wait ends as soon as the entry is there.
"""

from __future__ import annotations

import time

from cm_toolkit.sandbox.journal import JournalEntry
from cm_toolkit.sandbox.server import Sandbox


def faulted(sandbox: Sandbox, fault: str = "timeout", count: int = 1,
            within: float = 120.0) -> list[JournalEntry]:
    """The journal's entries with ``fault``, once there are ``count`` of them."""
    deadline = time.monotonic() + within
    while True:
        found = [e for e in sandbox.journal.entries() if e.fault == fault]
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"the sandbox never processed {count} {fault}"
        time.sleep(0.02)
