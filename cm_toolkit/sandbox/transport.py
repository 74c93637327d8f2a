"""Transports that point the official SDKs at the sandbox, changing nothing else.

``SandboxAdapter`` is a ``requests`` transport adapter: mounted on an SDK's ``requests.Session``
(tweepy, facebook-sdk, linkedin-api-client) for ``https://`` and ``http://``, it sends every
request to the sandbox's address and keeps the network's host name in the ``Host`` header, which
is how the sandbox routes it. ``SandboxHttp`` does the same for ``httplib2`` (the Google client),
whose upload and batch URLs keep the https Google host whatever ``api_endpoint`` says.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httplib2
import requests
from requests.adapters import HTTPAdapter

from cm_toolkit.channels.base import Transport


def _rewrite(url: str, base_url: str) -> tuple[str, str]:
    """(sandbox URL, original host) for a network URL."""
    parts = urlsplit(url)
    base = urlsplit(base_url)
    if parts.netloc == base.netloc:  # already pointed at the sandbox
        return url, parts.netloc
    return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, "")), parts.netloc


class SandboxAdapter(HTTPAdapter):
    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        assert request.url is not None
        original = request.url
        request.url, host = _rewrite(original, self.base_url)
        request.headers["Host"] = host
        kwargs["proxies"] = {}  # the sandbox is on this machine: never through a proxy
        response = super().send(request, **kwargs)
        response.url = original  # what the SDK asked for, for its own error messages
        return response


class SandboxHttp(httplib2.Http):
    def __init__(self, base_url: str, timeout: float | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("proxy_info", None)  # the sandbox is on this machine: no proxy
        super().__init__(timeout=timeout, **kwargs)
        self.base_url = base_url

    def request(
        self,
        uri: str,
        method: str = "GET",
        body: Any = None,
        headers: dict[str, str] | None = None,
        redirections: int = httplib2.DEFAULT_MAX_REDIRECTS,
        connection_type: Any = None,
    ) -> tuple[httplib2.Response, bytes]:
        url, host = _rewrite(uri, self.base_url)
        headers = dict(headers or {})
        headers["host"] = host
        return super().request(url, method, body, headers, redirections, connection_type)


def sandbox_transport(base_url: str, timeout: float = 10.0) -> Transport:
    """A ``Transport`` for the adapters that sends everything to the sandbox at ``base_url``."""
    return Transport(
        requests_adapter=SandboxAdapter(base_url),
        http_factory=lambda: SandboxHttp(base_url, timeout=timeout),
        timeout=timeout,
    )
