"""State and shared helpers of the Graph emulator (the route mixins build on ``GraphBase``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from cm_toolkit.sandbox.audience import GrowthProfile
from cm_toolkit.sandbox.core import Emulator, SandboxContext, SandboxRequest, Token
from cm_toolkit.sandbox.facebook.errors import (
    GraphCode,
    graph_error,
    invalid_parameter,
    missing_object,
)
from cm_toolkit.sandbox.facebook.specs import (
    COMMON_PARAMS,
    FieldRequest,
    FieldSyntaxError,
    NodeSpec,
    param_name,
    parse_fields,
)
from cm_toolkit.sandbox.facebook.state import (
    GraphComment,
    GraphPage,
    GraphPhoto,
    GraphPost,
    PostState,
    TokenKind,
    Window,
)

GRAPH_HOST = "graph.facebook.com"
WWW_HOST = "www.facebook.com"

# The sample workspace's Page (channels/facebook-page.yaml) and the sandbox's app and admin user.
PAGE_ID = "104857600123456"
PAGE_NAME = "Du Manager au Leader 2.0"
USER_ID = "100000000000777"
USER_NAME = "Community Manager (sandbox)"
APP_ID = "880000000000001"
APP_SECRET = "facebook-sandbox-app-secret"
PAGE_TOKEN = f"facebook-sandbox-page-token-{PAGE_ID}"
USER_TOKEN = "facebook-sandbox-user-token"

SHORT_LIVED = timedelta(hours=1)  # user tokens from the login dialog: "about an hour or two"
LONG_LIVED = timedelta(days=60)  # after fb_exchange_token


def graph_time(dt: datetime) -> str:
    """Graph's timestamp format: ``2026-01-05T18:00:00+0000``."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


@dataclass
class Target:
    """A GET target resolved from a path id."""

    spec: str  # node type: Page, PagePost, Photo, Comment, User
    obj: Any
    page: GraphPage | None


