"""Chirp's sandbox emulator: the same API as the network, answering on 127.0.0.1.

``cm sandbox serve``, ``cm demo`` and the tests load it because ``ChirpChannel.emulators``
names it. It checks what Chirp checks (the token, the text's length, the idempotency key) and
answers with Chirp's shapes and errors, so a request it accepts is one the network accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

from cm_toolkit.sandbox.audience import GrowthProfile
from cm_toolkit.sandbox.core import (
    ApiError,
    Emulator,
    ErrorKind,
    RateLimit,
    SandboxRequest,
    SandboxResponse,
    Token,
    route,
)

HOST = "api.chirp.example"
TEXT_MAX = 400
SAMPLE_HANDLE = "mooc-leader"


@dataclass
class ChirpPost:
    id: str
    handle: str
    text: str


class ChirpEmulator(Emulator):
    network: ClassVar[str] = "chirp"
    hosts: ClassVar[tuple[str, ...]] = (HOST,)

    def seed_accounts(self) -> None:
        # how the simulated audience grows here (cm growth, the dashboard's charts)
        self.ctx.audience.profiles.setdefault(self.network, GrowthProfile(1200, 0.01))
        self.posts: dict[str, ChirpPost] = {}
        self.keys: dict[tuple[str, str], str] = {}  # (handle, Idempotency-Key) -> post id
        self._account(SAMPLE_HANDLE)

    def _account(self, handle: str) -> str:
        token = f"chirp-sandbox-token-{handle}"
        if self.ctx.tokens.lookup(token) is None:
            self.ctx.tokens.add(Token(token, self.network, handle, expires_at=None))
        return token

    def provision(self, account: dict[str, Any]) -> dict[str, str]:
        handle = str(account.get("handle") or "")
        return {"access_token": self._account(handle)} if handle else {}

    def environment(self) -> dict[str, str]:
        return {"CM_CHIRP_TOKEN": self._account(SAMPLE_HANDLE)}

    def standard_error(self, kind: ErrorKind, request: SandboxRequest, **info: Any) -> ApiError:
        status = {ErrorKind.RATE_LIMITED: 429, ErrorKind.SERVER_ERROR: 500,
                  ErrorKind.TOKEN_EXPIRED: 401, ErrorKind.TOKEN_MISSING: 401,
                  ErrorKind.NOT_FOUND: 404}[kind]
        headers = {}
        if info.get("reset_at") is not None:
            headers["x-ratelimit-reset"] = str(int(info["reset_at"].timestamp()))
        return ApiError(status, kind.value.replace("_", " "), headers=headers)

    def state(self) -> dict[str, Any]:
        return {"posts": [vars(post) for post in self.posts.values()]}

    # -- the API ---------------------------------------------------------------------------------
    @route("POST", r"/v1/posts", creates=True, rate_limit=RateLimit(60, timedelta(hours=1)))
    def create(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        body = request.json()
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise ApiError(422, "text is required")
        if len(text) > TEXT_MAX:
            raise ApiError(422, f"text is {len(text)} characters; at most {TEXT_MAX}")
        key = request.header("idempotency-key")
        if key and (token.account_id, key) in self.keys:  # a retry: the first post, again
            return self._answer(200, self.posts[self.keys[(token.account_id, key)]])
        if any(p.handle == token.account_id and p.text == text for p in self.posts.values()):
            raise ApiError(422, "you already posted this text")
        post = ChirpPost(str(self.ctx.next_id("chirp-post", 9000)), token.account_id, text)
        self.posts[post.id] = post
        if key:
            self.keys[(token.account_id, key)] = post.id
        return self._answer(201, post)

    @route("DELETE", r"/v1/posts/(?P<post_id>\d+)")
    def remove(self, request: SandboxRequest, token: Token, post_id: str) -> SandboxResponse:
        post = self.posts.get(post_id)
        if post is None or post.handle != token.account_id:
            raise ApiError(404, "no such post")
        del self.posts[post_id]
        return SandboxResponse.empty(204)

    @route("GET", r"/v1/me")
    def me(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        handle = token.account_id  # followers grow as the sandbox's simulated audience says
        followers = self.ctx.audience.followers(self.network, handle, self.ctx.now())
        return SandboxResponse.json(200, {"handle": handle, "followers": followers})

    def _answer(self, status: int, post: ChirpPost) -> SandboxResponse:
        url = f"https://chirp.example/@{post.handle}/{post.id}"
        return SandboxResponse.json(status, {"id": post.id, "text": post.text, "url": url})
