"""Suite-wide test settings.

Tests that need a server (PostgreSQL) or a browser (Chromium) skip with a visible reason on a
machine without it. On CI, ``CM_REQUIRE_SERVICES=1`` (set by ``.ci/run``) turns those skips into
failures, so a broken service can never make the suite green by skipping.

Every test starts without ``COLUMNS`` (a test that wants a width sets it), whether pytest runs
in a terminal, in a pipe or in a pytest-xdist worker (whose environment says ``COLUMNS=80`` from
the start): ``cm`` then writes piped output at its wide ``PIPED_WIDTH``, as the tests expect. The
variable is dropped here, before any test imports ``cm_toolkit.cli``: a Rich console made while
``COLUMNS`` is set keeps that width for good, and would ignore the width a test sets later.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

SERVICE_WORDS = ("postgresql", "chromium", "browser")

os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)


@pytest.fixture(autouse=True)
def _alone_outside_workers(request: pytest.FixtureRequest) -> None:
    """A test marked ``alone`` (it restarts a server the others use) never runs beside other
    tests: in a pytest-xdist worker it skips; ``make test`` runs it in a process of its own."""
    if request.node.get_closest_marker("alone") and os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.skip("marked alone (it restarts a shared server): run without -n, as make test "
                    "does after the parallel run")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, None, None]:
    outcome = yield
    report = outcome.get_result()
    if not (report.skipped and os.environ.get("CM_REQUIRE_SERVICES")):
        return
    reason = str(report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr)
    if any(word in reason.lower() for word in SERVICE_WORDS):
        report.outcome = "failed"
        report.longrepr = f"CM_REQUIRE_SERVICES is set but a service test skipped: {reason}"


@pytest.hookimpl(trylast=True)  # after -m has deselected: an `alone` test does not count here
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files with a ``slow`` test run first; the rest keep their order. ``make test``'s two
    workers take whole files in collection order (``--dist loadfile --no-loadscope-reorder``):
    a crash test (minutes) started near the end would finish alone while the other worker
    idles; started first, they run side by side and the short files fill in around them."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)  # stable: same order otherwise