class GraphBase(Emulator):
    network: ClassVar[str] = "facebook"
    hosts: ClassVar[tuple[str, ...]] = (GRAPH_HOST, WWW_HOST, "facebook.com", "m.facebook.com")
    auth_paths: ClassVar[str] = r"/oauth/access_token"
    growth: ClassVar[GrowthProfile] = GrowthProfile(
        8200, 0.004, {"visual": 60, "post": 25, "live": 40})

    # Rolling-window limits (instance attributes: tests lower them to meet each throttle).
    app_calls_per_hour = 10_000  # Graph: 200 x daily active users; the sandbox app has 50
    user_calls_per_hour = 200  # code 17
    page_calls_per_day = 4_800  # code 32; Graph: 4,800 x engaged users per 24 h (1 here)
    page_posts_per_hour = 50  # code 613; a sandbox choice (Graph's publishing cap is unpublished)

    def __init__(self, ctx: SandboxContext) -> None:
        self.pages: dict[str, GraphPage] = {}
        self.token_kinds: dict[str, TokenKind] = {}
        self.user_pages: dict[str, list[str]] = {}  # user id -> page ids they administer
        self.apps: dict[str, str] = {}  # app id -> secret
        self.app_window = Window(self.app_calls_per_hour, timedelta(hours=1))
        self.user_windows: dict[str, Window] = {}
        self.page_windows: dict[str, Window] = {}
        self.post_windows: dict[str, Window] = {}
        self.codes: dict[str, dict[str, str]] = {}  # OAuth authorization codes
        self.page_tokens: dict[tuple[str, str], Token] = {}  # (user token, page id) -> token
        self._traces = 0
        super().__init__(ctx)

    # -- small helpers ------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.ctx.now()

    def next_trace(self) -> int:
        self._traces += 1
        return self._traces

    def new_object_id(self, kind: str) -> str:
        # Graph's current object ids are 17-18 digit numbers starting with 122...
        base = {"post": 122100000000000000, "photo": 122200000000000000}.get(kind, 0)
        return str(base + self.ctx.next_id(f"facebook-{kind}"))

    def add_token(self, token: Token, kind: TokenKind) -> Token:
        self.token_kinds[token.value] = kind
        return self.ctx.tokens.add(token)

    def mint_user_token(self, user_id: str, lifetime: timedelta) -> Token:
        number = self.ctx.next_id("facebook-user-token")
        value = f"facebook-sandbox-user-token-{user_id}-{number}"
        return self.add_token(
            Token(value, self.network, user_id, self.now() + lifetime), TokenKind.USER
        )

    def mint_page_token(self, user: Token, page_id: str) -> Token:
        """A Page token obtained with a user token: it does not expire when the user token is
        long-lived (Graph's rule), else it ends with the user token."""
        now = self.now()
        known = self.page_tokens.get((user.value, page_id))
        if known is not None and self.ctx.tokens.is_valid(known, now):
            return known
        long_lived = user.expires_at is None or user.expires_at - now > timedelta(days=1)
        number = self.ctx.next_id("facebook-page-token")
        token = self.add_token(
            Token(
                f"facebook-sandbox-page-token-{page_id}-{number}",
                self.network,
                page_id,
                None if long_lived else user.expires_at,
            ),
            TokenKind.PAGE,
        )
        self.page_tokens[(user.value, page_id)] = token
        return token

    def token_kind(self, token: Token) -> TokenKind:
        return self.token_kinds.get(token.value, TokenKind.USER)

    def fields(self, request: SandboxRequest, spec: NodeSpec | None) -> list[FieldRequest] | None:
        """The request's ``fields``, checked against the node spec (None: default fields)."""
        text = request.arg("fields")
        if text is None or not text.strip():
            return None
        try:
            requested = parse_fields(text)
        except FieldSyntaxError as exc:
            raise graph_error(
                GraphCode.UNKNOWN_PATH,
                f'Syntax error "{exc}" at character {exc.position}: {text}',
            ) from None
        if spec is not None:
            unknown = spec.unknown_fields(requested)
            if unknown:
                raise invalid_parameter(
                    f"(#100) Tried accessing nonexisting field ({unknown[0]}) "
                    f"on node type ({spec.name})"
                )
        return requested

    def check_params(self, request: SandboxRequest, allowed: frozenset[str]) -> None:
        """Reject a POST parameter the endpoint's spec does not list (Graph's code 100)."""
        names = list(request.query) + list(request.form()) + list(request.files())
        for name in names:
            if param_name(name) not in allowed and name not in COMMON_PARAMS:
                raise invalid_parameter(
                    f"(#100) Param {name} is not a valid parameter of this endpoint",
                    error_data={"blame_field_specs": [[name]]},
                )

    def bool_param(self, request: SandboxRequest, name: str, default: bool) -> bool:
        value = request.arg(name)
        if value is None or value == "":
            return default
        if value in ("true", "1"):
            return True
        if value in ("false", "0"):
            return False
        raise invalid_parameter(f"(#100) Param {name} must be a boolean ('true' or 'false')")

    # -- object resolution ------------------------------------------------------------------

    def page(self, page_id: str) -> GraphPage | None:
        return self.pages.get(page_id)

    def find_post(self, post_id: str) -> GraphPost | None:
        page_id = post_id.split("_", 1)[0]
        page = self.pages.get(page_id)
        return page.posts.get(post_id) if page else None

    def find_photo(self, photo_id: str) -> GraphPhoto | None:
        for page in self.pages.values():
            if photo_id in page.photos:
                return page.photos[photo_id]
        return None

    def find_comment(self, comment_id: str) -> GraphComment | None:
        """A Page-written comment, or a simulated learner comment (``{post object}_{n}``)."""
        for page in self.pages.values():
            if comment_id in page.comments:
                return page.comments[comment_id]
        object_id, _, number = comment_id.partition("_")
        if not number.isdigit():
            return None
        for page in self.pages.values():
            post = page.posts.get(f"{page.id}_{object_id}")
            if post is None or post.published_at is None:
                continue
            for item in self.learner_comments(post):
                if item.id == comment_id:
                    return item
        return None

    def learner_comments(self, post: GraphPost) -> list[GraphComment]:
        if post.state is not PostState.PUBLISHED or post.published_at is None:
            return []
        raw = self.ctx.audience.comments("facebook", post.id, post.published_at, self.now())
        out = []
        ids: dict[str, str] = {}  # the audience's comment id -> its Graph id
        for index, item in enumerate(raw):
            created = datetime.fromisoformat(item["created_at"])
            if created > self.now():
                continue
            ids[item["id"]] = f"{post.object_id}_{index + 1}"
            out.append(
                GraphComment(
                    id=ids[item["id"]],
                    parent_id=ids.get(item.get("reply_to") or "", post.id),
                    post_id=post.id,
                    author_name=item["author"],
                    author_id=str(100000000100000 + sum(map(ord, item["author"]))),
                    message=item["text"],
                    created_at=created,
                )
            )
        return out

    def resolve(self, method: str, node: str, token: Token) -> Target:
        """The object a path id names, or Graph's "does not exist" answer."""
        if node == "me":
            if self.token_kind(token) is TokenKind.PAGE:
                page = self.pages[token.account_id]
                return Target("Page", page, page)
            return Target("User", token.account_id, None)
        if node in self.pages:
            return Target("Page", self.pages[node], self.pages[node])
        post = self.find_post(node)
        if post is not None:
            return Target("PagePost", post, self.pages[post.page_id])
        photo = self.find_photo(node)
        if photo is not None:
            return Target("Photo", photo, self.pages[photo.page_id])
        comment = self.find_comment(node)
        if comment is not None:
            return Target("Comment", comment, self.find_page_of(comment.post_id))
        raise missing_object(method, node)

    def find_page_of(self, post_id: str) -> GraphPage | None:
        return self.pages.get(post_id.split("_", 1)[0])

    def require_page_token(self, token: Token, page: GraphPage, action: str) -> None:
        """Writes on a Page need that Page's token (Graph's code 200 otherwise)."""
        if self.token_kind(token) is not TokenKind.PAGE or token.account_id != page.id:
            raise graph_error(
                GraphCode.PERMISSION,
                f"(#200) If {action}, requires both pages_read_engagement and "
                "pages_manage_posts permission with page token",
                status=403,
            )
