"""What a template can see: ``RenderContext`` and the names it becomes inside Jinja.

Names available in every template (documented in docs/templates.md):

``campaign``  id, name, variables
``post``      id, link (raw, before UTM tagging), media (list of paths), thread, occurrence
              (1, 2, ... for a recurring post)
``channel``   id, network, name
``session``   the live session the post belongs to, or None: id, title, description, start
              (aware, workspace time zone), end, duration, link (the watch/join link: a public
              host's first, YouTube's watch page before a Meet room), links (one per host network:
              ``session.links.youtube``, ``session.links.meet``), hosts (its host networks),
              variables. At send time the links are the created ones (an announcement waits
              for one); ``cm preview``/``cm check`` put a placeholder of the network's own form
              and length (``Channel.live_link_placeholder``) for a host not created yet
``variables`` workspace < campaign < session < post < channel override, merged; each variable is
              also a top-level name (the names above win over a variable of the same name)
``at``/``now`` the delivery's instant, aware, in the workspace time zone
``network``   the network's name: facebook, x, linkedin, youtube, meet or manual
``link``      the post's final link for this network, UTM-tagged (the post's link, else the
              template's ``link`` option), or None
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cm_toolkit.workspace.models import Network


@dataclass(frozen=True)
class CampaignInfo:
    id: str
    name: str
    variables: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PostInfo:
    id: str
    link: str | None = None
    media: tuple[str, ...] = ()
    thread: bool = False
    occurrence: int = 1  # rank of this occurrence for recurring posts (1, 2, ...)


@dataclass(frozen=True)
class ChannelInfo:
    id: str
    network: Network
    name: str | None = None


@dataclass(frozen=True)
class SessionInfo:
    id: str
    title: str
    start: datetime  # aware
    duration: timedelta
    description: str = ""
    link: str | None = None  # the watch/join link, once the broadcast or event exists
    variables: Mapping[str, Any] = field(default_factory=dict)
    links: Mapping[str, str] = field(default_factory=dict)  # network name -> link
    hosts: tuple[str, ...] = ()  # the network names the session is hosted on


SessionLinks = Mapping[str, Mapping[str, str]]
"""Live session id -> {host network name -> watch/join link} (the created hosts)."""

class HostLinks(dict[str, str]):
    """``session.links``: a plain dict to templates; remembers whose links it holds, so that
    ``session.links.meet`` on a session without one says why (``failures._undefined_problem``)."""

    def __init__(self, links: Mapping[str, str], session_id: str, hosts: tuple[str, ...]) -> None:
        super().__init__(links)
        # underscored: the template sandbox refuses them, so a template sees only the links
        self._session_id = session_id
        self._hosts = hosts


@dataclass(frozen=True)
class RenderContext:
    """Everything one rendering depends on.

    ``variables`` is the already merged mapping (workspace < campaign < session < post < channel
    override): ``cm_toolkit.templates.delivery.context_for`` builds it from a workspace.
    ``at`` is the delivery's instant (aware; shown in the workspace time zone).
    """

    campaign: CampaignInfo
    post: PostInfo
    channel: ChannelInfo
    at: datetime
    session: SessionInfo | None = None
    variables: Mapping[str, Any] = field(default_factory=dict)


RESERVED_NAMES = (
    "campaign", "post", "channel", "session", "variables", "at", "now", "network", "link"
)


def template_names(context: RenderContext, timezone: ZoneInfo) -> dict[str, Any]:
    """The names a template sees. Plain dicts and lists, so the sandbox has nothing to escape to;
    datetimes are converted to the workspace time zone."""
    at = context.at.astimezone(timezone)
    session: dict[str, Any] | None = None
    if context.session is not None:
        s = context.session
        start = s.start.astimezone(timezone)
        session = {
            "id": s.id,
            "title": s.title,
            "description": s.description,
            "start": start,
            "end": start + s.duration,
            "duration": s.duration,
            "link": s.link,
            "links": HostLinks(s.links, s.id, s.hosts),
            "hosts": list(s.hosts),
            "variables": dict(s.variables),
        }
    names: dict[str, Any] = dict(context.variables)
    names.update(
        {
            "campaign": {
                "id": context.campaign.id,
                "name": context.campaign.name,
                "variables": dict(context.campaign.variables),
            },
            "post": {
                "id": context.post.id,
                "link": context.post.link,
                "media": list(context.post.media),
                "thread": context.post.thread,
                "occurrence": context.post.occurrence,
            },
            "channel": {
                "id": context.channel.id,
                "network": context.channel.network,
                "name": context.channel.name or context.channel.id,
            },
            "session": session,
            "variables": dict(context.variables),
            "at": at,
            "now": at,
            "network": context.channel.network,
        }
    )
    return names
