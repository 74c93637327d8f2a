"""The XRPC methods the Bluesky emulator serves, each checked against its lexicon.

Sessions (``com.atproto.server.createSession`` / ``refreshSession``), identity
(``resolveHandle``), the repository (``createRecord``, ``getRecord``, ``deleteRecord``,
``uploadBlob``) and the AppView reads the adapter uses (``app.bsky.actor.getProfile``,
``app.bsky.feed.getPosts``, with followers and engagement from the simulated audience).

Like the reference PDS today (bluesky-social/atproto#3718), a ``createRecord`` naming a record
key that already exists answers 500 ``InternalServerError``: nothing is written twice.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cm_toolkit.sandbox.audience import Publication
from cm_toolkit.sandbox.bluesky import lexicon
from cm_toolkit.sandbox.bluesky.base import (
    CREATE_POINTS,
    DELETE_POINTS,
    NETWORK,
    POINTS_DAY,
    POINTS_HOUR,
    SESSIONS_5MIN,
    SESSIONS_DAY,
    Account,
    BlueskyEmulatorBase,
    invalid,
    iso,
    xrpc_error,
)
from cm_toolkit.sandbox.core import SandboxRequest, SandboxResponse, Token, route

POST = "app.bsky.feed.post"
BLOB_MAX = 100_000_000  # the PDS's upload limit; the record's lexicon then says what it takes
_MAGIC = {"image/png": (b"\x89PNG",), "image/jpeg": (b"\xff\xd8\xff",),
          "image/gif": (b"GIF87a", b"GIF89a"), "image/webp": (b"RIFF",)}


def xrpc(nsid: str) -> str:
    return "/xrpc/" + nsid.replace(".", r"\.")


def cid_for(codec: int, data: bytes) -> str:
    """A CIDv1 (sha2-256) in base32, ``codec`` 0x71 for records (dag-cbor), 0x55 for blobs."""
    raw = bytes([0x01, codec, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


@dataclass
class Record:
    uri: str
    cid: str
    value: dict[str, Any]
    indexed_at: datetime


class BlueskyRoutes(BlueskyEmulatorBase):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.records: dict[str, Record] = {}  # at-uri -> record
        self.blobs: dict[str, tuple[str, int, str]] = {}  # cid -> (mime type, size, owner did)
        super().__init__(*args, **kwargs)

    def posts_of(self, did: str) -> list[dict[str, Any]]:
        return [{"uri": r.uri, "text": r.value.get("text"), "reply": "reply" in r.value}
                for r in self.records.values() if r.uri.startswith(f"at://{did}/")]

    def author(self, did: str) -> Account:
        """The account whose repository holds a record (learners too: ``audience.py``)."""
        return self.accounts[did]

    def _optional_auth(self, request: SandboxRequest) -> None:
        """AppView reads answer anyone; a token that is sent must still be good."""
        if request.header("authorization"):
            self.authenticate(request)

    def _session(self, account: Account, tokens: dict[str, str]) -> dict[str, Any]:
        return {**tokens, "handle": account.handle, "did": account.did,
                "didDoc": self.did_doc(account), "active": True}

    # -- sessions and identity ----------------------------------------------------------------

    @route("POST", xrpc("com.atproto.server.createSession"), auth=False)
    def create_session(self, request: SandboxRequest) -> SandboxResponse:
        nsid = "com.atproto.server.createSession"
        body = self.check_request(request, nsid)
        identifier = str(body["identifier"]).lower()
        self.spend(f"session:{identifier}", (SESSIONS_5MIN, SESSIONS_DAY), 1)
        account = self.by_actor(identifier)
        if account is None or body["password"] not in account.app_passwords:
            raise xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password")
        return self.answer(nsid, self._session(account, self.mint_session(account)))

    @route("POST", xrpc("com.atproto.server.refreshSession"), auth=False)
    def refresh_session(self, request: SandboxRequest) -> SandboxResponse:
        nsid = "com.atproto.server.refreshSession"
        self.check_request(request, nsid)
        token = request.bearer_token()
        if not token:
            raise xrpc_error(401, "AuthenticationRequired", "Authentication Required")
        found = self.refresh_tokens.get(token)
        if found is None:
            raise xrpc_error(400, "InvalidToken", "Token could not be verified")
        did, expires = found
        if expires <= self.ctx.now():
            raise xrpc_error(400, "ExpiredToken", "Token has expired")
        del self.refresh_tokens[token]  # rotated: the old refresh JWT is spent
        account = self.accounts[did]
        return self.answer(nsid, self._session(account, self.mint_session(account)))

    @route("GET", xrpc("com.atproto.identity.resolveHandle"), auth=False)
    def resolve_handle(self, request: SandboxRequest) -> SandboxResponse:
        nsid = "com.atproto.identity.resolveHandle"
        self.check_request(request, nsid)
        account = self.by_handle(request.query["handle"][-1])
        if account is None:
            raise xrpc_error(400, "InvalidRequest", "Unable to resolve handle")
        return self.answer(nsid, {"did": account.did})

    # -- the repository -----------------------------------------------------------------------

    def _own_repo(self, repo: str, token: Token) -> Account:
        account = self.accounts[token.account_id]
        if repo not in (account.did, account.handle):
            raise xrpc_error(401, "AuthenticationRequired", "Invalid repo: not the session's")
        return account

    @route("POST", xrpc("com.atproto.repo.uploadBlob"), creates=True)
    def upload_blob(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        nsid = "com.atproto.repo.uploadBlob"
        self.check_request(request, nsid)
        mime = (request.header("content-type") or "").split(";")[0].strip()
        if not request.body:
            raise invalid(["input: the blob is empty"])
        if len(request.body) > BLOB_MAX:
            raise xrpc_error(413, "PayloadTooLarge", "request entity too large")
        magic = _MAGIC.get(mime)
        if mime.startswith("image/") and magic and not request.body.startswith(magic):
            raise invalid([f"input: the bytes are not {mime}"])
        if not mime or mime == "*/*":
            raise invalid(["input: give the blob's Content-Type (image/png...)"])
        cid = cid_for(0x55, request.body)
        self.blobs[cid] = (mime, len(request.body), token.account_id)
        blob = {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime,
                "size": len(request.body)}
        return self.answer(nsid, {"blob": blob})

    @route("POST", xrpc("com.atproto.repo.createRecord"), creates=True)
    def create_record(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        nsid = "com.atproto.repo.createRecord"
        body = self.check_request(request, nsid)
        account = self._own_repo(body["repo"], token)
        collection, record = body["collection"], body["record"]
        if collection != POST:
            raise invalid([f"collection: the sandbox serves {POST} records only"])
        rkey = body.get("rkey") or self._next_tid()
        problems = lexicon.check_record(collection, record) + self._record_problems(
            record, account)
        if not lexicon.FORMATS["tid"](rkey):  # app.bsky.feed.post: "key": "tid"
            problems.append(f"rkey: {rkey!r} is not a TID, as {POST} record keys must be")
        if problems:
            raise invalid(problems)
        uri = f"at://{account.did}/{collection}/{rkey}"
        if uri in self.records:  # what the reference PDS does today (module docstring)
            raise xrpc_error(500, "InternalServerError", "Internal Server Error")
        headers = self.spend(f"points:{account.did}", (POINTS_HOUR, POINTS_DAY), CREATE_POINTS)
        cid = cid_for(0x71, json.dumps(record, sort_keys=True).encode())
        now = self.ctx.now()
        self.records[uri] = Record(uri, cid, record, now)
        if "reply" not in record:
            embed = str((record.get("embed") or {}).get("$type", ""))
            kind = "visual" if embed.endswith("images") else (
                "article" if embed.endswith("external") else "post")
            self.ctx.audience.published(Publication(NETWORK, account.did, uri, kind, now))
        rev = self._next_tid()
        return self.answer(nsid, {"uri": uri, "cid": cid, "validationStatus": "valid",
                                  "commit": {"cid": cid_for(0x71, rev.encode()), "rev": rev}},
                           headers)

    def _record_problems(self, record: dict[str, Any], account: Account) -> list[str]:
        """What the lexicon cannot say: facets inside the text, blobs uploaded by this account,
        replies to posts that exist (stricter than a PDS, to catch a client's mistakes)."""
        found: list[str] = []
        size = len(str(record.get("text", "")).encode("utf-8"))
        for index, facet in enumerate(record.get("facets") or []):
            span = facet.get("index", {})
            start, end = span.get("byteStart", 0), span.get("byteEnd", 0)
            if not 0 <= start < end <= size:
                found.append(f"record/facets/{index}/index: bytes {start}..{end} are not "
                             f"inside the text's {size} bytes")
        for index, image in enumerate((record.get("embed") or {}).get("images") or []):
            link = str(image.get("image", {}).get("ref", {}).get("$link", ""))
            if self.blobs.get(link, ("", 0, ""))[2] != account.did:
                found.append(f"record/embed/images/{index}/image: could not find blob {link}")
        for side in ("root", "parent"):
            ref = (record.get("reply") or {}).get(side)
            if ref and ref.get("uri") not in self.records:
                found.append(f"record/reply/{side}: no post at {ref.get('uri')}")
        return found

    def _next_tid(self) -> str:
        micros = int(self.ctx.now().timestamp() * 1_000_000) + self.ctx.next_id("bluesky.tid")
        value, chars = micros << 10, []
        for _ in range(13):
            chars.append("234567abcdefghijklmnopqrstuvwxyz"[value & 31])
            value >>= 5
        return "".join(reversed(chars))

    @route("GET", xrpc("com.atproto.repo.getRecord"), auth=False)
    def get_record(self, request: SandboxRequest) -> SandboxResponse:
        nsid = "com.atproto.repo.getRecord"
        self.check_request(request, nsid)
        repo = self.by_actor(request.query["repo"][-1])
        collection, rkey = request.query["collection"][-1], request.query["rkey"][-1]
        uri = f"at://{repo.did if repo else request.query['repo'][-1]}/{collection}/{rkey}"
        found = self.records.get(uri)
        if found is None:
            raise xrpc_error(400, "RecordNotFound", f"Could not locate record: {uri}")
        return self.answer(nsid, {"uri": found.uri, "cid": found.cid, "value": found.value})

    @route("POST", xrpc("com.atproto.repo.deleteRecord"))
    def delete_record(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        nsid = "com.atproto.repo.deleteRecord"
        body = self.check_request(request, nsid)
        account = self._own_repo(body["repo"], token)
        uri = f"at://{account.did}/{body['collection']}/{body['rkey']}"
        if uri not in self.records:  # deleting what is not there succeeds (the lexicon says so)
            return self.answer(nsid, {})
        headers = self.spend(f"points:{account.did}", (POINTS_HOUR, POINTS_DAY), DELETE_POINTS)
        del self.records[uri]
        self.ctx.audience.unpublished(NETWORK, uri)
        rev = self._next_tid()
        return self.answer(nsid, {"commit": {"cid": cid_for(0x71, rev.encode()), "rev": rev}},
                           headers)

    # -- AppView reads ------------------------------------------------------------------------

    def _basic(self, account: Account) -> dict[str, Any]:
        return {"did": account.did, "handle": account.handle,
                "displayName": account.display_name, "createdAt": iso(account.created_at)}

    @route("GET", xrpc("app.bsky.actor.getProfile"), auth=False)
    def get_profile(self, request: SandboxRequest) -> SandboxResponse:
        nsid = "app.bsky.actor.getProfile"
        self.check_request(request, nsid)
        self._optional_auth(request)
        account = self.by_actor(request.query["actor"][-1])
        if account is None:
            raise xrpc_error(400, "InvalidRequest", "Profile not found")
        now = self.ctx.now()
        posts = [r for r in self.records.values() if r.uri.startswith(f"at://{account.did}/")]
        return self.answer(nsid, {
            **self._basic(account),
            "followersCount": self.ctx.audience.followers(NETWORK, account.did, now),
            "followsCount": account.follows, "postsCount": len(posts),
            "indexedAt": iso(account.created_at),
        })

    @route("GET", xrpc("app.bsky.feed.getPosts"), auth=False)
    def get_posts(self, request: SandboxRequest) -> SandboxResponse:
        nsid = "app.bsky.feed.getPosts"
        self.check_request(request, nsid)
        self._optional_auth(request)
        views = []
        for uri in request.query.get("uris", []):
            found = self.records.get(uri)
            if found is None:  # a deleted or unknown post is left out, not an error
                continue
            author = self.author(uri.split("/")[2])
            seen = self.ctx.audience.engagement(NETWORK, uri, found.indexed_at, self.ctx.now())
            views.append({
                "uri": uri, "cid": found.cid, "author": self._basic(author),
                "record": found.value, "indexedAt": iso(found.indexed_at),
                "likeCount": seen["reactions"], "replyCount": seen["comments"],
                "repostCount": seen["shares"], "quoteCount": seen["shares"] // 4,
            })
        return self.answer(nsid, {"posts": views})
