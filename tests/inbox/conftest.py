"""The inbox's test rig: the scheduler's (workspace, ledger, in-process sandbox, real adapters,
a ManualClock shared with the sandbox), plus a published Facebook post the simulated audience
comments on."""

from __future__ import annotations

from tests.scheduler.conftest import rig  # noqa: F401 (fixture)
