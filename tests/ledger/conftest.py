"""Ledger tests run on SQLite (a file in tmp_path) and on PostgreSQL.

PostgreSQL: the server at CM_TEST_POSTGRES_URL; each test gets its own schema (created, used
through ``search_path``, dropped afterwards). Unreachable server: the test is skipped with the
reason shown.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from cm_toolkit.workspace.models import ChannelFile, Schedules, Workspace
from tests.ledger_fixtures import database_url, ledger  # noqa: F401 (fixtures)

CHANNELS = {"x-mooc": "x", "facebook-page": "facebook",
            "youtube": "youtube", "linkedin-page": "linkedin"}


def workspace(root: Path, posts: list[dict[str, Any]], **campaign: Any) -> Workspace:
    """A one-campaign workspace as the loader would build it."""
    schedules = Schedules.model_validate({
        "timezone": "Europe/Paris",
        "campaigns": [{"id": "mooc", "name": "MOOC", "start": datetime(2027, 1, 4),
                       "posts": posts, **campaign}],
    })
    return Workspace(root=root, schedules=schedules,
                     channels={cid: ChannelFile(network=n) for cid, n in CHANNELS.items()})
