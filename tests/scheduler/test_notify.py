"""The webhook: a JSON POST to a local receiver for failed, missed and unknown deliveries."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from cm_toolkit.clock import SystemClock
from cm_toolkit.scheduler.notify import Notifier
from cm_toolkit.scheduler.runner import Runner, RunOptions
from tests.claiming import claim
from tests.scheduler.conftest import START, Rig, load
from tests.scheduler.workspace import post


class Receiver:
    """An HTTP server on 127.0.0.1 keeping every JSON body POSTed to it."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                received.append({"content-type": self.headers.get("content-type"),
                                 "body": json.loads(self.rfile.read(length))})
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/hooks/cm"

    def bodies(self) -> dict[str, dict[str, Any]]:
        return {r["body"]["state"]: r["body"] for r in self.received}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    found.thread.start()
    try:
        yield found
    finally:
        found.server.shutdown()
        found.server.server_close()


def test_failed_missed_and_unknown_are_posted_as_json(rig: Rig, receiver: Receiver) -> None:
    rig.sandbox.faults.add("facebook:drop-after-commit@once")
    rig.apply([post("broken", START, ["x-mooc"], template="broken"),
               post("late", START - timedelta(hours=2), ["linkedin-page"]),
               post("lost", START, ["facebook-page"]),
               post("fine", START, ["x-mooc"])])
    notifier = Notifier(receiver.url, rig.clock)
    publisher = rig.publisher(notifier=notifier)
    for key, channel in (("broken", "x-mooc"), ("late", "linkedin-page"),
                         ("lost", "facebook-page"), ("fine", "x-mooc")):
        publisher.run(rig.row(key, channel).id)
    notifier.close()  # sends what is queued
    assert {r["content-type"] for r in receiver.received} == {"application/json"}
    bodies = receiver.bodies()
    assert set(bodies) == {"failed", "missed", "unknown"}  # nothing for the published one
    assert bodies["failed"]["event"] == "delivery.failed"
    assert bodies["failed"]["delivery_id"] == rig.row("broken", "x-mooc").id
    assert "templates/broken.j2:2" in bodies["failed"]["reason"]
    assert "grace window closed" in bodies["missed"]["reason"]
    assert "may exist" in bodies["unknown"]["reason"]
    assert bodies["unknown"]["at"] == START.isoformat() and bodies["unknown"]["review"] == "cm review"


def test_the_runner_describes_the_delivery_and_reports_expired_leases(
    rig: Rig, receiver: Receiver
) -> None:
    rig.apply([post("stuck", START, ["x-mooc"])])
    stuck = rig.row("stuck", "x-mooc").id
    # a worker on another host took it and vanished: its lease ends, the runner says so
    assert claim(rig.ledger, stuck, "elsewhere/42/abcdef", START, timedelta(minutes=1))
    runner = Runner(root=rig.root, ledger=rig.ledger, clock=rig.clock, load=load,
                    channels=rig.channels, options=RunOptions(notify_url=receiver.url))
    runner.start()
    try:
        rig.clock.advance(timedelta(minutes=2))
        runner._resync()
    finally:
        runner.stop()
    [body] = [r["body"] for r in receiver.received]
    assert body["state"] == "unknown" and "lease expired" in body["reason"]
    assert (body["post"], body["channel"], body["network"]) == ("stuck", "x-mooc", "x")
    assert body["due_at"] == START.isoformat()


def test_a_receiver_that_is_down_never_stops_publishing(rig: Rig) -> None:
    rig.apply([post("broken", START, ["x-mooc"], template="broken")])
    notifier = Notifier("http://127.0.0.1:9/nobody", SystemClock(), timeout=0.5)
    rig.publisher(notifier=notifier).run(rig.row("broken", "x-mooc").id)
    notifier.close()
    assert rig.row("broken", "x-mooc").state.value == "failed"
