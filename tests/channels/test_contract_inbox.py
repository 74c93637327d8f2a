"""The inbox's contract (``Capability.CONVERSATIONS``), the same for every adapter declaring it.

Part of the contract suite (fixtures in ``conftest.py``, one sandbox per network and module):
each test publishes the case's post, lets the simulated audience answer for two days of sandbox
time, then reads every source the adapter declares (but ``live_chat``, which needs a session on
air: see the network's own tests) and answers one message, through the real SDK and the
sandbox's faults, reading the journal to see what reached the network.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from cm_toolkit.channels.base import (
    Capability,
    Channel,
    ConversationFacts,
    ConversationQuery,
    IncomingMessage,
    ReplyRequest,
)
from cm_toolkit.errors import ChannelError, OutcomeUnknown, RateLimited, TransientError
from cm_toolkit.sandbox.faults import FaultKind, FaultRule
from tests.channels.conftest import Contract

MAX_PAGES = 50


def _facts(contract: Contract) -> ConversationFacts:
    channel = contract.channel
    if Capability.CONVERSATIONS not in channel.capabilities:
        pytest.skip(f"{contract.case.network} does not declare conversations")
    assert channel.conversation_facts is not None
    return channel.conversation_facts


def _sources(facts: ConversationFacts) -> list[str]:
    return [s for s in facts.sources if s != "live_chat"]


def _posts(contract: Contract) -> tuple[str, ...]:
    post, _ = contract.fresh(contract.case.post)
    remote_id = contract.channel.publish(post).remote_id
    contract.clock.advance(timedelta(days=2))
    return (remote_id,)


def _read_all(contract: Contract, source: str, posts: tuple[str, ...],
              cursor: str | None = None) -> tuple[list[IncomingMessage], str | None]:
    messages: list[IncomingMessage] = []
    for _ in range(MAX_PAGES):
        page = contract.channel.conversations(
            ConversationQuery(source, cursor=cursor, post_remote_ids=posts, max_items=5)
        )
        messages += page.messages
        cursor = page.cursor
        if not page.more:
            return messages, cursor
    raise AssertionError(f"{source}: still more after {MAX_PAGES} pages")


def _answerable(contract: Contract, posts: tuple[str, ...]) -> IncomingMessage:
    facts = _facts(contract)
    for source in _sources(facts):
        for message in _read_all(contract, source, posts)[0]:
            request = ReplyRequest("Merci pour votre message !", message.remote_id,
                                   message.kind, message.thread_remote_id)
            if not message.from_us and not contract.channel.validate_reply(request):
                return message
    raise AssertionError("the audience wrote nothing this adapter may answer")


def _replies(contract: Contract) -> list[object]:
    assert contract.case.reply_path
    return contract.sandbox.journal.entries(
        network=contract.case.network, method="POST", path=contract.case.reply_path
    )


def test_facts_come_with_the_capability(contract_env: Contract) -> None:
    channel = contract_env.channel
    if Capability.CONVERSATIONS not in channel.capabilities:
        assert channel.conversation_facts is None
        return
    facts = _facts(contract_env)
    assert facts.sources and facts.reply_text_max > 0 and contract_env.case.reply_path
    assert type(channel).conversations is not Channel.conversations  # implemented
    assert type(channel).reply is not Channel.reply


def test_reads_are_repeatable_and_the_cursor_moves_on(contract_env: Contract) -> None:
    facts = _facts(contract_env)
    posts = _posts(contract_env)
    for source in _sources(facts):
        first = contract_env.channel.conversations(
            ConversationQuery(source, post_remote_ids=posts, max_items=5))
        again = contract_env.channel.conversations(
            ConversationQuery(source, post_remote_ids=posts, max_items=5))
        assert again.messages == first.messages and again.cursor == first.cursor
        messages, cursor = _read_all(contract_env, source, posts)
        assert messages, f"{source}: the audience wrote nothing in two days"
        ids = [m.remote_id for m in messages]
        assert len(ids) == len(set(ids)), f"{source}: a message read twice"
        for message in messages:
            assert message.source == source and message.created_at.tzinfo is not None
            assert message.remote_id and message.thread_remote_id and message.text
        rest, _ = _read_all(contract_env, source, posts, cursor)
        assert not {m.remote_id for m in rest} & set(ids)


def test_a_reply_reaches_the_network_once(contract_env: Contract) -> None:
    _facts(contract_env)
    message = _answerable(contract_env, _posts(contract_env))
    contract_env.sandbox.journal.clear()
    result = contract_env.channel.reply(
        ReplyRequest("Merci pour votre message !", message.remote_id, message.kind,
                     message.thread_remote_id, idempotency_key="reply-1"))
    assert result.remote_id
    assert len(_replies(contract_env)) == 1


def test_a_reply_without_answer_is_outcome_unknown(contract_env: Contract) -> None:
    _facts(contract_env)
    message = _answerable(contract_env, _posts(contract_env))
    contract_env.sandbox.journal.clear()
    assert contract_env.case.reply_path
    if contract_env.case.settles_lost_creates:
        _settled_once(contract_env, message)
        return
    contract_env.sandbox.faults.rules.append(FaultRule(
        contract_env.case.network, FaultKind.DROP_AFTER_COMMIT, times=1,
        path=re.compile(contract_env.case.reply_path), method="POST"))
    with pytest.raises(OutcomeUnknown) as lost:
        contract_env.channel.reply(ReplyRequest("Bonjour !", message.remote_id, message.kind,
                                                message.thread_remote_id))
    assert "reply" in str(lost.value) and "never sent twice" in lost.value.fix
    assert len(_replies(contract_env)) == 1


def _settled_once(contract: Contract, message: IncomingMessage) -> None:
    """A network whose creates are idempotent (``settles_lost_creates``, Mastodon's
    Idempotency-Key, Bluesky's record key): the adapter settles a lost answer to a reply as it
    does a post's, and the reply is online once."""
    assert contract.case.reply_path
    _, marker = contract.fresh(contract.case.post)
    contract.sandbox.faults.rules.append(FaultRule(
        contract.case.network, FaultKind.DROP_AFTER_COMMIT, times=1,
        path=re.compile(contract.case.reply_path), method="POST"))
    result = contract.channel.reply(
        ReplyRequest(f"Merci ! {marker}", message.remote_id, message.kind,
                     message.thread_remote_id, idempotency_key="reply-settled"))
    assert result.remote_id
    assert json.dumps(contract.sandbox.state()["networks"]).count(marker) == 1
    assert 1 <= len(_replies(contract)) <= 2


def test_read_errors_are_mapped(contract_env: Contract) -> None:
    facts = _facts(contract_env)
    source = _sources(facts)[0]
    query = ConversationQuery(source, post_remote_ids=_posts(contract_env))
    contract_env.channel.conversations(query)  # tokens fresh after the two days
    contract_env.sandbox.faults.add(f"{contract_env.case.network}:429@once")
    with pytest.raises(RateLimited) as limited:
        contract_env.channel.conversations(query)
    assert limited.value.reset_at is not None
    contract_env.sandbox.faults.add(f"{contract_env.case.network}:500@once")
    with pytest.raises(TransientError):
        contract_env.channel.conversations(query)


def test_an_overlong_reply_is_refused_before_sending(contract_env: Contract) -> None:
    facts = _facts(contract_env)
    message = _answerable(contract_env, _posts(contract_env))
    request = ReplyRequest("a" * (facts.reply_text_max + 1), message.remote_id, message.kind,
                           message.thread_remote_id)
    assert contract_env.channel.validate_reply(request)
    contract_env.sandbox.journal.clear()
    with pytest.raises(ChannelError) as refused:
        contract_env.channel.reply(request)
    assert not refused.value.retryable
    assert _replies(contract_env) == []
