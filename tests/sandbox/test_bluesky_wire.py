"""Wire check: every request ``cm demo`` sends to the Bluesky emulator validates against the
AT Protocol lexicons (parameters, JSON input, the post records), read back from the journal
independently of the emulator's own checks; every one was answered 200, but for the calls whose
access token had expired (400 ``ExpiredToken``: the season lasts longer than a session's two
hours), each followed by ``refreshSession`` and the same call again."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

from cm_toolkit.demo import run_demo
from cm_toolkit.sandbox.bluesky import lexicon
from tests.sample_workspace import copy_sample

PUBLIC = ("com.atproto.server.createSession", "com.atproto.repo.createRecord")


def test_every_request_of_the_demo_to_bluesky_matches_its_lexicon(tmp_path: Path) -> None:
    result = run_demo(copy_sample(tmp_path / "sample"), seconds=6)
    assert result.journal is not None
    entries = result.journal.entries(network="bluesky")
    methods = {e.path.removeprefix("/xrpc/") for e in entries}
    assert set(PUBLIC) <= methods  # it signed in and published
    assert result.states[("bluesky", "published")] == 2
    problems: list[str] = []
    records = 0
    for before, after in pairwise(entries):
        expired = before.status == 400 and "ExpiredToken" in (before.response or "")
        refreshed = after.path.endswith("refreshSession") and after.status == 200
        if expired and not refreshed:
            problems.append(f"#{before.seq}: ExpiredToken not followed by a refresh")
    for entry in entries:
        nsid = entry.path.removeprefix("/xrpc/")
        query: dict[str, list[str]] = {}
        for pair in filter(None, entry.query.split("&")):
            name, _, value = pair.partition("=")
            query.setdefault(name, []).append(value)
        found = lexicon.check_params(nsid, query)
        main = lexicon.document(nsid)["defs"]["main"]
        if main.get("input", {}).get("encoding") == "application/json":
            body = json.loads(entry.body)
            found += lexicon.check_body(nsid, body)
            if nsid == "com.atproto.repo.createRecord" and entry.status == 200:
                records += 1
                found += lexicon.check_record(body["collection"], body["record"])
        expired = entry.status == 400 and "ExpiredToken" in (entry.response or "")
        if entry.status != 200 and not expired:
            found.append(f"answered {entry.status}: {entry.response}")
        problems += [f"#{entry.seq} {nsid}: {p}" for p in found]
    assert records == 2
    assert problems == []
