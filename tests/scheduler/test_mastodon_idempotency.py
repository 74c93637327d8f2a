"""Mastodon's Idempotency-Key in the outcome-unknown path, through the real publisher and ledger:
a lost answer never becomes a second status, and a resend of an ``unknown`` delivery within the
hour is answered with the status the first try created."""

from __future__ import annotations

import re
from datetime import timedelta

from cm_toolkit.ledger.decisions import resolve_resend
from cm_toolkit.ledger.states import DeliveryState
from cm_toolkit.sandbox.faults import FaultKind, FaultRule
from cm_toolkit.scheduler.publisher import Step
from tests.scheduler.conftest import START, Rig
from tests.scheduler.workspace import post

S = DeliveryState
DUE = START + timedelta(minutes=1)
STATUSES = r"/api/v1/statuses$"


def _drop_after_commit(rig: Rig, times: int) -> None:
    rig.sandbox.faults.rules.append(FaultRule(
        "mastodon", FaultKind.DROP_AFTER_COMMIT, times=times, path=re.compile(STATUSES)))


def _statuses(rig: Rig, text: str) -> list[dict[str, object]]:
    found = rig.sandbox.state()["networks"]["mastodon"]["statuses"]
    return [s for s in found if s["text"] == text]


def _creates(rig: Rig) -> list[tuple[int | None, str | None, bool]]:
    return [(e.status, e.fault, bool(e.extra.get("idempotent_replay")))
            for e in rig.sandbox.journal.entries(network="mastodon", method="POST",
                                                 path=STATUSES)]


def test_a_lost_answer_is_recovered_by_the_same_key_and_published_once(rig: Rig) -> None:
    rig.apply([post("hello", DUE, ["mastodon-mooc"], text="Bonjour le fédivers")])
    rig.clock.set(DUE)
    _drop_after_commit(rig, times=1)
    assert rig.run("hello", "mastodon-mooc").step is Step.PUBLISHED
    row = rig.row("hello", "mastodon-mooc")
    (status,) = _statuses(rig, "Bonjour le fédivers")
    assert row.state is S.PUBLISHED and row.remote_id == status["id"]
    assert status["idempotency_key"] == f"cm-delivery-{row.id}"
    assert _creates(rig) == [(None, "drop-after-commit", False), (200, None, True)]


def test_an_unknown_delivery_resent_within_the_hour_is_not_published_twice(rig: Rig) -> None:
    rig.apply([post("hello", DUE, ["mastodon-mooc"], text="Bonjour encore")])
    rig.clock.set(DUE)
    _drop_after_commit(rig, times=2)  # the first send and its same-key retry both lost
    assert rig.run("hello", "mastodon-mooc").step is Step.UNKNOWN
    row = rig.row("hello", "mastodon-mooc")
    assert row.state is S.UNKNOWN and "Idempotency-Key" in (row.last_error or "")
    (status,) = _statuses(rig, "Bonjour encore")  # it exists, once

    rig.clock.advance(timedelta(minutes=30))  # a person decides to resend, within the hour
    resolve_resend(rig.ledger, rig.row("hello", "mastodon-mooc"), rig.clock.now())
    assert rig.run("hello", "mastodon-mooc").step is Step.PUBLISHED
    row = rig.row("hello", "mastodon-mooc")
    assert row.state is S.PUBLISHED and row.remote_id == status["id"]
    assert len(_statuses(rig, "Bonjour encore")) == 1
    assert [replayed for _, _, replayed in _creates(rig)] == [False, True, True]
