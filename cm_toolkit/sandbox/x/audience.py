"""What learners post on X in the sandbox, and what X bills and allows around it.

From the simulated audience (``sandbox/audience.py``), up to the sandbox clock:

- replies to the accounts' posts: ``@handle`` + the learner's text (they mention the account);
- answers of learners to each other inside those conversations: ``@other_learner`` + text, in
  the post's conversation but **not** mentioning the account;
- posts naming the account outside any conversation (``@handle`` + text).

X's reply rule (pay-per-use self-serve apps, since 2026-02-23): a reply is accepted only to a
post of the account itself or to a post whose author mentioned or quoted the account; any other
answers 403 with X's words (``REPLY_NOT_ALLOWED``). Billing: each post a read returns costs
``READ_USD``, or ``OWNED_READ_USD`` when it is the account's own mentions (an "owned read");
a post costs ``POST_USD``, a reply to a post that summoned the account ``SUMMONED_REPLY_USD``,
any post with a URL ``URL_POST_USD``. The journal entry of each call says what it billed.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime
from typing import Any

from cm_toolkit.sandbox.audience import LEARNERS
from cm_toolkit.sandbox.x.base import XEmulatorBase
from cm_toolkit.sandbox.x.model import XAccount, XTweet, snowflake

READ_USD = 0.005
OWNED_READ_USD = 0.001
POST_USD = 0.015
SUMMONED_REPLY_USD = 0.010
URL_POST_USD = 0.20
REPLY_NOT_ALLOWED = (
    "Reply to this conversation is not allowed because you have not been mentioned or "
    "otherwise engaged by the author of the post you are replying to."
)


def learner_account(index: int) -> XAccount:
    name = LEARNERS[index]
    handle = re.sub(r"[^A-Za-z0-9]", "", unicodedata.normalize("NFKD", name))
    return XAccount(str(1460000000000000100 + index), handle[:15], name, datetime(2020, 1, 1))


def mentions(text: str, username: str) -> bool:
    return re.search(rf"(?<![\w@])@{re.escape(username)}\b", text, re.IGNORECASE) is not None


def billed_read(count: int, owned: bool) -> dict[str, Any]:
    unit = OWNED_READ_USD if owned else READ_USD
    kind = "owned_reads" if owned else "post_reads"
    return {"billed": {kind: count, "usd": round(count * unit, 6)}}


class AudienceTweets(XEmulatorBase):
    def _learners(self) -> dict[str, XAccount]:
        return {a.id: a for a in (learner_account(i) for i in range(len(LEARNERS)))}

    def summoned(self, parent: XTweet, account: XAccount) -> bool:
        """May ``account`` reply to ``parent`` under X's reply rule?"""
        if parent.author_id == account.id or mentions(parent.text, account.username):
            return True
        quoted = self.tweets.get(parent.quote_tweet_id or "")
        return quoted is not None and quoted.author_id == account.id

    def _tweet_id(self, key: str, at: datetime) -> str:
        digest = hashlib.sha256(f"{self.ctx.seed}:{key}".encode()).digest()
        return snowflake(at, int.from_bytes(digest[:3], "big"))

    def _materialise_mentions(self) -> None:
        """Learners' posts (replies, answers to each other, mentions) from the audience, up to
        now; ids come from the seed and the audience's ids, so this can run at every call."""
        now = self.ctx.now()
        learners = self._learners()
        by_name = {a.name: a for a in learners.values()}
        for tweet in [t for t in self.tweets.values() if t.author_id in self.accounts]:
            if tweet.deleted or tweet.in_reply_to_tweet_id:
                continue
            owner = self.accounts[tweet.author_id]
            comments = self.ctx.audience.comments("x", tweet.id, tweet.created_at, now)
            ids = {
                c["id"]: self._tweet_id(c["id"], datetime.fromisoformat(c["created_at"]))
                for c in comments
            }
            for comment in comments:
                at = datetime.fromisoformat(comment["created_at"])
                reply_id = ids[comment["id"]]
                if reply_id in self.tweets:
                    continue
                # an answer to an earlier learner reply, else to the post itself
                parent = self.tweets.get(ids.get(comment.get("reply_to") or "", ""), tweet)
                to = self.accounts.get(parent.author_id) or learners.get(parent.author_id, owner)
                self.tweets[reply_id] = XTweet(
                    reply_id,
                    by_name[comment["author"]].id,
                    f"@{to.username} {comment['text']}",
                    at,
                    in_reply_to_tweet_id=parent.id,
                    in_reply_to_user_id=to.id,
                    conversation_id=tweet.conversation_id or tweet.id,
                    lang=comment["language"],
                )
        for account in self.accounts.values():
            for said in self.ctx.audience.mentions("x", account.id, now):
                at = datetime.fromisoformat(said["created_at"])
                mention_id = self._tweet_id(said["id"], at)
                if mention_id not in self.tweets:
                    self.tweets[mention_id] = XTweet(
                        mention_id,
                        by_name[said["author"]].id,
                        f"@{account.username} {said['text']}",
                        at,
                        conversation_id=mention_id,
                        lang=said["language"],
                    )
