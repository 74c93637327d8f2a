"""The dashboard's "Download" links: the CLI's exports, served as attachments behind the same
access rules as every page (HTTP level; the browser test is in test_browser.py)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cm_toolkit.cli import main
from cm_toolkit.clock import ManualClock
from cm_toolkit.web.app import Dashboard
from cm_toolkit.web.server import serving

from .conftest import Season
from .test_app import call
from .test_browser import DESKTOP, opened

TOKEN = "a-long-enough-download-token"
EXPORTS = {  # path -> (the CLI's arguments, Content-Type)
    "/download/growth.csv": (["growth", "report", "--format", "csv"], "text/csv"),
    "/download/growth.json": (["growth", "report", "--format", "json"], "application/json"),
    "/download/activity.csv": (["report", "activity", "--format", "csv", "-o", "-"], "text/csv"),
    "/download/activity.html": (["report", "activity", "--format", "html", "-o", "-"],
                                "text/html"),
}


def cli(capsys: pytest.CaptureFixture[str], season: Season, *args: str) -> str:
    capsys.readouterr()
    code = main([*args, "-w", str(season.root),
                 "--database-url", f"sqlite:///{season.result.database}"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


@pytest.fixture
def app(season: Season) -> Dashboard:
    # the CLI's "now" is the wall clock: so is this dashboard's (the season lies ahead of it)
    now = datetime.now(UTC).replace(microsecond=0)
    return Dashboard(season.ledger, season.context, ManualClock(now))


@pytest.mark.parametrize("path", sorted(EXPORTS))
def test_each_download_is_the_cli_export(app: Dashboard, season: Season,
                                         capsys: pytest.CaptureFixture[str], path: str) -> None:
    args, content_type = EXPORTS[path]
    status, headers, body = call(app, path)
    assert status == 200
    assert headers["Content-Type"] == f"{content_type}; charset=utf-8"
    today = f"{app.downloads.clock.now().astimezone(season.context.zone):%Y-%m-%d}"
    name = path.rsplit("/", 1)[1].replace(".", f"-{today}.")
    assert headers["Content-Disposition"] == f'attachment; filename="{name}"'
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"
    served, expected = body.decode("utf-8"), cli(capsys, season, *args)
    if path.endswith(".html"):  # one line says when it was generated (to the minute)
        differing = [pair for pair in zip(served.splitlines(), expected.splitlines(),
                                          strict=True) if pair[0] != pair[1]]
        assert len(differing) <= 1, differing[:3]
        assert season.context.title in served and "Plotly" in served
    else:
        assert served == expected


def test_growth_csv_holds_every_channel_of_the_overview(app: Dashboard, season: Season) -> None:
    rows = list(csv.DictReader(io.StringIO(call(app, "/download/growth.csv")[2].decode())))
    page = call(app, "/")[2].decode()
    assert {"x-mooc", "linkedin-page", "facebook-page"} <= {row["channel"] for row in rows}
    for row in rows:
        assert f'data-channel="{row["channel"]}"' in page
    figures = json.loads(call(app, "/download/growth.json")[2])
    assert [c["channel"] for c in figures["channels"]] == [row["channel"] for row in rows]


def test_pages_link_to_their_downloads(app: Dashboard) -> None:
    for page, links in (("/", ["growth.csv", "growth.json", "activity.csv", "activity.html"]),
                        ("/posts", ["activity.csv", "activity.html"]),
                        ("/inbox/metrics", ["activity.csv", "activity.html"])):
        body = call(app, page)[2].decode()
        for link in links:
            assert f'href="/download/{link}" download' in body, (page, link)
    assert "/download/growth" not in call(app, "/posts")[2].decode()


def test_downloads_keep_the_access_rules(season: Season) -> None:
    guarded = Dashboard(season.ledger, season.context, ManualClock(season.now), token=TOKEN)
    status, headers, body = call(guarded, "/download/growth.csv")
    assert status == 401 and b"x-mooc" not in body
    assert call(guarded, "/download/growth.csv", AUTHORIZATION="Bearer wrong-token-123456")[0] == 401
    status, _, body = call(guarded, "/download/growth.csv", AUTHORIZATION=f"Bearer {TOKEN}")
    assert status == 200 and b"x-mooc" in body
    status, _, body = call(guarded, "/download/growth.csv", COOKIE=f"cm_dashboard={TOKEN}")
    assert status == 200 and b"x-mooc" in body
    # the token in the address: stored in the cookie, then back to the same download, on this host
    status, headers, _ = call(guarded, f"/download/growth.csv?token={TOKEN}")
    assert status == 303 and headers["Location"] == "/download/growth.csv"
    local = Dashboard(season.ledger, season.context, ManualClock(season.now))
    assert call(local, "/download/growth.csv", HOST="evil.example")[0] == 403


def test_only_the_cli_exports_are_served(app: Dashboard) -> None:
    for path in ("/download/growth.html", "/download/activity.json", "/download/cm.db",
                 "/download/../growth.csv", "/download/growth.csv/x", "/download/"):
        assert call(app, path)[0] == 404, path
    assert call(app, "/download/growth.csv", "POST")[0] == 405
    status, headers, body = call(app, "/download/growth.csv", "HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0


def test_a_click_downloads_the_file_with_the_cookie(browser: Any, season: Season,
                                                   tmp_path: Path) -> None:
    """A person behind a token: the link on the page downloads the export (the browser sends
    the cookie the token was stored in), named as the dashboard says."""
    guarded = Dashboard(season.ledger, season.context, ManualClock(season.now), token=TOKEN)
    with serving(guarded) as url, opened(browser, DESKTOP) as (page, _errors):
        page.goto(url + f"/?token={TOKEN}")
        assert page.url == url + "/"
        for name in ("growth.csv", "activity.html"):
            link = page.locator(f'#downloads a[data-download="{name}"]')
            assert link.is_visible()
            with page.expect_download() as info:
                link.click()
            download = info.value
            assert download.failure() is None
            assert download.suggested_filename.startswith(name.split(".")[0] + "-")
            saved = tmp_path / download.suggested_filename
            download.save_as(saved)
            expected = call(guarded, f"/download/{name}", AUTHORIZATION=f"Bearer {TOKEN}")[2]
            if name.endswith(".csv"):
                assert saved.read_bytes() == expected
            else:
                assert saved.stat().st_size > 1_000_000  # Plotly inlined: it opens offline
