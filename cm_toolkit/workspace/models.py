"""Typed models of the user's workspace: ``schedules.yaml`` and ``channels/*.yaml``.

These models are the contract between the loader (``workspace.loader``), the planner
(``planning``), the ledger and the templates. Every field is documented in ``docs/workspace.md``;
``tests/workspace/test_docs.py`` fails when a field is missing there.

Time rules: a post has exactly one of ``at`` (absolute), ``every`` (cron recurrence with ``until``
or ``count``) or ``session`` (relative to a live session: ``before``/``after`` an offset, or at its
start when neither is given). Naive datetimes are in the workspace ``timezone``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, TypeAlias
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from cm_toolkit.workspace.datetimes import localize, parse_datetime
from cm_toolkit.workspace.durations import parse_duration


def _localize_from_context(value: datetime, info: ValidationInfo) -> datetime:
    # The loader validates with context={"timezone": ZoneInfo(...)}: naive times become aware.
    zone = info.context.get("timezone") if isinstance(info.context, dict) else None
    return localize(value, zone) if zone is not None else value


ID_MAX_LENGTH = 200
"""Campaign, post, live session and channel ids: the ledger's id columns hold 200 characters
(``tests/workspace/test_limits.py`` checks the sizes against ``ledger.models``)."""
NAME_MAX_LENGTH = 500
"""A campaign's name and a session's title (the ledger's columns)."""
TEMPLATE_NAME_MAX_LENGTH = 300
"""A template name (the ledger keeps it with each post)."""

def _web_link(value: str) -> str:
    try:
        parts = urlsplit(value.strip())
        host = parts.hostname
    except ValueError:  # e.g. "http://[" (an unclosed IPv6 address)
        host = None
    else:
        if parts.scheme.lower() not in ("http", "https"):
            host = None
    if not host:
        raise ValueError("must be a web address starting with https:// (or http://)")
    return value


WebLink = Annotated[str, AfterValidator(_web_link)]
"""A link shared with a post: an http(s) URL with a host (not ``javascript:``, not free text)."""

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
"""A duration written ``7d``, ``1h30m``, ``90m``, ``2w``, ``45s`` or ISO 8601 ``PT1H``."""

WorkspaceDateTime = Annotated[
    datetime, BeforeValidator(parse_datetime), AfterValidator(_localize_from_context)
]
"""``2027-01-14 18:00`` / ``2027-01-14T18:00`` / with an offset; naive = workspace time zone.

Validated by the loader, naive values come back aware (the workspace ``timezone`` attached)."""


Network: TypeAlias = str
"""A network's name as the channel registry knows it (``x``, ``facebook``, ``mastodon``...).

Open, not an enum: a built-in or a plugin's entry point adds one (``channels/registry.py``);
the loader checks a channel file's ``network`` against the registry (``workspace/networks.py``).
"""


class StrictModel(BaseModel):
    """Unknown keys are errors (the loader turns them into "did you mean" problems)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------------------------------------
# channels/*.yaml


class SecretRef(StrictModel):
    """Where a secret's value comes from. Exactly one of ``env`` or ``keyring``."""

    env: str | None = Field(default=None, description="Name of the environment variable.")
    keyring: str | None = Field(
        default=None, description="Keyring entry, as 'service/username' or 'service'."
    )


class ChannelFile(StrictModel):
    """One connected account. Its id is the file name without ``.yaml``."""

    network: Network = Field(
        max_length=32, description="A network `cm channels --networks` lists (x, facebook...)."
    )
    name: str | None = Field(default=None, description="Human name shown in tables and reports.")
    account: dict[str, Any] = Field(
        default_factory=dict,
        description="The account's ids (page_id, user_id, organization, channel_id, calendar_id...)."
        " Checked by the network's adapter settings.",
    )
    secrets: dict[str, SecretRef] = Field(
        default_factory=dict, description="Secret name -> where its value comes from."
    )
    options: dict[str, Any] = Field(
        default_factory=dict, description="Network options (e.g. threads allowed on X)."
    )
    notify: str | None = Field(
        default=None, description="manual channels: webhook URL or e-mail to notify with tasks."
    )


# ---------------------------------------------------------------------------------------------
# schedules.yaml


class UtmDefaults(StrictModel):
    medium: str = Field(default="social", description="utm_medium added to links.")
    source: str | None = Field(
        default=None, description="utm_source; default: the delivery's network name."
    )
    campaign: str | None = Field(default=None, description="utm_campaign; default: campaign id.")
    enabled: bool = Field(default=True, description="Set false to leave links untouched.")


class Defaults(StrictModel):
    language: str = Field(default="en", description="Language of dates in templates (Babel).")
    grace: Duration = Field(
        default=timedelta(hours=2),
        description="How late a delivery may still be published after downtime.",
    )
    spacing: Duration = Field(
        default=timedelta(minutes=5),
        description="Minimum time between two posts on one account.",
    )
    utm: UtmDefaults = Field(default_factory=UtmDefaults, description="UTM tagging of links.")


class ChannelOverride(StrictModel):
    """Per-channel (or per-network) changes to a post."""

    template: str | None = Field(default=None, max_length=TEMPLATE_NAME_MAX_LENGTH,
                                 description="Another template for this channel.")
    variables: dict[str, Any] = Field(default_factory=dict, description="Extra variables.")
    media: list[str] | None = Field(default=None, description="Other media for this channel.")
    link: WebLink | None = Field(default=None, description="Another link for this channel.")
    skip: bool = Field(default=False, description="Do not publish on this channel.")


class Post(StrictModel):
    id: str = Field(max_length=ID_MAX_LENGTH,
                    description="Unique post id (letters, digits, - and _).")
    template: str = Field(max_length=TEMPLATE_NAME_MAX_LENGTH,
                          description="Template name in templates/ (without extension).")
    channels: list[str] = Field(description="Channel ids (file names in channels/).")
    at: WorkspaceDateTime | None = Field(default=None, description="Absolute time rule.")
    every: str | None = Field(default=None, description="Recurrence: a 5-field cron expression.")
    until: WorkspaceDateTime | None = Field(
        default=None, description="With every: last possible instant."
    )
    count: int | None = Field(default=None, description="With every: number of occurrences.")
    skip: list[date] = Field(
        default_factory=list,
        description="With every: local dates with no occurrence (a holiday week); the series "
        "pauses, count: still counts the posts made.")
    session: str | None = Field(default=None, description="Relative rule: live session id.")
    before: Duration | None = Field(default=None, description="With session: offset before.")
    after: Duration | None = Field(default=None, description="With session: offset after.")
    media: list[str] = Field(default_factory=list, description="Media files, workspace-relative.")
    link: WebLink | None = Field(default=None, description="Link shared with the post.")
    thread: bool = Field(default=False, description="On X: publish as a numbered thread.")
    variables: dict[str, Any] = Field(default_factory=dict, description="Template variables.")
    overrides: dict[str, ChannelOverride] = Field(
        default_factory=dict, description="Channel id or network name -> override."
    )
    grace: Duration | None = Field(default=None, description="Overrides defaults.grace.")


class Announcement(StrictModel):
    """One step of a live session's announcement sequence (a post tied to the session)."""

    template: str = Field(max_length=TEMPLATE_NAME_MAX_LENGTH, description="Template name.")
    before: Duration | None = Field(default=None, description="Offset before the start.")
    after: Duration | None = Field(default=None, description="Offset after the start.")
    channels: list[str] | None = Field(
        default=None, description="Channels; default: the session's announce_on."
    )
    variables: dict[str, Any] = Field(default_factory=dict, description="Template variables.")


class LiveSession(StrictModel):
    id: str = Field(max_length=ID_MAX_LENGTH, description="Unique session id.")
    title: str = Field(max_length=NAME_MAX_LENGTH,
                       description="Title (YouTube: at most 100 characters).")
    description: str = Field(default="", description="Description of the session.")
    start: WorkspaceDateTime = Field(description="Start time (workspace time zone if naive).")
    duration: Duration = Field(description="Duration, e.g. 1h30m.")
    hosted_on: list[str] = Field(description="Channel ids of network youtube and/or meet.")
    create_before: Duration = Field(
        default=timedelta(days=8),
        description="How long before the start the broadcast/event is created.",
    )
    announce_on: list[str] = Field(
        default_factory=list, description="Default channels of the announcements."
    )
    announcements: list[Announcement] = Field(
        default_factory=list, description="Reminder sequence (e.g. 7d, 1d, 1h before, at start)."
    )
    variables: dict[str, Any] = Field(default_factory=dict, description="Template variables.")


class Campaign(StrictModel):
    id: str = Field(max_length=ID_MAX_LENGTH, description="Unique campaign id.")
    name: str = Field(max_length=NAME_MAX_LENGTH, description="Human name.")
    start: WorkspaceDateTime | None = Field(
        default=None, description="Reference date of growth multiples (default: first post)."
    )
    variables: dict[str, Any] = Field(default_factory=dict, description="Template variables.")
    live_sessions: list[LiveSession] = Field(default_factory=list, description="Live sessions.")
    posts: list[Post] = Field(default_factory=list, description="Posts of the campaign.")


class Growth(StrictModel):
    snapshot: str = Field(
        default="0 6 * * *", description="Cron expression of follower snapshots."
    )
    reference: WorkspaceDateTime | None = Field(
        default=None, description="Reference date of growth multiples."
    )


class TemplateLimits(StrictModel):
    """Bounds of one render of a template (docs/templates.md, 'Limits'). Capped, so that a file
    pasted from elsewhere cannot lift them."""

    seconds: float = Field(
        default=2.0, gt=0, le=30, description="Longest a render may run, in seconds."
    )
    characters: int = Field(
        default=100_000, ge=1_000, le=1_000_000,
        description="Most characters a render may produce (and any value it builds).",
    )

class InboxSettings(StrictModel):
    """The ``inbox:`` section: how ``cm run`` reads and answers the community (docs/inbox.md)."""

    sync: dict[Network, Duration] = Field(
        default_factory=dict,
        description="Sync cadence per network (default 15m; e.g. facebook: 10m, x: 30m).",
    )
    live_chat: Duration = Field(
        default=timedelta(seconds=30),
        description="Live chat cadence while a session is on air (the network may ask longer).",
    )
    retention: Duration = Field(
        default=timedelta(days=180), description="Messages older than this are purged."
    )
    x_read_budget_usd: float = Field(
        default=10.0, ge=0, description="Monthly budget of X reads in USD; polling X stops before."
    )
    auto_answers: bool = Field(
        default=True, description="cm run answers with FAQ entries marked auto: true."
    )

    @field_validator("sync", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> Any:
        # before pydantic's enum check: its message for a wrong key lists no choices
        if isinstance(value, dict):
            from cm_toolkit.workspace.networks import known_networks

            names = known_networks()
            for key in value:
                if str(key) not in names:
                    from cm_toolkit.workspace.suggestions import did_you_mean

                    hint = did_you_mean(str(key), names, otherwise=f"one of {', '.join(names)}")
                    raise ValueError(f"{key!r} is not a network: {hint}")
        return value


class Schedules(StrictModel):
    version: Literal[1] = Field(default=1, description="File format version.")
    timezone: str = Field(description="IANA time zone, e.g. Europe/Paris.")
    defaults: Defaults = Field(default_factory=Defaults, description="Defaults for every post.")
    variables: dict[str, Any] = Field(
        default_factory=dict, description="Workspace variables available to every template."
    )
    campaigns: list[Campaign] = Field(default_factory=list, description="Campaigns.")
    growth: Growth = Field(default_factory=Growth, description="Follower snapshot cadence.")
    allowed_paths: list[str] = Field(
        default_factory=list,
        description="Folders outside the workspace whose files templates and media may use.",
    )
    template_limits: TemplateLimits = Field(
        default_factory=TemplateLimits, description="Time and size bounds of each render."
    )
    inbox: InboxSettings = Field(
        default_factory=InboxSettings, description="Inbox sync, retention, X budget, auto answers."
    )


class Workspace(BaseModel):
    """A loaded and validated workspace. Built by ``workspace.loader.load_workspace``."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    root: Path
    schedules: Schedules
    channels: dict[str, ChannelFile]
    templates: list[str] = Field(default_factory=list)
