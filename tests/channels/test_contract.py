"""One contract, every channel: the same behaviour from each adapter against the sandbox.

Each ``tests/channels/cases/<network>.py`` gives a channel built against a running sandbox and
the posts it accepts; these tests drive it through the real SDK and the sandbox's faults, and
read the sandbox's journal and state to see what really reached the network.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from cm_toolkit.channels.base import Capability, Channel, LiveSessionRequest
from cm_toolkit.errors import (
    AuthExpired,
    ChannelError,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    TransientError,
)
from cm_toolkit.sandbox.faults import FaultKind, FaultRule
from cm_toolkit.sandbox.journal import JournalEntry
from tests.channels.conftest import Contract

ANY_CALL = None  # a fault on every call of the network (token endpoints excepted)


def _require(contract: Contract, capability: Capability) -> None:
    if capability not in contract.channel.capabilities:
        pytest.skip(f"{contract.case.network} does not declare {capability.value}")


def _fault(
    contract: Contract,
    kind: FaultKind,
    *,
    path: str | None = ANY_CALL,
    times: int | None = None,
    method: str | None = None,
) -> None:
    """A fault rule on this network (built directly: a path regex may contain commas)."""
    contract.sandbox.faults.rules.append(
        FaultRule(
            contract.case.network,
            kind,
            times=times,
            path=re.compile(path) if path else None,
            method=method,
        )
    )


def _fault_on_commit(contract: Contract, kind: FaultKind) -> None:
    """A one-time fault on the call that makes the thing exist: the last request on the case's
    publish path in a successful create (a YouTube upload's final PUT, elsewhere the POST)."""
    _require_network_calls(contract)
    if contract.commit_method is None:
        call, _ = _create_call(contract)
        call()
        entries = contract.sandbox.journal.entries(path=contract.case.publish_path)
        contract.commit_method = entries[-1].method
        contract.sandbox.journal.clear()
    _fault(contract, kind, path=contract.case.publish_path, times=1,
           method=contract.commit_method)


PUBLISHING = (Capability.TEXT, Capability.VIDEO)  # a channel whose publish() posts something


def _creates(contract: Contract) -> list[JournalEntry]:
    """The create calls the network received: POSTs on the case's publish path (the request
    carrying the content; a YouTube upload then PUTs the bytes)."""
    return [
        e
        for e in contract.sandbox.journal.entries(path=contract.case.publish_path)
        if e.method == "POST"
    ]


def _require_network_calls(contract: Contract) -> None:
    if Capability.MANUAL in contract.channel.capabilities:
        pytest.skip(f"{contract.case.network}: a person publishes (its contract: test_manual_*)")


def _require_publishing(contract: Contract) -> None:
    _require_network_calls(contract)
    if not set(PUBLISHING) & contract.channel.capabilities:
        pytest.skip(f"{contract.case.network} publishes no posts (no text or video capability)")


def _create_call(contract: Contract, channel: Channel | None = None) -> tuple[Callable[[], object], str]:
    """The call that creates something on this network (a post, else a live session) and the
    marker its content carries."""
    channel = channel or contract.channel
    if set(PUBLISHING) & channel.capabilities:
        post, marker = contract.fresh(contract.case.post)
        return (lambda: channel.publish(post)), marker
    if Capability.LIVE in channel.capabilities:
        post, marker = contract.fresh(contract.case.post)
        request = LiveSessionRequest(
            session_id=marker,
            title=f"Live {marker}",
            description=post.text,
            start=contract.sandbox.clock.now() + timedelta(days=8),
            duration=timedelta(hours=1),
        )
        return (lambda: channel.schedule_live(request)), marker
    pytest.skip(f"{contract.case.network} creates nothing")


def _state_text(contract: Contract) -> str:
    return json.dumps(contract.sandbox.state()["networks"])


# -- content -------------------------------------------------------------------------------


def test_the_case_post_is_valid_and_an_overlong_one_is_not(contract_env: Contract) -> None:
    channel = contract_env.channel
    assert channel.validate(contract_env.case.post) == []
    too_long = replace(contract_env.case.post, text="a" * (channel.limits.text_max + 1))
    problems = channel.validate(too_long)
    assert problems and all(p.file == channel.channel_id for p in problems)


def test_check_is_one_read_that_creates_nothing(contract_env: Contract) -> None:
    description = contract_env.channel.check()
    assert isinstance(description, str) and description
    assert _creates(contract_env) == []


def test_publish_sends_the_exact_text_once(contract_env: Contract) -> None:
    _require_publishing(contract_env)
    post, marker = contract_env.fresh(contract_env.case.post)
    result = contract_env.channel.publish(post)
    assert result.remote_id
    (entry,) = _creates(contract_env)
    assert 200 <= (entry.status or 0) < 300
    sent = contract_env.case.sent_text(entry)
    assert type(contract_env.channel).wire_text(post.text) in sent
    assert marker in _state_text(contract_env)


def test_thread(contract_env: Contract) -> None:
    _require(contract_env, Capability.THREAD)
    if contract_env.case.thread_post is None:
        pytest.skip(f"the {contract_env.case.network} case gives no thread post")
    post, _ = contract_env.fresh(contract_env.case.thread_post)
    result = contract_env.channel.publish(post)
    creates = _creates(contract_env)
    assert len(creates) >= 2 and all(200 <= (e.status or 0) < 300 for e in creates)
    assert result.remote_id


def test_multiple_images(contract_env: Contract) -> None:
    _require(contract_env, Capability.IMAGES)
    _require_network_calls(contract_env)
    if contract_env.case.media_post is None:
        pytest.skip(f"the {contract_env.case.network} case gives no media post")
    post, marker = contract_env.fresh(contract_env.case.media_post)
    assert contract_env.channel.validate(post) == []
    result = contract_env.channel.publish(post)
    assert result.remote_id
    assert len(_creates(contract_env)) >= 1
    uploads = [
        e for e in contract_env.sandbox.journal.entries(network=contract_env.case.network)
        if e.method in ("POST", "PUT") and e not in _creates(contract_env)
    ]
    assert len(uploads) >= len(post.media)  # every image reached the network
    assert marker in _state_text(contract_env)


def test_duplicate_is_rejected(contract_env: Contract) -> None:
    _require_publishing(contract_env)
    # the adapter's fact, which cm check's duplicate-text warning reads, is what the network does
    limits = type(contract_env.channel).limits
    assert limits.duplicates_refused is contract_env.case.duplicate_rejected
    if not contract_env.case.duplicate_rejected:
        pytest.skip(f"{contract_env.case.network} accepts the same text twice")
    post, _ = contract_env.fresh(contract_env.case.post)
    contract_env.channel.publish(post)
    with pytest.raises(Rejected) as caught:
        contract_env.channel.publish(post)
    assert not caught.value.retryable
    assert caught.value.info.network_message  # the network's own words


def test_delete(contract_env: Contract) -> None:
    _require(contract_env, Capability.DELETE)
    post, marker = contract_env.fresh(contract_env.case.post)
    result = contract_env.channel.publish(post)
    assert marker in _state_text(contract_env)
    contract_env.channel.delete(result.remote_id)
    delete_path = contract_env.case.delete_path
    deletes = [
        e for e in contract_env.sandbox.journal.entries(network=contract_env.case.network)
        if (re.fullmatch(delete_path, e.path) if delete_path else e.method == "DELETE")
    ]
    assert len(deletes) == 1 and 200 <= (deletes[0].status or 0) < 300


# -- audience --------------------------------------------------------------------------------


def test_followers_match_the_simulated_audience(contract_env: Contract) -> None:
    _require(contract_env, Capability.FOLLOWERS)
    followers = contract_env.channel.followers()
    assert isinstance(followers, int) and followers > 0
    sandbox, network = contract_env.sandbox, contract_env.case.network
    accounts = {t["account_id"] for t in sandbox.ctx.tokens.as_dict()}
    accounts |= {str(v) for v in contract_env.case.extra.values() if isinstance(v, str)}
    expected = {sandbox.audience.followers(network, a, sandbox.clock.now()) for a in accounts}
    assert followers in expected


def test_engagement_of_a_published_post(contract_env: Contract) -> None:
    _require(contract_env, Capability.ENGAGEMENT)
    post, _ = contract_env.fresh(contract_env.case.post)
    result = contract_env.channel.publish(post)
    contract_env.clock.advance(timedelta(minutes=50))  # under every access token's lifetime
    (engagement,) = contract_env.channel.engagement([result.remote_id])
    assert engagement.remote_id == result.remote_id
    counters = [engagement.reactions, engagement.comments, engagement.shares,
                engagement.views or 0, engagement.impressions or 0]
    assert all(c >= 0 for c in counters) and any(c > 0 for c in counters)


# -- errors ----------------------------------------------------------------------------------


def _call_fails(contract: Contract) -> ChannelError:
    """The error of the channel's main call: publishing, else its check (a read)."""
    _require_network_calls(contract)
    if set(PUBLISHING) & contract.channel.capabilities:
        call, _ = _create_call(contract)
    else:
        call = contract.channel.check
    with pytest.raises(ChannelError) as caught:
        call()
    return caught.value


def test_429_is_rate_limited_until_a_reset_in_the_future(contract_env: Contract) -> None:
    _fault(contract_env, FaultKind.RATE_LIMIT)
    error = _call_fails(contract_env)
    assert isinstance(error, RateLimited) and error.retryable
    assert error.reset_at is not None and error.reset_at > contract_env.sandbox.clock.now()


def test_500_is_transient(contract_env: Contract) -> None:
    _fault(contract_env, FaultKind.SERVER_500)
    error = _call_fails(contract_env)
    assert isinstance(error, TransientError) and error.retryable


def test_401_is_auth_expired_naming_cm_auth(contract_env: Contract) -> None:
    _fault(contract_env, FaultKind.UNAUTHORIZED)
    error = _call_fails(contract_env)
    assert isinstance(error, AuthExpired) and not error.retryable
    expected = contract_env.case.auth_fix or f"cm auth {contract_env.channel.channel_id}"
    assert expected in error.fix


def _settled_once(contract: Contract, call: Callable[[], object], marker: str) -> None:
    """A network whose creates are idempotent (``settles_lost_creates``): the adapter settles
    the lost answer itself, sending the create at most once more: published, exactly once."""
    result = call()
    assert getattr(result, "remote_id", None)
    assert _state_text(contract).count(marker) == 1  # one post, not two
    assert 1 <= len(_creates(contract)) <= 2


def test_timeout_on_a_create_call_is_outcome_unknown(contract_env: Contract) -> None:
    contract_env.sandbox.faults.timeout_delay = None  # held: no answer ever comes, whatever the load
    _fault_on_commit(contract_env, FaultKind.TIMEOUT)
    call, marker = _create_call(contract_env, contract_env.with_timeout(0.2))
    if contract_env.case.settles_lost_creates:
        _settled_once(contract_env, call, marker)
        return
    with pytest.raises(OutcomeUnknown) as caught:
        call()
    assert not caught.value.retryable
    assert marker in _state_text(contract_env)  # it was created after all


def test_drop_after_commit_is_outcome_unknown_and_the_post_exists(contract_env: Contract) -> None:
    _fault_on_commit(contract_env, FaultKind.DROP_AFTER_COMMIT)
    call, marker = _create_call(contract_env)
    if contract_env.case.settles_lost_creates:
        _settled_once(contract_env, call, marker)
    else:
        with pytest.raises(OutcomeUnknown):
            call()
    (entry,) = [e for e in contract_env.sandbox.journal.entries() if e.fault]
    assert entry.status is None and entry.fault == "drop-after-commit"
    assert marker in _state_text(contract_env)


def test_drop_before_processing_is_outcome_unknown_too(contract_env: Contract) -> None:
    _fault_on_commit(contract_env, FaultKind.DROP)
    call, marker = _create_call(contract_env)
    if contract_env.case.settles_lost_creates:  # sent again under the same key
        _settled_once(contract_env, call, marker)
        return
    with pytest.raises(OutcomeUnknown):  # the client cannot tell it from drop-after-commit
        call()
    assert marker not in _state_text(contract_env)


def test_a_lost_create_whose_settling_is_lost_too_is_outcome_unknown(
    contract_env: Contract,
) -> None:
    if not contract_env.case.settles_lost_creates:
        pytest.skip(f"{contract_env.case.network} has no idempotent create")
    _fault_on_commit(contract_env, FaultKind.DROP_AFTER_COMMIT)  # signs in, reads limits first
    contract_env.sandbox.faults.clear()
    # the create, then what settles it (the create again, or the read of its record): no answer
    _fault(contract_env, FaultKind.DROP_AFTER_COMMIT, times=2)
    call, marker = _create_call(contract_env)
    with pytest.raises(OutcomeUnknown) as caught:
        call()
    assert not caught.value.retryable
    assert _state_text(contract_env).count(marker) == 1  # created once, never twice


def test_live_session(contract_env: Contract) -> None:
    _require(contract_env, Capability.LIVE)
    request = LiveSessionRequest(
        session_id="contract-live",
        title="Live Q&A contract",
        description="Questions du module 3",
        start=contract_env.sandbox.clock.now() + timedelta(days=8),
        duration=timedelta(minutes=90),
    )
    result = contract_env.channel.schedule_live(request)
    assert result.remote_id and result.url.startswith("https://")
    assert "Live Q&A contract" in _state_text(contract_env) or result.remote_id in _state_text(
        contract_env
    )


def test_a_read_that_times_out_is_transient(contract_env: Contract) -> None:
    _require(contract_env, Capability.FOLLOWERS)
    contract_env.sandbox.faults.timeout_delay = None  # held: no answer ever comes, whatever the load
    _fault(contract_env, FaultKind.TIMEOUT, times=1)
    with pytest.raises(TransientError):
        contract_env.with_timeout(0.2).followers()


def test_errors_never_show_a_secret(contract_env: Contract) -> None:
    _fault(contract_env, FaultKind.UNAUTHORIZED)
    error = _call_fails(contract_env)
    secrets = [v for v in contract_env.sandbox.env().values() if len(v) > 8]
    shown = f"{error!s} {error!r} {error.info!r} {contract_env.channel!r}"
    assert not [s for s in secrets if s in shown]


# -- every declared capability is implemented ----------------------------------------------

IMPLEMENTED_BY = {
    Capability.DELETE: ("delete",),
    Capability.FOLLOWERS: ("followers",),
    Capability.ENGAGEMENT: ("engagement",),
    Capability.LIVE: ("schedule_live", "live_request_body"),
    Capability.CONVERSATIONS: ("conversations", "reply"),
}


def _overrides(cls: type[Channel], method: str) -> bool:
    return inspect.getattr_static(cls, method) is not inspect.getattr_static(Channel, method)


def test_every_declared_capability_is_implemented(contract_env: Contract) -> None:
    cls = type(contract_env.channel)
    missing = [
        f"{capability.value}: {method}"
        for capability in cls.capabilities
        for method in IMPLEMENTED_BY.get(capability, ())
        if not _overrides(cls, method)
    ]
    assert not missing, f"{cls.network} declares capabilities it does not implement: {missing}"
    if Capability.CONVERSATIONS in cls.capabilities:
        assert cls.conversation_facts is not None
    if Capability.LIVE in cls.capabilities:
        assert cls.live_link_placeholder, "a live host names the form of its link"


# -- manual channels: a person publishes ---------------------------------------------------


def _require_manual(contract: Contract) -> None:
    if Capability.MANUAL not in contract.channel.capabilities:
        pytest.skip(f"{contract.case.network} publishes through its API")


def test_manual_publish_writes_one_task_with_the_text_and_link(contract_env: Contract) -> None:
    _require_manual(contract_env)
    post, marker = contract_env.fresh(contract_env.case.post)
    post = replace(post, idempotency_key=f"contract-{marker}")
    result = contract_env.channel.publish(post)
    task = Path(str(result.extra["task_file"]))
    written = task.read_text(encoding="utf-8")
    assert post.text in written and (post.link or "") in written
    again = contract_env.channel.publish(post)  # a retry: the same task, not a second one
    assert again.remote_id == result.remote_id
    assert [p.name for p in task.parent.glob(f"*{marker}*")] == [task.name]
    assert contract_env.sandbox.journal.entries() == []  # nothing went to a network
