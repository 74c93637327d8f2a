"""A season replayed once for the whole session (the sample workspace, copied, through
``run_demo`` with a short clock), its ledger, and the dashboard serving it on 127.0.0.1.

Browser tests drive Debian's Chromium through Playwright's sync API; without /usr/bin/chromium
they skip with a reason naming Chromium (CI turns that skip into a failure).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from cm_toolkit.clock import ManualClock
from cm_toolkit.demo import DemoResult, run_demo
from cm_toolkit.growth.context import GrowthContext
from cm_toolkit.growth.report import write_demo_report
from cm_toolkit.ledger import Ledger, open_ledger
from cm_toolkit.web.app import Dashboard
from cm_toolkit.web.server import serving
from cm_toolkit.workspace.loader import load_workspace

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = REPO / "test-artifacts"


@dataclass
class Season:
    root: Path
    result: DemoResult
    ledger: Ledger
    context: GrowthContext
    now: datetime  # the dashboard's clock: mid-season, so posts lie ahead


@pytest.fixture(scope="session")
def season(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Season]:
    root = tmp_path_factory.mktemp("season")
    shutil.copy(REPO / "schedules.yaml", root)
    shutil.copy(REPO / "faq.yaml", root)  # the inbox's suggestions and auto answers, as the demo
    for folder in ("channels", "templates", "assets"):
        shutil.copytree(REPO / folder, root / folder)
    result = run_demo(root, seconds=4, report=write_demo_report)
    ledger = open_ledger(f"sqlite:///{result.database}", root)
    workspace, _ = load_workspace(root)
    context = GrowthContext.from_workspace(workspace, ledger)
    now = result.season_start + (result.season_end - result.season_start) / 2
    try:
        yield Season(root, result, ledger, context, now.replace(microsecond=0))
    finally:
        ledger.close()


@pytest.fixture(scope="session")
def dashboard_url(season: Season) -> Iterator[str]:
    app = Dashboard(season.ledger, season.context, ManualClock(season.now))
    with serving(app) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    manager = sync_playwright()
    playwright = manager.start()
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        manager.__exit__(None, None, None)  # stops the driver and closes its event loop


def shot_path(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"{name}.png"


def in_days(moment: datetime, days: int) -> datetime:
    return moment + timedelta(days=days)
