"""X's recent search (``GET /2/tweets/search/recent``), as the inbox uses it.

The query language is served in part: ``conversation_id:ID``, ``from:NAME``, ``to:NAME``,
``@NAME``, ``is:reply``, ``is:quote``, ``is:retweet``, plain words (all case-insensitive), each
negatable with ``-``, joined by spaces (and) and ``OR`` (parentheses are ignored: OR binds
loosest). Any other operator answers X's "invalid operator" 400. Only the last seven days are
searched: an older ``start_time`` or ``since_id`` answers 400 as X does. Newest first;
``next_token`` pages; every post returned is a billed read (``$0.005``, in the journal entry).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from cm_toolkit.sandbox.core import SandboxRequest, SandboxResponse, Token, route
from cm_toolkit.sandbox.x import problems
from cm_toolkit.sandbox.x.audience import mentions
from cm_toolkit.sandbox.x.base import per_15_min
from cm_toolkit.sandbox.x.model import SNOWFLAKE_EPOCH_MS, XTweet, iso_z
from cm_toolkit.sandbox.x.tweets import TweetRoutes, _page_offset

WINDOW = timedelta(days=7)
Test = Callable[[XTweet], bool]
_TERM = re.compile(r"(-?)(?:([a-z_]+):(\S+)|(@\w+)|(\S+))", re.IGNORECASE)


def snowflake_time(tweet_id: str) -> datetime:
    return datetime.fromtimestamp(((int(tweet_id) >> 22) + SNOWFLAKE_EPOCH_MS) / 1000, UTC)


def _negated(test: Test) -> Test:
    return lambda tweet: not test(tweet)


class SearchRoutes(TweetRoutes):
    @route("GET", r"/2/tweets/search/recent", rate_limit=per_15_min(300))
    def search_recent(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        self.require_scopes(token, "tweet.read", "users.read")
        self.check_query(request, "searchPostsRecent")
        arg = request.arg
        now = self.ctx.now()
        oldest = now - WINDOW
        start = self._time_arg("start_time", arg("start_time"), oldest)
        since_id = arg("since_id")
        if since_id and snowflake_time(since_id) < oldest:
            raise problems.invalid(
                f"Invalid 'since_id':'{since_id}'. 'since_id' must be a tweet id created after "
                f"{iso_z(oldest)}. Please make a new request with a more recent 'since_id'.",
                since_id=[since_id],
            )
        matches = self._parse(str(arg("query")))
        self._materialise_mentions()
        found = sorted(
            (
                t for t in self.tweets.values()
                if not t.deleted and start <= t.created_at <= now and matches(t)
                and (not since_id or int(t.id) > int(since_id))
                and (not arg("until_id") or int(t.id) < int(arg("until_id") or 0))
            ),
            key=lambda t: int(t.id),
            reverse=True,
        )
        offset = _page_offset(arg("next_token") or arg("pagination_token"))
        return self.timeline_page(request, found, offset, owned=False)

    def _time_arg(self, name: str, raw: str | None, oldest: datetime) -> datetime:
        if raw is None:
            return oldest
        try:
            when = datetime.fromisoformat(raw)
        except ValueError:
            raise problems.invalid(f"Invalid '{name}':'{raw}'", **{name: [raw]}) from None
        if when < oldest:
            raise problems.invalid(
                f"Invalid '{name}':'{raw}'. '{name}' must be on or after {iso_z(oldest)}",
                **{name: [raw]},
            )
        return when

    def _parse(self, query: str) -> Test:
        """The query as a test on one post: OR of groups, each an AND of terms."""
        groups: list[list[Test]] = []
        for alternative in re.split(r"\s+OR\s+", query.replace("(", " ").replace(")", " ")):
            tests: list[Test] = []
            for match in _TERM.finditer(alternative):
                negate, op, value, handle, word = match.groups()
                test = self._term(op, value, handle, word, query, match.start())
                tests.append(_negated(test) if negate else test)
            groups.append(tests)
        return lambda tweet: any(all(test(tweet) for test in group) for group in groups)

    def _term(
        self, op: str | None, value: str | None, handle: str | None, word: str | None,
        query: str, position: int,
    ) -> Test:
        users = {**{a.id: a for a in self.accounts.values()}, **self._learners()}

        def name_of(user_id: str | None) -> str:
            user = users.get(user_id or "")
            return user.username.lower() if user else ""

        if handle:
            return lambda t: mentions(t.text, handle[1:])
        if word:
            return lambda t: word.lower() in t.text.lower()
        assert op is not None and value is not None
        key = op.lower()
        if key == "conversation_id":
            return lambda t: (t.conversation_id or t.id) == value
        if key == "from":
            return lambda t: name_of(t.author_id) == value.lower().lstrip("@")
        if key == "to":
            return lambda t: name_of(t.in_reply_to_user_id) == value.lower().lstrip("@")
        if key == "is" and value.lower() == "reply":
            return lambda t: t.in_reply_to_tweet_id is not None
        if key == "is" and value.lower() == "quote":
            return lambda t: t.quote_tweet_id is not None
        if key == "is" and value.lower() == "retweet":
            return lambda t: False  # the sandbox has no reposts
        raise problems.invalid(
            f"There were errors processing your request: Reference to invalid operator "
            f"'{op}:{value}'. Operator is not available in current product or product packaging. "
            f"(at position {position + 1})",
            query=[query],
        )
