"""The ``httplib2.Http`` under the Google client, made safe for calls that create something.

Two things in httplib2 matter to a publisher:

- It re-sends a request by itself when the connection closes before an answer arrives (it takes
  that for a stale keep-alive connection). For a ``POST`` that the server did receive and
  process, that re-send would publish twice. ``GoogleHttp`` sends every non-``GET`` request on
  a connection of its own that refuses a second send (``ResendRefused``): the adapter then
  reports the outcome as unknown instead of publishing twice.
- Its connections are kept alive between calls and closed only when garbage-collected. Here
  each request gets its own connection, closed when the answer is read: a few more handshakes
  for a handful of calls per post, no stale connections, no socket left open.
- It follows 308 as a redirect, while Google's resumable uploads use 308 for "Resume
  Incomplete"; like googleapiclient's own ``build_http``, 308 is taken out of the redirect codes.
"""

from __future__ import annotations

from typing import Any

import httplib2

_SAFE_METHODS = ("GET", "HEAD")


class ResendRefused(ConnectionError):
    """httplib2 tried to send the same non-GET request a second time on a new connection."""


class _SendOnceConnections(dict[str, Any]):
    """httplib2's connection cache for one request: each connection it opens may send once."""

    def __setitem__(self, key: str, connection: Any) -> None:
        send = connection.request
        sent = False

        def send_once(*args: Any, **kwargs: Any) -> Any:
            nonlocal sent
            if sent:
                raise ResendRefused(
                    "the connection closed without an answer after the request was sent"
                )
            sent = True
            return send(*args, **kwargs)

        connection.request = send_once
        super().__setitem__(key, connection)


class GoogleHttp:
    """Wraps an ``httplib2.Http`` (the sandbox's or a plain one); quacks like one.

    (The send-once guard replaces ``request`` on the connection objects httplib2 opens for this
    wrapper's own calls: httplib2 offers no hook between a lost answer and its re-send.)
    """

    def __init__(self, http: httplib2.Http) -> None:
        self.http = http
        self.http.redirect_codes = set(self.http.redirect_codes) - {308}

    def request(
        self,
        uri: str,
        method: str = "GET",
        body: Any = None,
        headers: dict[str, str] | None = None,
        redirections: int = httplib2.DEFAULT_MAX_REDIRECTS,
        connection_type: Any = None,
    ) -> tuple[httplib2.Response, bytes]:
        once = method.upper() not in _SAFE_METHODS
        self.http.connections = _SendOnceConnections() if once else {}
        try:
            return self.http.request(uri, method, body, headers, redirections, connection_type)
        finally:
            for connection in self.http.connections.values():
                connection.close()
            self.http.connections = {}

    def close(self) -> None:
        self.http.close()

    def __getattr__(self, name: str) -> Any:  # timeout, redirect_codes, ... of the real Http
        return getattr(self.http, name)
