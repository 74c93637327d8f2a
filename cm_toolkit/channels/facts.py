"""The kinds of fact a network adapter declares about its network, as class data.

Every fact about a network lives on its adapter class (``channels/<network>``), never in a
central table: the plan check, preview, quotas, pacing, ``cm auth``, the sandbox and
``cm channels --networks`` read them from the class the registry returns. A network added by a
plugin declares the same facts and is then treated exactly like a built-in one.

The facts on ``Channel`` (see ``base.py``) are:

- ``limits`` (``Limits``): text maximum and its unit, title, media count, size and types;
  with the classmethods ``text_length`` and ``wire_text`` (how the network counts and sends);
- ``link_handling`` (``LinkHandling``): what the adapter does with a post's ``link``;
- ``budget`` (``Budget``): the publishing rate the scheduler keeps per account;
- ``quota_rules`` (``QuotaRule``): the numbers the plan check counts a plan against;
- ``pricing`` (``Pricing``): what a post costs, for networks that bill per call (X);
- ``oauth`` (``OAuthProvider``): how ``cm auth`` runs the authorization-code flow;
- ``app_password`` (``AppPassword``): how ``cm auth`` signs in with a password instead (Bluesky);
- ``native_schedule`` (``NativeSchedule``): how far ahead the network schedules a post itself
  (informational, in ``cm check --json``'s summary);
- ``token_refresh`` (``TokenRefresh``): an access token that expires and the secrets that
  renew it (``cm check`` warns about a channel file without them);
- ``emulators``: the sandbox emulator classes (``"module:Class"``) that answer for the network;
- ``aliases``: names people use for it (``twitter`` for ``x``), for "did you mean";
- ``starter`` (``Starter``): how ``cm init`` writes a channel file for it;
- live hosting (``live_link_placeholder``, ``live_link_public``) and the inbox
  (``conversation_facts``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from cm_toolkit.channels.base import Transport


class LinkHandling(enum.Enum):
    """What an adapter does with a post's ``link`` (the plan check and preview mirror it)."""

    ATTACHED = "attached"  # sent apart from the text (Facebook link, LinkedIn article card)
    APPENDED = "appended"  # added at the end of the text when missing (X, YouTube description)
    LISTED = "listed"  # shown apart in a manual task: a person must paste it
    NONE = "none"  # the network has no use for a link (a Meet event)


@dataclass(frozen=True)
class Budget:
    """At most ``limit`` sends per ``window`` per account, kept with ``margin`` to spare."""

    limit: int
    window: timedelta
    margin: int = 0

    @property
    def usable(self) -> int:
        return max(1, self.limit - self.margin)


@dataclass(frozen=True)
class QuotaRule:
    """One number of a network's API the plan check counts planned sends against.

    Counted over a rolling ``window`` or per calendar day ending at midnight in ``day_zone``;
    ``per`` says who shares it: ``"account"`` (one channel) or ``"app"`` (the channels whose
    files name the same ``client_id`` secret: an X app, a Google Cloud project). ``costs`` is
    what one send of each kind spends (``"post"``, ``"thread_part"``, ``"live_setup"``) in
    ``unit``; a kind absent from it costs nothing under this rule. A post sent as a thread of
    n parts costs one ``"post"`` and n - 1 ``"thread_part"``.
    """

    key: str  # stable name in `cm check --json`'s summary, e.g. "x_posts_per_15_minutes"
    limit: float
    unit: str  # "posts", "units", "calls"
    per: str  # "account" or "app"
    what: str  # the network's own words: "POST /2/tweets per user"
    costs: Mapping[str, float] = field(default_factory=lambda: {"post": 1})
    window: timedelta | None = None
    day_zone: str | None = None


@dataclass(frozen=True)
class Pricing:
    """A network's pay-per-use price of publishing, in USD (X bills each post)."""

    post_usd: float
    post_with_url_usd: float | None = None  # a post whose text holds a URL, when it differs


