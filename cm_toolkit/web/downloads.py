"""The dashboard's "Download" links: the reports the CLI exports, as files.

``/download/growth.csv`` and ``.json`` are ``cm growth report --format csv|json``;
``/download/activity.csv`` and ``.html`` are ``cm report activity --format csv|html``: the same
functions of ``growth/report.py`` on the same ledger and workspace context, over the whole
period (the pages show the whole period; the CLI's ``--since``/``--until`` narrow it).

They are ordinary GET routes of the dashboard, so the access policy (token, loopback ``Host``)
applies to them unchanged. The answer is an attachment (``Content-Disposition``) that is never
cached: it holds follower counts, post texts and the inbox's figures.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from cm_toolkit.clock import Clock
from cm_toolkit.growth.activity import build_activity
from cm_toolkit.growth.context import GrowthContext
from cm_toolkit.growth.metrics import growth_table
from cm_toolkit.growth.report import activity_csv, activity_html, growth_csv, growth_json
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.web.views import NotFound, Response


@dataclass(frozen=True)
class Export:
    report: str  # growth | activity
    suffix: str  # csv | json | html
    content_type: str


EXPORTS = {(e.report, e.suffix): e for e in (
    Export("growth", "csv", "text/csv; charset=utf-8"),
    Export("growth", "json", "application/json; charset=utf-8"),
    Export("activity", "csv", "text/csv; charset=utf-8"),
    Export("activity", "html", "text/html; charset=utf-8"),
)}
DOWNLOAD_ROUTE = r"/download/(?P<report>growth|activity)\.(?P<suffix>csv|json|html)"


class ReportDownloads:
    """Builds one export per request from the ledger (as the CLI would now)."""

    def __init__(self, ledger: Ledger, context: GrowthContext, clock: Clock) -> None:
        self.ledger = ledger
        self.context = context
        self.clock = clock
        # the activity report reads every delivery and message: one build at a time, so a
        # few impatient clicks queue instead of taking both cores from the scheduler
        self._building = threading.Lock()

    def download(self, report: str, suffix: str) -> Response:
        export = EXPORTS.get((report, suffix))
        if export is None:  # growth.html, activity.json: not an export of the CLI's
            raise NotFound(f"{report}.{suffix}")
        with self._building:
            text = self._growth(suffix) if report == "growth" else self._activity(suffix)
        now = self.clock.now().astimezone(self.context.zone)
        # the name is made of fixed words and digits: nothing of the request reaches it
        name = f"{report}-{now:%Y-%m-%d}.{suffix}"
        return Response(200, text.encode("utf-8"), export.content_type, [
            ("Content-Disposition", f'attachment; filename="{name}"'),
            ("Cache-Control", "no-store"),
        ])

    def _growth(self, suffix: str) -> str:
        table = growth_table(self.ledger, self.context)
        return growth_csv(table, self.context) if suffix == "csv" \
            else growth_json(table, self.context)

    def _activity(self, suffix: str) -> str:
        report = build_activity(self.ledger, self.context, now=self.clock.now())
        return activity_csv(report) if suffix == "csv" else activity_html(self.ledger, report)
