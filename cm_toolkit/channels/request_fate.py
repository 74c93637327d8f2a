"""Did a failed request leave? The answer that keeps "never publish twice" for every network.

A call that failed without an answer is one of two kinds:

- the connection never opened (refused, the name unresolvable, the connect timeout passed):
  nothing reached the network, so a create may be sent again (``TransientError``);
- anything else (a read timeout, a connection dropped after the request was written): the
  request may have reached the network and the post may exist, so a create is
  ``OutcomeUnknown``, never re-sent automatically (DESIGN.md: a duplicate is worse than a late
  post).

``never_left(exc)`` tells the first kind from the exceptions of ``requests``/``urllib3`` (tweepy,
Mastodon.py) and ``httpx`` (atproto), wherever they sit in the chain an SDK wraps them in
(``__cause__``, ``__context__``, ``args``, urllib3's ``reason``). When in doubt it answers False:
a wrong "may have reached" costs a review, a wrong "never left" a duplicate post.
"""

from __future__ import annotations

from typing import Any


def _never_left_types() -> tuple[type[BaseException], ...]:
    # Imported here: this runs only on a failure, and httpx costs every ``cm`` process otherwise.
    import httpx
    import requests
    import urllib3.exceptions as u3

    return (
        u3.NewConnectionError,  # refused, unreachable, unresolvable (NameResolutionError)
        u3.ConnectTimeoutError,
        requests.ConnectTimeout,
        httpx.ConnectError,
        httpx.ConnectTimeout,
    )


def never_left(exc: BaseException) -> bool:
    """True when the connection failed before the request was sent: nothing reached the
    network. False for every other failure, which may have reached it."""
    types = _never_left_types()
    seen: set[int] = set()
    pending: list[Any] = [exc]
    while pending:
        item = pending.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, types):
            return True
        if isinstance(item, BaseException):
            pending.extend([item.__cause__, item.__context__, *item.args])
            pending.append(getattr(item, "reason", None))
    return False
