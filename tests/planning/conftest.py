from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cm_toolkit.workspace.models import ChannelFile, Schedules, Workspace

CHANNELS = {
    "x-mooc": "x",
    "facebook-page": "facebook",
    "linkedin-page": "linkedin",
    "linkedin-group": "manual",
    "youtube": "youtube",
    "meet": "meet",
}


def build_workspace(root: Path, schedules: dict[str, Any]) -> Workspace:
    """A Workspace as the loader would return it, from a schedules.yaml-shaped dict."""
    return Workspace(
        root=root,
        schedules=Schedules.model_validate({"timezone": "Europe/Paris", **schedules}),
        channels={cid: ChannelFile(network=network) for cid, network in CHANNELS.items()},
    )


@pytest.fixture
def workspace_of(tmp_path: Path) -> Any:
    return lambda schedules: build_workspace(tmp_path, schedules)
