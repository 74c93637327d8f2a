"""A copy of the sample workspace (the repository root) for a test to change or write into."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE_ITEMS = ("schedules.yaml", "channels", "templates", "assets")


def copy_sample(target: Path) -> Path:
    """Copy the sample's files into ``target`` (made if missing); returns ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    for item in SAMPLE_ITEMS:
        source = REPO / item
        if source.is_dir():
            shutil.copytree(source, target / item)
        else:
            shutil.copy(source, target / item)
    return target
