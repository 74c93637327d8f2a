"""X posts and users: create, delete, lookup, ``users/me`` and mentions."""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from datetime import datetime, timedelta
from typing import Any

from twitter_text import extract_urls, parse_tweet

from cm_toolkit.sandbox.audience import Publication
from cm_toolkit.sandbox.core import (
    SandboxRequest,
    SandboxResponse,
    Token,
    epoch_seconds,
    route,
)
from cm_toolkit.sandbox.x import problems
from cm_toolkit.sandbox.x.audience import (
    POST_USD,
    REPLY_NOT_ALLOWED,
    SUMMONED_REPLY_USD,
    URL_POST_USD,
    AudienceTweets,
    billed_read,
    mentions,
)
from cm_toolkit.sandbox.x.base import per_15_min
from cm_toolkit.sandbox.x.model import (
    TEXT_MAX_WEIGHTED,
    MediaState,
    XAccount,
    XTweet,
    iso_z,
    snowflake,
)

ID = r"(?P<{}>[^/]+)"
ID_PATTERN = re.compile(r"^[0-9]{1,19}$")
APP_DAILY_POSTS = 10_000  # POST /2/tweets per app per 24 hours
TOO_LONG = (
    "Your Tweet text is too long. For more information on how Twitter determines text length "
    "see https://github.com/twitter/twitter-text."
)


