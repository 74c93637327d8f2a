"""The Google client as an application would build it, pointed at a running sandbox.

``google_api(sandbox, "youtube", "v3", refresh_token)`` is googleapiclient's ``build`` over
google-auth's ``AuthorizedHttp`` on the sandbox's ``httplib2.Http`` (308 removed from its redirect
codes, as googleapiclient's own ``build_http`` does). Nothing is patched.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from cm_toolkit.sandbox.server import Sandbox

TOKEN_URI = "https://oauth2.googleapis.com/token"


def google_api(
    sandbox: Sandbox,
    api: str,
    version: str,
    refresh_token: str | None = None,
    *,
    token: str | None = None,
    timeout: float = 5.0,
) -> Any:
    env = sandbox.env()
    http = sandbox.transport(timeout=timeout).http_factory()
    http.redirect_codes = http.redirect_codes - {308}
    credentials = Credentials(
        token,
        refresh_token=refresh_token,
        client_id=env["CM_GOOGLE_CLIENT_ID"],
        client_secret=env["CM_GOOGLE_CLIENT_SECRET"],
        token_uri=TOKEN_URI,
    )
    authed = AuthorizedHttp(credentials, http=http)
    return build(api, version, http=authed, static_discovery=True, cache_discovery=False)


def google_error(call: Any) -> tuple[int, dict[str, Any]]:
    """(status, ``error`` object) of a call that must fail."""
    with pytest.raises(HttpError) as caught:
        call.execute()
    return caught.value.resp.status, json.loads(caught.value.content)["error"]
