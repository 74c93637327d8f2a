"""Shared fixtures: a throw-away workspace with given templates, and a full render context."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cm_toolkit.templates import (
    CampaignInfo,
    ChannelInfo,
    PostInfo,
    RenderContext,
    SessionInfo,
    TemplateRenderer,
)
from cm_toolkit.workspace.models import Network, UtmDefaults

PARIS = ZoneInfo("Europe/Paris")
REPO_ROOT = Path(__file__).resolve().parents[2]


def make_context(
    network: Network = "x",
    *,
    at: datetime = datetime(2027, 3, 25, 18, 0, tzinfo=PARIS),
    link: str | None = "https://mooc-leader20.fr/inscription",
    media: tuple[str, ...] = (),
    thread: bool = False,
    session_link: str | None = None,
    variables: dict[str, object] | None = None,
    with_session: bool = True,
) -> RenderContext:
    session = SessionInfo(
        id="live-3",
        title="Live n°3 : manager à distance",
        start=datetime(2027, 4, 1, 18, 0, tzinfo=PARIS),
        duration=timedelta(hours=1, minutes=30),
        description="Questions en direct",
        link=session_link,
    )
    return RenderContext(
        campaign=CampaignInfo("lancement", "Lancement", {}),
        post=PostInfo("teaser", link=link, media=media, thread=thread),
        channel=ChannelInfo(f"{network}-channel", network, "Canal"),
        at=at,
        session=session if with_session else None,
        variables={"course": "Du Manager au Leader 2.0", "tags": ["leadership", "MOOC"],
                   **(variables or {})},
    )


class SteppedClock:
    """A monotonic clock that moves ``step`` seconds each time it is read: a render's time limit
    without waiting for it (``renderer.env.clock = SteppedClock(0.01)``: 2 s in 200 steps)."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.fixture
def workspace_with(tmp_path: Path) -> Callable[[dict[str, str]], TemplateRenderer]:
    """Write ``{file name: text}`` under tmp_path/templates and return a French renderer."""

    def build(files: dict[str, str], language: str = "fr") -> TemplateRenderer:
        folder = tmp_path / "templates"
        folder.mkdir(exist_ok=True)
        for name, text in files.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return TemplateRenderer(tmp_path, language, "Europe/Paris", UtmDefaults())

    return build