class TokenCalls(Protocol):
    """What ``cm auth``'s flow lends a provider's ``finish`` step: the app's client and one
    token-endpoint call (errors mapped; ``what``/``fix`` name the cause when it is not the app)."""

    @property
    def client_id(self) -> str: ...

    @property
    def client_secret(self) -> str | None: ...

    def call(self, method: str, url: str, *, what: str | None = None, fix: str | None = None,
             **kwargs: Any) -> dict[str, Any]: ...


@dataclass(frozen=True)
class OAuthProvider:
    """How one network runs the authorization-code flow of ``cm auth``.

    ``authorize_url`` and ``token_url`` may hold ``{instance}`` (a network whose every server
    is its own provider, e.g. a Mastodon instance): ``cm auth`` fills it from the channel
    file's ``account.instance``.
    """

    network: str
    authorize_url: str
    token_url: str
    scopes: tuple[str, ...]
    scope_separator: str = " "
    pkce: bool = False
    basic_auth: bool = False  # confidential clients authenticate with HTTP Basic (X)
    token_method: str = "POST"
    extra_params: Mapping[str, str] = field(default_factory=dict)
    client_env: tuple[str, str] = ("", "")  # default variables of the client id / secret
    secret_required: bool = True
    # secret name in the channel file -> token response field, for what the flow stores
    stored: Mapping[str, str] = field(
        default_factory=lambda: {"access_token": "access_token", "refresh_token": "refresh_token"}
    )
    # (account, redirect URI, transport) -> (client id, client secret): an app registered on
    # the fly when the channel file names no client id (a Mastodon instance's /api/v1/apps)
    register_client: Callable[[Mapping[str, Any], str, Transport], tuple[str, str]] | None = None
    # (token answer, account, calls) -> the values to store, when the token answered is only a
    # first step (Facebook: the user token leads to the Page's own token)
    finish: Callable[[Mapping[str, Any], Mapping[str, Any], TokenCalls], dict[str, str]] | None = (
        None)


@dataclass(frozen=True)
class AppPassword:
    """Sign-in with an account identifier and an app password (``cm auth``, instead of OAuth).

    ``identifier`` is the ``account`` field naming the account (``handle``); ``env`` the
    variables ``cm auth`` reads the identifier and the password from before it asks (never the
    command line). ``sign_in(account, identifier, password, transport)`` checks them against
    the network and returns the secrets to store (the password, and the session it opened).
    """

    identifier: str
    password_secret: str
    env: tuple[str, str]
    where: str  # where the person makes an app password, said in the prompt
    sign_in: Callable[[Mapping[str, Any], str, str, Transport], dict[str, str]]


@dataclass(frozen=True)
class NativeSchedule:
    """How far ahead the network's own scheduling accepts a post (Facebook's
    ``scheduled_publish_time``): informational, cm-toolkit publishes at the due time itself."""

    earliest: timedelta
    latest: timedelta


@dataclass(frozen=True)
class TokenRefresh:
    """An access token that expires (after ``lifetime``, as people say it: "60 days") and the
    secrets that let the adapter renew it by itself. ``cm check`` warns about a channel whose file
    names none of them: publishing stops when the token expires, until ``cm auth`` again."""

    secrets: tuple[str, ...]
    lifetime: str


@dataclass(frozen=True)
class Starter:
    """How ``cm init`` writes a channel file for the network (none: ``cm init`` cannot).

    ``account`` holds the file's ``account:`` ids, each the workspace's own so that two
    workspaces differ (and the sandbox provisions them): ``{slug}`` is the folder's name in
    CamelCase (``ClubLecture``), ``{handle}`` the same in lower case, ``{digits:N}`` and
    ``{hex:N}`` N digits or hex characters derived from the folder's name and the network.
    ``secrets`` maps each secret to its environment variable; ``None``: the adapter's
    ``secret_names`` and ``token_refresh`` secrets, as ``CM_<NETWORK>_<SECRET>``. ``default``: in
    ``cm init``'s networks when ``--networks`` is not given. ``note``: the file's first comment.
    """

    label: str  # how a channel's name says the network: "Facebook Page"
    account: Mapping[str, str]
    secrets: Mapping[str, str] | None = None
    default: bool = False
    note: str = ""
