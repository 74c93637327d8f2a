"""Graph API versions: the ones the sandbox serves, and Graph's answer for the others.

Graph takes its version from the path (``/v24.0/{page-id}/feed``) and says which one answered
in the ``facebook-api-version`` header. As Meta documents it (developers.facebook.com/docs/
graph-api/guides/versioning, changelog/versions):

- a served version answers as itself (v21.0 ... v26.0 as of December 2026; v20.0 expired
  2026-09-24, v21.0 expires 2027-01-21);
- a retired version ("once a version is no longer usable, any calls made to it will be
  defaulted to the next oldest usable version") is answered by the oldest served one, and the
  header says so: the call works, but not as the code asked (the adapter's check reports it);
- a version Graph never released (``v99.0``) is no version: Graph answers 400,
  ``(#2500) Unknown path components: /v99.0/...`` (OAuthException), as seen from clients;
- a path without a version is answered by the newest version (our choice, as Graph does today
  for unversioned calls; Meta once sent them to the oldest, and documents neither now).
"""

from __future__ import annotations

import re

from cm_toolkit.sandbox.core import ApiError
from cm_toolkit.sandbox.facebook.errors import unknown_path

SERVED = ("v21.0", "v22.0", "v23.0", "v24.0", "v25.0", "v26.0")
OLDEST, NEWEST = SERVED[0], SERVED[-1]
# every version Graph released before the oldest served one (v1.0, v2.0-v2.12, v3.0-v3.3,
# v4.0-v20.0): calls to them are served by the oldest version
RETIRED = frozenset(
    ["v1.0", *(f"v2.{minor}" for minor in range(13)), *(f"v3.{minor}" for minor in range(4)),
     *(f"v{major}.0" for major in range(4, int(OLDEST[1:].split(".")[0])))]
)
_VERSION_IN_PATH = re.compile(r"^/(v\d+\.\d+)(?=/|$)")


def version_in(path: str) -> str | None:
    """The version a path names (``v24.0``), or None for an unversioned path."""
    match = _VERSION_IN_PATH.match(path)
    return match.group(1) if match else None


def served_as(path: str) -> str:
    """The version that answers a path (the ``facebook-api-version`` header)."""
    asked = version_in(path)
    if asked is None:
        return NEWEST
    if asked in RETIRED:
        return OLDEST
    return asked


def version_error(path: str) -> ApiError | None:
    """Graph's answer to a path naming a version it never released; None when it is served."""
    asked = version_in(path)
    if asked is None or asked in SERVED or asked in RETIRED:
        return None
    return unknown_path(path)
