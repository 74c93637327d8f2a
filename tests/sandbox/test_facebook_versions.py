"""Graph API versions in the Facebook emulator: served ones answer as themselves, a retired one
as the oldest served (Graph's documented rule, said in ``facebook-api-version``), a version Graph
never released is an unknown path (400, code 2500), an unversioned path the newest version."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from cm_toolkit.sandbox.facebook.base import PAGE_ID, PAGE_TOKEN
from cm_toolkit.sandbox.facebook.versions import NEWEST, OLDEST, SERVED
from cm_toolkit.sandbox.server import Sandbox

GRAPH = "https://graph.facebook.com"


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with Sandbox(seed=2).running() as sandbox, requests.Session() as session:
        session.trust_env = False
        session.mount("https://", sandbox.transport().requests_adapter)
        session.params = {"access_token": PAGE_TOKEN, "fields": "name"}
        yield session


@pytest.mark.parametrize(
    ("version", "served"),
    [(version, version) for version in SERVED]  # a served version answers as itself
    + [(retired, OLDEST) for retired in ("v2.0", "v3.3", "v19.0", "v20.0")],
)
def test_a_served_version_answers_as_itself_a_retired_one_as_the_oldest(
    http: requests.Session, version: str, served: str
) -> None:
    answer = http.get(f"{GRAPH}/{version}/{PAGE_ID}")
    assert answer.status_code == 200 and answer.headers["facebook-api-version"] == served


@pytest.mark.parametrize("version", ["v99.0", "v27.0", "v2.13", "v24.1"])
def test_a_version_graph_never_released_is_an_unknown_path(
    http: requests.Session, version: str
) -> None:
    answer = http.get(f"{GRAPH}/{version}/{PAGE_ID}")
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == 2500 and error["type"] == "OAuthException"
    assert error["message"] == f"Unknown path components: /{version}/{PAGE_ID}"
    assert error["fbtrace_id"]


def test_an_unversioned_path_is_answered_by_the_newest_version(http: requests.Session) -> None:
    answer = http.get(f"{GRAPH}/{PAGE_ID}")
    assert answer.status_code == 200 and answer.headers["facebook-api-version"] == NEWEST
