"""The ``requests`` session every requests-based adapter gives its SDK.

tweepy and linkedin-api-client send with no timeout (``Session.request`` even passes
``timeout=None`` explicitly), so the session applies ``Transport.timeout`` to every send; it
mounts the transport's adapter (the sandbox, in tests and demos); and it remembers the last
response, which linkedin-api-client loses when an error body is not JSON.
"""

from __future__ import annotations

from typing import Any

import requests

from cm_toolkit.channels.base import Transport


class TimedSession(requests.Session):
    """A session whose every request has a timeout, and which keeps the last response."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout
        self.last_response: requests.Response | None = None

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:  # Session.request passes timeout=None explicitly
            kwargs["timeout"] = self.timeout
        self.last_response = None
        response = super().send(request, **kwargs)
        self.last_response = response
        return response


def session_for(transport: Transport) -> TimedSession:
    """A timed session sending through ``transport`` (its adapter mounted when it has one)."""
    session = TimedSession(transport.timeout)
    if transport.requests_adapter is not None:
        session.mount("https://", transport.requests_adapter)
        session.mount("http://", transport.requests_adapter)
    return session
