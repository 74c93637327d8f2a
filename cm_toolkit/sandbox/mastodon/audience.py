"""What learners post on Mastodon in the sandbox, and the notifications that tell the account.

From the simulated audience (``sandbox/audience.py``), up to the sandbox clock, learners of a
remote instance (``LEARNER_INSTANCE``: their ``acct`` is ``user@host``) write:

- replies to the accounts' posts: ``@username@instance`` + the learner's text (they mention
  the account, so it is notified);
- answers to each other under those posts: ``@learner@host`` + text (no notification for us);
- posts naming the account outside any conversation.

``GET /api/v1/notifications`` serves the ``mention`` notifications (newest first, ``limit`` 40
by default and 80 at most, ``max_id``/``since_id``/``min_id``, ``types[]``/``exclude_types[]``)
with Mastodon's ``Link`` header (``rel="next"``: ``max_id`` of the page's last;
``rel="prev"``: ``min_id`` of its first). Notification ids grow in the order they are made, so
a reader's ``since_id`` never misses one.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from cm_toolkit.sandbox.core import SandboxRequest, SandboxResponse, Token, route
from cm_toolkit.sandbox.mastodon.model import Account, Notification, Status, stamp
from cm_toolkit.sandbox.mastodon.routes import StatusRoutes

LEARNER_INSTANCE = "etudiants.social.example"
PAGE_DEFAULT, PAGE_MAX = 40, 80


def learner_username(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]", "", plain)[:30]


class AudienceStatuses(StatusRoutes):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.notifications: dict[str, Notification] = {}
        self.materialised: dict[str, str] = {}  # the audience's message id -> status id
        super().__init__(*args, **kwargs)

    def _learner(self, name: str) -> Account:
        username = learner_username(name)
        acct = f"{username}@{LEARNER_INSTANCE}"
        if acct not in self.accounts:  # remote: no token, no instance served
            number = self.ctx.next_id("mastodon.account", 109000000000000001)
            self.accounts[acct] = Account(str(number), username, LEARNER_INSTANCE, name,
                                          created_at=self.ctx.now())
        return self.accounts[acct]

    def materialise(self) -> None:
        """Learners' statuses up to now (ids in the order they were written), each mention of
        a served account notified; run before every read that may show them."""
        now = self.ctx.now()
        drafts: list[tuple[datetime, str, dict[str, Any], Status | None, Account]] = []
        for status in list(self.statuses.values()):
            owner = self.accounts[status.account]
            if status.in_reply_to_id or owner.instance not in self.instances:
                continue
            for said in self.ctx.audience.comments(self.network, status.id, status.created_at,
                                                   now):
                if said["id"] not in self.materialised:
                    at = datetime.fromisoformat(said["created_at"])
                    drafts.append((at, said["id"], said, status, owner))
        for acct, owner in list(self.accounts.items()):
            if owner.instance not in self.instances:
                continue
            for said in self.ctx.audience.mentions(self.network, acct, now):
                if said["id"] not in self.materialised:
                    at = datetime.fromisoformat(said["created_at"])
                    drafts.append((at, said["id"], said, None, owner))
        for at, key, said, post, owner in sorted(drafts, key=lambda d: (d[0], d[1])):
            parent = post
            if post is not None and said.get("reply_to") in self.materialised:
                parent = self.statuses.get(self.materialised[said["reply_to"]], post)
            to = self.accounts[parent.account] if parent is not None else owner
            author = self._learner(said["author"])
            status = Status(
                str(self.ctx.next_id("mastodon.status", 113000000000000001)), author.acct,
                f"@{to.acct} {said['text']}", at, "public", said["language"],
                parent.id if parent is not None else None)
            self.statuses[status.id] = status
            self.materialised[key] = status.id
            if to.instance in self.instances:  # a served account is mentioned: notified
                number = self.ctx.next_id("mastodon.notification", 1)
                self.notifications[str(number)] = Notification(str(number), to.acct,
                                                               status.id, at)

    @route("GET", r"/api/v1/notifications")
    def list_notifications(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        self.materialise()
        acct = token.account_id
        query = request.query
        types = set(query.get("types[]", []) + query.get("types", []))
        excluded = set(query.get("exclude_types[]", []) + query.get("exclude_types", []))
        limit = max(1, min(PAGE_MAX, int(request.arg("limit") or PAGE_DEFAULT)))
        max_id, since_id, min_id = (int(request.arg(n) or 0) for n in ("max_id", "since_id",
                                                                        "min_id"))
        wanted = (not types or "mention" in types) and "mention" not in excluded
        found = sorted(
            (n for n in self.notifications.values()
             if wanted and n.account == acct and n.status_id in self.statuses
             and (not max_id or int(n.id) < max_id) and int(n.id) > max(since_id, min_id)),
            key=lambda n: int(n.id), reverse=True)
        # min_id: the page just above it (paging forward); otherwise the newest
        page = found[-limit:] if min_id else found[:limit]
        body = [self._notification(n) for n in page]
        headers: dict[str, str] = {}
        if page:
            kept = [(k, v) for k in ("types[]", "exclude_types[]", "limit")
                    for v in query.get(k, [])]
            base = f"https://{request.host.split(':')[0]}/api/v1/notifications?"
            following = urlencode([*kept, ("max_id", page[-1].id)])
            previous = urlencode([*kept, ("min_id", page[0].id)])
            headers["Link"] = f'<{base}{following}>; rel="next", <{base}{previous}>; rel="prev"'
        response = SandboxResponse.json(200, body, headers)
        response.journal["notifications"] = len(body)
        return response

    def _notification(self, notification: Notification) -> dict[str, Any]:
        status = self.statuses[notification.status_id]
        author = self.accounts[status.account]
        return {
            "id": notification.id, "type": "mention",
            "created_at": stamp(notification.created_at),
            "group_key": f"ungrouped-{notification.id}",
            "account": author.shape(0, 0, local=author.instance in self.instances),
            "status": self._shape(status),
        }
