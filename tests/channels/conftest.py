"""Fixtures of the cross-network contract suite (``test_contract.py``).

``contract`` is one network's case against its own sandbox (module-scoped: one sandbox per
network, ``ManualClock``), parametrized over every network the channel registry knows
(built-ins and installed plugins): a network without ``tests/channels/cases/<network>.py``
fails, so a new adapter cannot skip the contract.
``contract_env`` gives it to one test with faults and the journal cleared before and after.
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest

from cm_toolkit.channels.base import Channel, RenderedPost
from cm_toolkit.channels.registry import registered
from cm_toolkit.sandbox.clock import ManualClock
from cm_toolkit.sandbox.server import Sandbox
from tests.channels.contract_case import ChannelCase

START = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)
CASE_NETWORKS = sorted(registered())
_markers = itertools.count(1)


@dataclass
class Contract:
    sandbox: Sandbox
    clock: ManualClock
    case: ChannelCase
    commit_method: str | None = None  # the method of the call that creates (found once)

    @property
    def channel(self) -> Channel:
        return self.case.channel

    def fresh(self, post: RenderedPost) -> tuple[RenderedPost, str]:
        """The post with a unique ASCII marker appended (no duplicate between tests)."""
        marker = f"ctc{next(_markers):04d}"
        return replace(post, text=f"{post.text} {marker}"), marker

    def with_timeout(self, timeout: float) -> Channel:
        """The same channel (settings, credentials) on a transport with another timeout."""
        channel = self.case.channel
        return type(channel)(
            channel.channel_id, channel.settings, channel.credentials,
            self.sandbox.transport(timeout=timeout),
        )


@pytest.fixture(scope="module", params=CASE_NETWORKS)
def contract(request: pytest.FixtureRequest) -> Iterator[Contract]:
    network = request.param
    try:
        module = importlib.import_module(f"tests.channels.cases.{network}")
    except ModuleNotFoundError as exc:
        if exc.name != f"tests.channels.cases.{network}":
            raise
        pytest.fail(f"network {network!r} has no contract case: write "
                    f"tests/channels/cases/{network}.py (see contract_case.py)")
    clock = ManualClock(START)
    with Sandbox(seed=2027, clock=clock, epoch=START).running() as sandbox:
        yield Contract(sandbox, clock, module.case(sandbox))


@pytest.fixture
def contract_env(contract: Contract) -> Iterator[Contract]:
    def reset() -> None:
        contract.sandbox.faults.clear()
        contract.sandbox.faults.timeout_delay = None  # a timeout fault never answers
        contract.sandbox.faults.release_held()
        contract.sandbox.journal.clear()

    reset()
    yield contract
    reset()
