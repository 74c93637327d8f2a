"""What learners post on Bluesky in the sandbox, and the notifications that tell the account.

From the simulated audience (``sandbox/audience.py``), up to the sandbox clock, learners
(handles ``name.etudiants.example``, repositories of their own) write ``app.bsky.feed.post``
records:

- replies to the accounts' posts (``reply: {root, parent}``: reason ``reply``);
- answers to each other under those posts (root: our post, parent: the learner's; the root's
  author is notified, reason ``reply``);
- posts naming the account with a mention facet (reason ``mention``), one in four of them
  quoting one of its posts instead (``app.bsky.embed.record``: reason ``quote``).

``app.bsky.notification.listNotifications`` serves them newest first (``indexedAt``, then the
order they were made), ``reasons`` filtering, ``limit`` 50 by default (1 to 100) and an opaque
``cursor`` to the next older page; every answer is checked against the lexicon.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cm_toolkit.sandbox.bluesky.base import NETWORK, Account, invalid, iso
from cm_toolkit.sandbox.bluesky.routes import POST, BlueskyRoutes, Record, cid_for, xrpc
from cm_toolkit.sandbox.core import SandboxRequest, SandboxResponse, Token, route

LEARNER_DOMAIN = "etudiants.example"
LIST = "app.bsky.notification.listNotifications"


@dataclass
class Notice:
    seq: int
    did: str  # who is notified
    uri: str  # the learner's post
    reason: str
    subject: str | None  # reasonSubject: our post replied to or quoted

    def key(self, records: dict[str, Record]) -> tuple[str, int]:
        return (iso(records[self.uri].indexed_at), self.seq)


def _unit(*parts: object) -> float:
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class AudiencePosts(BlueskyRoutes):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.learners: dict[str, Account] = {}  # did -> account (no app password: no sign-in)
        self.notices: list[Notice] = []
        self.materialised: dict[str, str] = {}  # the audience's message id -> the post's uri
        super().__init__(*args, **kwargs)

    def by_handle(self, handle: str) -> Account | None:
        found = super().by_handle(handle)
        handle = handle.lower().lstrip("@")
        return found or next((a for a in self.learners.values() if a.handle == handle), None)

    def author(self, did: str) -> Account:
        return self.accounts.get(did) or self.learners[did]

    def _learner(self, name: str) -> Account:
        plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        handle = f"{re.sub(r'[^a-z0-9]', '', plain.lower())[:40]}.{LEARNER_DOMAIN}"
        found = self.by_handle(handle)
        if found is None:
            digest = hashlib.sha256(f"{self.ctx.seed}:{handle}".encode()).digest()
            did = "did:plc:" + "".join("abcdefghijklmnopqrstuvwxyz234567"[b % 32]
                                       for b in digest[:24])
            found = Account(did, handle, name, set(), self.ctx.now() - timedelta(days=300))
            self.learners[did] = found
        return found

    def materialise(self) -> None:
        """Learners' posts up to now, each notifying the account it answers or names."""
        now = self.ctx.now()
        drafts: list[tuple[datetime, str, dict[str, Any], Record | None, Account]] = []
        for record in list(self.records.values()):
            owner = self.accounts.get(record.uri.split("/")[2])
            if owner is None or "reply" in record.value:
                continue
            for said in self.ctx.audience.comments(NETWORK, record.uri, record.indexed_at, now):
                if said["id"] not in self.materialised:
                    drafts.append((datetime.fromisoformat(said["created_at"]), said["id"], said,
                                   record, owner))
        for owner in list(self.accounts.values()):
            for said in self.ctx.audience.mentions(NETWORK, owner.did, now):
                if said["id"] not in self.materialised:
                    drafts.append((datetime.fromisoformat(said["created_at"]), said["id"], said,
                                   None, owner))
        for at, key, said, post, owner in sorted(drafts, key=lambda d: (d[0], d[1])):
            author = self._learner(said["author"])
            value: dict[str, Any] = {"$type": POST, "text": said["text"], "langs":
                                     [said["language"]], "createdAt": iso(at)}
            reason, subject = "mention", None
            if post is not None:
                parent = self.records.get(self.materialised.get(said.get("reply_to") or "", ""),
                                          post)
                value["reply"] = {"root": {"uri": post.uri, "cid": post.cid},
                                  "parent": {"uri": parent.uri, "cid": parent.cid}}
                reason, subject = "reply", post.uri
            else:
                ours = [r for r in self.records.values()
                        if r.uri.startswith(f"at://{owner.did}/") and "reply" not in r.value
                        and r.indexed_at < at]
                if ours and _unit(self.ctx.seed, key, "quote") < 0.25:
                    quoted = ours[int(_unit(self.ctx.seed, key, "which") * len(ours))]
                    value["embed"] = {"$type": "app.bsky.embed.record",
                                      "record": {"uri": quoted.uri, "cid": quoted.cid}}
                    reason, subject = "quote", quoted.uri
                else:
                    value["text"] = f"@{owner.handle} {said['text']}"
                    end = len(owner.handle.encode("utf-8")) + 1
                    value["facets"] = [{
                        "index": {"byteStart": 0, "byteEnd": end},
                        "features": [{"$type": "app.bsky.richtext.facet#mention",
                                      "did": owner.did}]}]
            rkey = self._next_tid()
            uri = f"at://{author.did}/{POST}/{rkey}"
            self.records[uri] = Record(uri, cid_for(0x71, json.dumps(value, sort_keys=True)
                                                    .encode()), value, at)
            self.materialised[key] = uri
            self.notices.append(Notice(len(self.notices) + 1, owner.did, uri, reason, subject))

    def _record_problems(self, record: dict[str, Any], account: Account) -> list[str]:
        if (record.get("reply") or {}).get("parent", {}).get("uri") not in self.records:
            self.materialise()  # a learner's post not listed yet is there all the same
        return super()._record_problems(record, account)

    @route("GET", xrpc(LIST))
    def list_notifications(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        self.check_request(request, LIST)
        self.materialise()
        reasons = set(request.query.get("reasons", []))
        limit = int(request.arg("limit") or 50)
        after = request.arg("cursor")
        if after is not None and "|" not in after:
            raise invalid(["params/cursor: not a cursor this server gave"])
        found = sorted((n for n in self.notices
                        if n.did == token.account_id and n.uri in self.records
                        and (not reasons or n.reason in reasons)),
                       key=lambda n: n.key(self.records), reverse=True)
        if after is not None:
            at, _, seq = after.partition("|")
            found = [n for n in found if n.key(self.records) < (at, int(seq or 0))]
        page = found[:limit]
        payload: dict[str, Any] = {"notifications": [self._notification(n) for n in page]}
        if len(found) > limit:
            payload["cursor"] = "|".join(str(part) for part in page[-1].key(self.records))
        response = self.answer(LIST, payload)
        response.journal["notifications"] = len(page)
        return response

    def _notification(self, notice: Notice) -> dict[str, Any]:
        record = self.records[notice.uri]
        author = self.author(notice.uri.split("/")[2])
        shaped: dict[str, Any] = {
            "uri": record.uri, "cid": record.cid, "reason": notice.reason,
            "author": {"did": author.did, "handle": author.handle,
                       "displayName": author.display_name, "createdAt": iso(author.created_at),
                       "indexedAt": iso(author.created_at)},
            "record": record.value, "isRead": False, "indexedAt": iso(record.indexed_at),
        }
        if notice.subject:
            shaped["reasonSubject"] = notice.subject
        return shaped
