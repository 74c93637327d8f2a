"""Build the ``RenderContext`` of a planned delivery from the workspace it came from.

The planner (``cm_toolkit.planning``) says *what* is due where and when; this module finds the
post (or the live session's announcement) back in the workspace models, so that templates see
the values with their real types (dates stay dates), merged in this order:
workspace < campaign < session < post (or announcement) < channel override.

Announcements have no post id of their own: their ``post.id`` is the delivery's key with ``-``
for ``/`` (``qa-1/announce/0`` -> ``qa-1-announce-0``), which is also their utm_content.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cm_toolkit.errors import CmError, Problem, TemplateError
from cm_toolkit.planning.models import DeliveryKind, PlannedDelivery
from cm_toolkit.templates.context import (
    CampaignInfo,
    ChannelInfo,
    PostInfo,
    RenderContext,
    SessionInfo,
    SessionLinks,
)
from cm_toolkit.templates.limits import RenderLimits
from cm_toolkit.templates.render import TemplateRenderer
from cm_toolkit.workspace.models import Campaign, LiveSession, Post, Workspace

if TYPE_CHECKING:
    from cm_toolkit.channels.base import Channel


def renderer_for(workspace: Workspace) -> TemplateRenderer:
    """The renderer of ``workspace`` (its root, language, time zone and UTM defaults)."""
    defaults = workspace.schedules.defaults
    return TemplateRenderer(
        workspace.root, defaults.language, workspace.schedules.timezone, defaults.utm,
        render_limits(workspace), tuple(workspace.schedules.allowed_paths),
    )


def render_limits(workspace: Workspace) -> RenderLimits:
    """The workspace's ``template_limits:`` as the renderer takes them."""
    limits = workspace.schedules.template_limits
    return RenderLimits(seconds=limits.seconds, characters=limits.characters)


def _find_campaign(workspace: Workspace, campaign_id: str) -> Campaign:
    for campaign in workspace.schedules.campaigns:
        if campaign.id == campaign_id:
            return campaign
    raise TemplateError(
        Problem("schedules.yaml", None, None, f"campaign {campaign_id!r} is not in the workspace")
    )


def _find_session(campaign: Campaign, session_id: str | None) -> LiveSession | None:
    if session_id is None:
        return None
    for campaign_session in campaign.live_sessions:
        if campaign_session.id == session_id:
            return campaign_session
    return None


# A campaign's posts by id, per posts list (models are frozen: a list is never changed once
# loaded). Scanning the list for each delivery made a plan of n explicit posts cost n² (25 s of
# `cm check` for 8,000 posts). The list is kept beside its index so that its id is not reused;
# a few workspaces at most (``cm run`` reloads one when its files change).
_POST_INDEXES: dict[int, tuple[list[Post], dict[str, Post]]] = {}
_POST_INDEXES_KEPT = 16


def _find_post(campaign: Campaign, post_id: str | None) -> Post | None:
    posts = campaign.posts
    cached = _POST_INDEXES.get(id(posts))
    if cached is None or cached[0] is not posts:
        while len(_POST_INDEXES) >= _POST_INDEXES_KEPT:
            _POST_INDEXES.pop(next(iter(_POST_INDEXES)))
        # reversed: the first post of an id wins, as the scan did.
        cached = (posts, {post.id: post for post in reversed(posts)})
        _POST_INDEXES[id(posts)] = cached
    return cached[1].get(post_id) if post_id is not None else None


def _host_class(network: str) -> type[Channel] | None:
    from cm_toolkit.channels.registry import channel_class  # imports adapters: only when asked

    try:
        return channel_class(network)
    except CmError:  # a third-party adapter that is not installed
        return None


def live_link_placeholder(network: str) -> str | None:
    """The host adapter's placeholder link (its real form and length), None when it has none."""
    cls = _host_class(network)
    return cls.live_link_placeholder if cls is not None else None


