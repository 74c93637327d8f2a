"""Suite-wide test settings.

Tests that need a server (PostgreSQL) or a browser (Chromium) skip with a visible reason on a
machine without it. On CI, ``CM_REQUIRE_SERVICES=1`` (set by ``.ci/run``) turns those skips into
failures, so a broken service can never make the suite green by skipping.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

SERVICE_WORDS = ("postgresql", "chromium", "browser")


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
