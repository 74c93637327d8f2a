"""The emulators' read and reply endpoints of the inbox, at the wire (each network's own SDK or
plain HTTP): shapes, validation in the network's words, paging."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
import tweepy
from linkedin_api.clients.restli.client import RestliClient

from cm_toolkit.sandbox.clock import ManualClock
from cm_toolkit.sandbox.server import Sandbox
from cm_toolkit.sandbox.x.base import MOOC_USER_ID
from tests.sandbox.test_facebook import PAGE, START, Env
from tests.sandbox.test_x import Env as XEnv


@pytest.fixture
def fb() -> Iterator[Env]:
    clock = ManualClock(START)
    with Sandbox(seed=11, clock=clock, epoch=START).running() as sandbox:
        yield Env(sandbox, clock)


def test_graph_stream_gives_replies_toplevel_does_not(fb: Env) -> None:
    post = fb.page.put_object(PAGE, "feed", message="Questions ?")["id"]
    fb.clock.advance(timedelta(days=3))
    stream = fb.page.get_connections(post, "comments", filter="stream", limit="100",
                                     fields="id,created_time,message,parent{id}")["data"]
    top = fb.page.get_connections(post, "comments", filter="toplevel", limit="100")["data"]
    nested = [c for c in stream if "parent" in c]
    assert nested and len(top) == len(stream) - len(nested)
    assert {c["parent"]["id"] for c in nested} <= {c["id"] for c in stream}
    newest = fb.page.get_connections(post, "comments", order="reverse_chronological",
                                     limit="100")["data"]
    assert [c["id"] for c in newest] == [c["id"] for c in reversed(top)]
    body = fb.error(lambda: fb.page.get_connections(post, "comments", filter="all"))
    assert body["code"] == 100 and "TOPLEVEL, STREAM" in str(body["message"])
    under = fb.page.put_object(nested[0]["id"], "comments", message="Merci !")
    (mine,) = [c for c in fb.page.get_connections(post, "comments", filter="stream",
                                                  fields="id,parent{id},from")["data"]
               if c["id"] == under["id"]]
    assert mine["parent"]["id"] == nested[0]["parent"]["id"]  # two levels on Facebook
    assert mine["from"]["id"] == PAGE


def test_x_search_recent_and_the_reply_rule_at_the_wire() -> None:
    clock = ManualClock(START)
    with Sandbox(seed=4, clock=clock).running() as sandbox:
        x = XEnv(sandbox, clock)
        post = x.client().create_tweet(text="Vos questions ?", user_auth=False)["data"]["id"]
        clock.advance(timedelta(days=2))
        x.refresh()  # the seeded token lives two hours
        client = x.client()
        found = client.search_recent_tweets(
            f"conversation_id:{post} -from:ManagerLeader20", max_results=100, user_auth=False,
            tweet_fields=["conversation_id", "entities", "lang", "in_reply_to_user_id"],
        )
        assert found["meta"]["result_count"] == len(found["data"]) > 0
        assert all(t["conversation_id"] == post for t in found["data"])
        to_us = [t for t in found["data"] if t["in_reply_to_user_id"] == MOOC_USER_ID]
        between = [t for t in found["data"] if t["in_reply_to_user_id"] != MOOC_USER_ID]
        assert to_us and between
        assert all(m["username"] == "ManagerLeader20" for t in to_us
                   for m in t["entities"]["mentions"])
        with pytest.raises(tweepy.Forbidden) as refused:
            client.create_tweet(text="Merci", in_reply_to_tweet_id=between[0]["id"],
                                user_auth=False)
        assert "not been mentioned" in str(refused.value)
        client.create_tweet(text="Merci", in_reply_to_tweet_id=to_us[0]["id"], user_auth=False)
        unknown = x.session().get("https://api.x.com/2/tweets/search/recent",
                                  params={"query": f"conversation_id:{post}", "foo": "bar"})
        assert unknown.status_code == 400
        assert "The query parameter [foo] is not one of [query," in unknown.text


def test_linkedin_comment_create_is_validated_the_restli_way() -> None:
    clock = ManualClock(START)
    with Sandbox(seed=4, clock=clock, epoch=START).running() as sandbox:
        rc = RestliClient()
        rc.session.mount("https://", sandbox.transport(timeout=5).requests_adapter)
        token, version = sandbox.env()["CM_LINKEDIN_ACCESS_TOKEN"], "202611"
        org = "urn:li:organization:5515715"
        post = rc.create(resource_path="/posts", access_token=token, version_string=version,
                         entity={"author": org, "commentary": "Débat ?", "visibility": "PUBLIC",
                                 "distribution": {"feedDistribution": "MAIN_FEED"},
                                 "lifecycleState": "PUBLISHED"}).entity_id
        bad = rc.create(resource_path="/socialActions/{id}/comments", path_keys={"id": post},
                        entity={"message": {"text": "x" * 1300}, "colour": "red"},
                        access_token=token, version_string=version)
        assert bad.status_code == 422
        message = bad.response.json()["message"]
        assert "/colour :: unrecognized field" in message and "/actor :: field is required" in message
        assert "exceeds the maximum allowed length of 1250" in message
        good = rc.create(resource_path="/socialActions/{id}/comments", path_keys={"id": post},
                         entity={"actor": org, "message": {"text": "Bienvenue !"}},
                         access_token=token, version_string=version)
        assert good.status_code == 201
        assert json.loads(good.response.text)["commentUrn"] == good.entity_id