def primary_link(hosts: tuple[str, ...], links: Mapping[str, str]) -> str | None:
    """``session.link``: the first host (``hosted_on`` order) whose link anyone can open
    (``Channel.live_link_public``: YouTube's watch page, not a Meet room), else the first host's
    link, else any."""
    public = [network for network in hosts
              if (cls := _host_class(network)) is not None and cls.live_link_public]
    for network in (*public, *hosts):
        if network in links:
            return links[network]
    return next(iter(links.values()), None)


def session_hosts(workspace: Workspace, session: LiveSession) -> tuple[str, ...]:
    """The network names ``session`` is hosted on, in ``hosted_on`` order, once each."""
    hosts: list[str] = []
    for channel_id in session.hosted_on:
        channel = workspace.channels.get(channel_id)
        if channel is not None and channel.network not in hosts:
            hosts.append(channel.network)
    return tuple(hosts)


def _session_info(
    workspace: Workspace, session: LiveSession, links: SessionLinks, placeholders: bool
) -> SessionInfo:
    hosts = session_hosts(workspace, session)
    known = dict(links.get(session.id, {}))
    if placeholders:
        for network in hosts:
            placeholder = live_link_placeholder(network)
            if network not in known and placeholder is not None:
                known[network] = placeholder
    return SessionInfo(
        id=session.id,
        title=session.title,
        start=session.start,
        duration=session.duration,
        description=session.description,
        link=primary_link(hosts, known),
        variables=dict(session.variables),
        links=known,
        hosts=hosts,
    )


def context_for(
    workspace: Workspace,
    delivery: PlannedDelivery,
    *,
    session_links: SessionLinks | None = None,
    at: datetime | None = None,
    placeholders: bool = False,
) -> tuple[str, RenderContext]:
    """(template name, context) to render ``delivery``.

    ``session_links`` maps a live session id to its created hosts' links ({network: link}, from
    the ledger); ``at`` defaults to the delivery's due time. ``placeholders`` (preview, check):
    a host not created yet gets its adapter's placeholder link, of the real form and length,
    so that lengths and X prices are the ones of the post as it will be sent.
    """
    if delivery.kind is DeliveryKind.LIVE_SETUP or delivery.template is None:
        raise TemplateError(
            Problem("schedules.yaml", None, None,
                    f"{delivery.post_key} on {delivery.channel_id} is a live setup, not a post")
        )
    links = session_links or {}
    campaign = _find_campaign(workspace, delivery.campaign_id)
    session = _find_session(campaign, delivery.session_id)
    channel_file = workspace.channels.get(delivery.channel_id)
    variables: dict[str, Any] = dict(workspace.schedules.variables)
    variables.update(campaign.variables)
    if session is not None:
        variables.update(session.variables)

    if delivery.kind is DeliveryKind.ANNOUNCEMENT:
        assert session is not None, "an announcement always belongs to a live session"
        index = int(delivery.post_key.rsplit("/", 1)[1])
        variables.update(session.announcements[index].variables)
        post = PostInfo(id=delivery.post_key.replace("/", "-"))
        template = delivery.template
    else:
        found = _find_post(campaign, delivery.post_id)
        if found is None:
            raise TemplateError(
                Problem("schedules.yaml", None, None, f"post {delivery.post_id!r} is not found")
            )
        variables.update(found.variables)
        link, media, template = found.link, list(found.media), found.template
        override = found.overrides.get(delivery.channel_id) or found.overrides.get(
            delivery.network
        )
        if override is not None:
            variables.update(override.variables)
            template = override.template or template
            link = override.link if override.link is not None else link
            media = list(override.media) if override.media is not None else media
        post = PostInfo(
            id=found.id,
            link=link,
            media=tuple(media),
            thread=found.thread,
            occurrence=delivery.occurrence,
        )

    context = RenderContext(
        campaign=CampaignInfo(campaign.id, campaign.name, dict(campaign.variables)),
        post=post,
        channel=ChannelInfo(
            delivery.channel_id,
            delivery.network,
            channel_file.name if channel_file is not None else None,
        ),
        at=at or delivery.due_at,
        session=(_session_info(workspace, session, links, placeholders)
                 if session is not None else None),
        variables=variables,
    )
    return template, context