class TweetRoutes(AudienceTweets):
    def check_id(self, name: str, value: str) -> None:
        if not ID_PATTERN.match(value):
            raise problems.invalid(
                f"The `{name}` path parameter value [{value}] does not match ^[0-9]{{1,19}}$",
                **{name: [value]},
            )

    # -- create / delete ------------------------------------------------------------------------

    @route("POST", r"/2/tweets", creates=True, rate_limit=per_15_min(100))
    def create_tweet(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        self.require_scopes(token, "tweet.read", "tweet.write", "users.read")
        body = request.json()
        self.check_body(body, "createPosts")
        exclusive = [k for k in ("media", "poll", "quote_tweet_id", "card_uri") if k in body]
        if len(exclusive) > 1:
            raise problems.invalid(
                f"Only one of [{', '.join(exclusive)}] may be given: media, poll, quote_tweet_id "
                "and card_uri are mutually exclusive",
                **{k: [str(body[k])] for k in exclusive},
            )
        account = self.account(token)
        text = unicodedata.normalize("NFC", body.get("text", ""))
        media = [
            self._attachable(mid, account) for mid in body.get("media", {}).get("media_ids", [])
        ]
        if not text.strip() and not media and "poll" not in body:
            raise problems.invalid("Post text and media cannot both be empty", text=[text])
        if int(parse_tweet(text).weightedLength) > TEXT_MAX_WEIGHTED:
            raise problems.invalid(TOO_LONG, text=[text])
        if len(media) > 1 and any(alone_in_post(m) for m in media):
            raise problems.invalid("Your media IDs are invalid.", media_ids=[m.id for m in media])
        parent = self._reply_target(body.get("reply"))
        if parent is not None and not self.summoned(parent, account):
            error = problems.http_problem(403, REPLY_NOT_ALLOWED)
            error.extra["journal"] = {"refused": "reply_rule", "in_reply_to": parent.id}
            raise error
        same_text = self.posted_texts.setdefault((account.id, text), [])
        if text.strip() and any(not self.tweets[i].deleted for i in same_text):
            raise problems.http_problem(403, problems.DUPLICATE)
        now = self.ctx.now()
        # oldest first (the sandbox clock only moves forward while posts are made)
        while self.app_posts and self.app_posts[0] <= now - timedelta(days=1):
            self.app_posts.popleft()
        day_reset = epoch_seconds(
            (self.app_posts[0] if self.app_posts else now) + timedelta(days=1)
        )
        if len(self.app_posts) >= APP_DAILY_POSTS:
            raise problems.rate_limited(APP_DAILY_POSTS, day_reset)
        self.app_posts.append(now)
        tweet_id = snowflake(now, self.ctx.next_id("x.seq"))
        tweet = XTweet(
            tweet_id,
            account.id,
            text,
            now,
            in_reply_to_tweet_id=parent.id if parent else None,
            in_reply_to_user_id=parent.author_id if parent else None,
            conversation_id=parent.conversation_id if parent else tweet_id,
            media_keys=[m.key for m in media],
            quote_tweet_id=body.get("quote_tweet_id"),
        )
        self.tweets[tweet_id] = tweet
        same_text.append(tweet_id)
        if parent is None:
            kind = "visual" if media else ("article" if extract_urls(text) else "post")
            self.ctx.audience.published(Publication("x", account.id, tweet_id, kind, now))
        headers = {
            "x-app-limit-24hour-limit": str(APP_DAILY_POSTS),
            "x-app-limit-24hour-remaining": str(APP_DAILY_POSTS - len(self.app_posts)),
            "x-app-limit-24hour-reset": str(day_reset),
        }
        data = {"id": tweet_id, "text": text, "edit_history_tweet_ids": [tweet_id]}
        answer = SandboxResponse.json(201, {"data": data}, headers)
        usd = URL_POST_USD if extract_urls(text) else (
            SUMMONED_REPLY_USD if parent is not None and parent.author_id != account.id
            else POST_USD
        )
        answer.journal = {"billed": {"posts_created": 1, "usd": usd}}
        return answer

    def _attachable(self, media_id: str, account: XAccount) -> Any:
        item = self.media.get(media_id)
        if (
            item is None
            or item.owner_id != account.id
            or item.state is not MediaState.SUCCEEDED
            or item.expires_at() <= self.ctx.now()
        ):
            raise problems.invalid("Your media IDs are invalid.", media_ids=[media_id])
        return item

    def _reply_target(self, reply: dict[str, Any] | None) -> XTweet | None:
        if not reply:
            return None
        self._materialise_mentions()
        parent = self.tweets.get(reply["in_reply_to_tweet_id"])
        if parent is None or parent.deleted:
            raise problems.http_problem(
                403, "You attempted to reply to a Tweet that is deleted or not visible to you."
            )
        return parent

    @route("DELETE", r"/2/tweets/" + ID.format("tweet_id"), rate_limit=per_15_min(50))
    def delete_tweet(self, request: SandboxRequest, token: Token, tweet_id: str) -> SandboxResponse:
        self.require_scopes(token, "tweet.read", "tweet.write", "users.read")
        self.check_id("id", tweet_id)
        tweet = self.tweets.get(tweet_id)
        if tweet is None or tweet.deleted:
            raise problems.not_found("tweet", "id", tweet_id)
        if tweet.author_id != token.account_id:
            raise problems.http_problem(403, "You are not authorized to delete this Tweet.")
        tweet.deleted = True
        self.ctx.audience.unpublished("x", tweet_id)
        return SandboxResponse.json(200, {"data": {"deleted": True}})

    # -- reads ----------------------------------------------------------------------------------

    @route("GET", r"/2/tweets", rate_limit=per_15_min(900))
    def lookup_tweets(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        self.require_scopes(token, "tweet.read", "users.read")
        self.check_query(request, "getPostsByIds")
        self._materialise_mentions()
        fields = self.fields(request, "tweet.fields")
        data, errors = [], []
        for tweet_id in request.query["ids"][-1].split(","):
            tweet = self.tweets.get(tweet_id)
            if tweet is None or tweet.deleted:
                errors.append(problems.not_found_problem("tweet", "ids", tweet_id))
            else:
                data.append(self.render_tweet(tweet, fields))
        payload: dict[str, Any] = {"data": data} if data else {}
        if errors:
            payload["errors"] = errors
        self._add_includes(payload, data, request)
        return SandboxResponse.json(200, payload)

    @route("GET", r"/2/users/me", rate_limit=per_15_min(75))
    def users_me(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        self.require_scopes(token, "tweet.read", "users.read")
        self.check_query(request, "getUsersMe")
        user = self.render_user(self.account(token), self.fields(request, "user.fields"))
        return SandboxResponse.json(200, {"data": user})

    @route("GET", r"/2/users/" + ID.format("user_id") + "/mentions", rate_limit=per_15_min(300))
    def mentions(self, request: SandboxRequest, token: Token, user_id: str) -> SandboxResponse:
        self.require_scopes(token, "tweet.read", "users.read")
        self.check_id("id", user_id)
        self.check_query(request, "getUsersMentions")
        if user_id not in self.accounts:
            return SandboxResponse.json(
                200, {"errors": [problems.not_found_problem("user", "id", user_id)]}
            )
        self._materialise_mentions()
        found = sorted(
            (
                t
                for t in self.tweets.values()
                if mentions(t.text, self.accounts[user_id].username)
                and t.author_id not in self.accounts
                and not t.deleted
            ),
            key=lambda t: int(t.id),
            reverse=True,
        )
        arg = request.arg
        if arg("since_id"):
            found = [t for t in found if int(t.id) > int(arg("since_id") or 0)]
        if arg("until_id"):
            found = [t for t in found if int(t.id) < int(arg("until_id") or 0)]
        for name, keep in (("start_time", lambda t, at: t.created_at >= at),
                           ("end_time", lambda t, at: t.created_at <= at)):
            raw = arg(name)
            if raw:
                at = datetime.fromisoformat(raw)
                found = [t for t in found if keep(t, at)]
        return self.timeline_page(
            request, found, _page_offset(arg("pagination_token")),
            owned=token.account_id == user_id,
        )

    def timeline_page(
        self, request: SandboxRequest, found: list[XTweet], offset: int, *, owned: bool
    ) -> SandboxResponse:
        """One page of posts (newest first) with X's ``meta``, the expansions and the billing
        of every post returned (``owned``: the account's own mentions)."""
        size = int(request.arg("max_results") or 10)
        page = found[offset : offset + size]
        fields = self.fields(request, "tweet.fields")
        data = [self.render_tweet(t, fields) for t in page]
        meta: dict[str, Any] = {"result_count": len(data)}
        if data:
            meta.update(newest_id=data[0]["id"], oldest_id=data[-1]["id"])
        if offset + size < len(found):
            meta["next_token"] = _page_token(offset + size)
        payload: dict[str, Any] = {"data": data, "meta": meta} if data else {"meta": meta}
        self._add_includes(payload, data, request)
        answer = SandboxResponse.json(200, payload)
        answer.journal = billed_read(len(data), owned=owned)
        return answer

    # -- rendering ------------------------------------------------------------------------------

    def render_tweet(self, tweet: XTweet, fields: set[str]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": tweet.id,
            "text": tweet.text,
            "edit_history_tweet_ids": [tweet.id],
        }
        available: dict[str, Any] = {
            "author_id": tweet.author_id,
            "created_at": iso_z(tweet.created_at),
            "conversation_id": tweet.conversation_id or tweet.id,
            "lang": tweet.lang,
            "possibly_sensitive": False,
            "reply_settings": "everyone",
            "edit_controls": {
                "edits_remaining": 5,
                "is_edit_eligible": True,
                "editable_until": iso_z(tweet.created_at + timedelta(hours=1)),
            },
        }
        if tweet.in_reply_to_user_id:
            available["in_reply_to_user_id"] = tweet.in_reply_to_user_id
            available["referenced_tweets"] = [
                {"type": "replied_to", "id": tweet.in_reply_to_tweet_id}
            ]
        if tweet.media_keys:
            available["attachments"] = {"media_keys": tweet.media_keys}
        named = self._mentioned(tweet.text)
        if named:
            available["entities"] = {"mentions": named}
        if "public_metrics" in fields:
            seen = self.ctx.audience.engagement("x", tweet.id, tweet.created_at, self.ctx.now())
            available["public_metrics"] = {
                "retweet_count": seen["shares"],
                "reply_count": seen["comments"],
                "like_count": seen["reactions"],
                "quote_count": seen["shares"] // 3,
                "bookmark_count": seen["reactions"] // 4,
                "impression_count": seen["views"],
            }
        out.update({k: v for k, v in available.items() if k in fields})
        return out

    def _mentioned(self, text: str) -> list[dict[str, Any]]:
        """``entities.mentions`` of a text: every ``@handle`` with its offsets (and id)."""
        users = {a.username.lower(): a for a in [*self.accounts.values(), *self._learners().values()]}
        found = []
        for match in re.finditer(r"(?<![\w@])@(\w{1,15})", text):
            item: dict[str, Any] = {
                "start": match.start(), "end": match.end(), "username": match.group(1)
            }
            known = users.get(match.group(1).lower())
            if known is not None:
                item["id"] = known.id
            found.append(item)
        return found

    def render_user(self, account: XAccount, fields: set[str]) -> dict[str, Any]:
        now = self.ctx.now()
        tweets = sum(1 for t in self.tweets.values() if t.author_id == account.id and not t.deleted)
        available: dict[str, Any] = {
            "created_at": iso_z(account.created_at),
            "description": account.description,
            "protected": False,
            "verified": False,
            "verified_type": "none",
            "url": "",
            "location": "",
            "profile_image_url": f"https://pbs.twimg.com/profile_images/{account.id}/avatar_normal.png",
            "public_metrics": {
                "followers_count": self.ctx.audience.followers("x", account.id, now),
                "following_count": account.following,
                "tweet_count": 1240 + tweets,
                "listed_count": account.listed,
                "like_count": 3120,
                "media_count": 310,
            },
        }
        user = {"id": account.id, "name": account.name, "username": account.username}
        user.update({k: v for k, v in available.items() if k in fields})
        return user

    def _add_includes(
        self, payload: dict[str, Any], data: list[dict[str, Any]], request: SandboxRequest
    ) -> None:
        if "author_id" not in self.fields(request, "expansions") or not data:
            return
        users: dict[str, dict[str, Any]] = {}
        for item in data:
            author_id = self.tweets[item["id"]].author_id
            author = self.accounts.get(author_id) or self._learners().get(author_id)
            if author is not None:
                users[author_id] = self.render_user(author, self.fields(request, "user.fields"))
        payload["includes"] = {"users": list(users.values())}


def _page_token(offset: int) -> str:
    return base64.b32hexencode(f"page:{offset}".encode()).decode().rstrip("=").lower()


def _page_offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        padded = token.upper() + "=" * (-len(token) % 8)
        text = base64.b32hexdecode(padded).decode()
        return int(text.removeprefix("page:"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise problems.invalid(
            f"The `pagination_token` query parameter value [{token}] is not valid",
            pagination_token=[token],
        ) from None


def alone_in_post(item: Any) -> bool:
    """X takes up to 4 images, or 1 GIF, or 1 video in a post: a GIF (a ``tweet_gif`` upload,
    or any ``image/gif``) and a video share it with nothing."""
    return bool(item.category == "tweet_gif" or item.media_type == "image/gif"
                or not item.media_type.startswith("image/"))
