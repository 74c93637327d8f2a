"""``cm run``'s inbox job (``inbox/autorun.py``) with the real adapters against the sandbox:
syncs on their cadence, FAQ auto answers sent once (even when the job starts again), the X
read budget, live chat read only while a session is on air."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from cm_toolkit.clock import ManualClock
from cm_toolkit.inbox import load_faq
from cm_toolkit.inbox.autorun import InboxJob
from cm_toolkit.inbox.sync import InboxSync, SourceReport
from cm_toolkit.ledger.inbox import InboxFilter, InboxLedger
from cm_toolkit.ledger.models import Conversation, InboxMessage, InboxRead, InboxReply
from cm_toolkit.ledger.states import DeliveryState, MessageState
from cm_toolkit.scheduler.publisher import Step
from tests.scheduler.conftest import START, Rig, rig_on
from tests.scheduler.workspace import live_session, post, write_schedules

FB = "facebook-page"
FAQ = """\
version: 1
entries:
  - id: certificat
    title: Certificate
    questions:
      fr: ["Comment obtenir l'attestation de suivi ?", "Le certificat est-il payant ?",
           "Où télécharger mon attestation ?"]
      en: ["How do I get the certificate?", "Is the certificate free?"]
    keywords: [attestation, certificat, certificate]
    answer:
      fr: "L'attestation est gratuite, elle arrive par mail."
      en: "The certificate is free, it comes by email."
    auto: true
    threshold: 0.1
"""


def job(rig: Rig, worker: str) -> InboxJob:
    runner = rig.runner
    assert runner is not None
    return InboxJob(ledger=rig.ledger, channels=runner, clock=rig.clock,
                    workspace=lambda: runner.current_view().workspace, worker_id=worker,
                    folder=rig.root / ".cm" / "inflight" / "replies")


def commented(rig: Rig, hours: float = 60, **inbox: object) -> None:
    (rig.root / "faq.yaml").write_text(FAQ, encoding="utf-8")
    rig.apply([post("p1", START + timedelta(minutes=1), [FB])])
    if inbox:
        write_schedules(rig.root, [post("p1", START + timedelta(minutes=1), [FB])])
        text = (rig.root / "schedules.yaml").read_text(encoding="utf-8")
        lines = "".join(f"  {k}: {v}\n" for k, v in inbox.items())
        (rig.root / "schedules.yaml").write_text(text + "inbox:\n" + lines, encoding="utf-8")
        assert rig.runner is not None
        rig.runner.reload()
    rig.clock.advance(timedelta(minutes=1))
    assert rig.run("p1", FB).step is Step.PUBLISHED
    rig.clock.advance(timedelta(hours=hours))


def auto_replies(rig: Rig) -> list[InboxReply]:
    with rig.ledger.reading() as session:
        return list(session.scalars(select(InboxReply).where(InboxReply.auto.is_(True))))


def test_auto_answers_go_out_once_even_when_the_job_starts_again(rig: Rig) -> None:
    commented(rig)
    first = job(rig, "testhost/1/abc")
    first.recover()
    first.tick()
    sent = auto_replies(rig)
    assert sent, "the audience asked about the certificate: some auto answers"
    assert {r.state for r in sent} == {DeliveryState.PUBLISHED}
    assert {r.faq_id for r in sent} == {"certificat"}
    inbox = InboxLedger(rig.ledger)
    for reply in sent:
        message = inbox.message(reply.message_id)
        assert message.state is MessageState.ANSWERED and message.auto_answered
        posted = rig.sandbox.journal.entries(
            method="POST", path=rf"/v[0-9.]+/{message.remote_id}/comments")
        assert len([e for e in posted if e.status and e.status < 300]) == 1
    first.close()
    rig.clock.advance(timedelta(minutes=20))
    again = job(rig, "testhost/2/def")  # cm run started again
    again.recover()
    again.tick()
    assert sorted(r.id for r in auto_replies(rig)) >= sorted(r.id for r in sent)
    with rig.ledger.reading() as session:
        per_message = session.execute(select(InboxReply.message_id)).scalars().all()
    assert len(per_message) == len(set(per_message))  # never two replies to one message
    again.close()


def test_auto_answers_can_be_turned_off(rig: Rig) -> None:
    commented(rig, auto_answers="false")
    off = job(rig, "testhost/1/abc")
    off.recover()
    off.tick()
    assert auto_replies(rig) == []
    with rig.ledger.reading() as session:
        assert session.scalar(select(InboxMessage.id).limit(1)) is not None  # synced all the same
    off.close()


def test_x_reads_stop_before_the_monthly_budget(rig: Rig) -> None:
    commented(rig, x_read_budget_usd="0.3")
    runner = rig.runner
    assert runner is not None
    sync = InboxSync(inbox=InboxLedger(rig.ledger), channels=runner, clock=rig.clock,
                     workspace=runner.current_view().workspace)
    warnings = []
    for _ in range(8):
        reports = sync.sync(networks=frozenset({"x"}))
        warnings += [r.warning for r in reports if r.warning]
        rig.clock.advance(timedelta(minutes=16))
    with rig.ledger.reading() as session:
        spent = sum(session.scalars(select(InboxRead.cost_usd).where(
            InboxRead.network == "x")))
    assert 0 < spent <= 0.3
    assert warnings and "x reads stopped" in warnings[0] and "x_read_budget_usd" in warnings[0]


def test_the_job_keeps_no_text_in_its_log(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    commented(rig)
    with caplog.at_level(logging.INFO, logger="cm.inbox"):
        logged = job(rig, "testhost/1/abc")
        logged.tick()
        logged.close()
    texts = [m.text for g in InboxLedger(rig.ledger).listing(
        InboxFilter(states=frozenset(MessageState))) for m in g.messages]
    assert caplog.records and texts
    for record in caplog.records:
        for text in texts:
            assert text is None or text not in record.getMessage()


def test_live_chat_is_read_only_while_the_session_is_on_air(rig: Rig) -> None:
    start = START + timedelta(days=2)
    runner = rig.apply(sessions=[live_session("live-1", start)])  # 1 h, created a day before
    rig.clock.set(start - timedelta(days=1))
    assert rig.run("live-1/live", "youtube").step is Step.PUBLISHED
    sync = InboxSync(inbox=InboxLedger(rig.ledger), channels=runner, clock=rig.clock,
                     workspace=runner.current_view().workspace)

    def live_chat() -> SourceReport:
        [report] = sync.sync(channel_ids=frozenset({"youtube"}),
                             sources=frozenset({"live_chat"}))
        return report

    rig.clock.set(start - timedelta(minutes=5))
    assert live_chat().skipped == "no live session on air"
    rig.clock.set(start + timedelta(minutes=20))
    during = live_chat()
    assert during.error is None and during.new > 0 and during.units > 0
    with rig.ledger.reading() as session:
        kinds = set(session.scalars(select(InboxMessage.kind).where(
            InboxMessage.source == "live_chat")))
    assert kinds == {"live_chat"}
    with rig.ledger.reading() as session:
        sessions = set(session.scalars(select(Conversation.session_id).join(
            InboxMessage, InboxMessage.conversation_id == Conversation.id).where(
                InboxMessage.source == "live_chat")))
    assert sessions == {"live-1"}  # the chat's conversation names its session
    rig.clock.set(start + timedelta(hours=2))
    assert live_chat().skipped == "no live session on air"


def test_live_instants_fall_inside_the_sessions_to_come(rig: Rig) -> None:
    start = START + timedelta(days=2)
    rig.apply(sessions=[live_session("live-1", start)])  # one hour
    instants = job(rig, "testhost/1/abc").live_instants(START)
    assert instants == [start + timedelta(minutes=m) for m in (1, 11, 21, 31, 41, 51)]
    assert job(rig, "testhost/1/abc").live_instants(start + timedelta(minutes=45)) == [
        start + timedelta(minutes=51)]


def test_no_auto_answer_in_a_live_chat_that_has_ended(rig: Rig) -> None:
    """The chat's questions are answered by FAQ while the session is on air; once it has
    ended, YouTube refuses any message in it (403 liveChatEnded): no reply is even requested,
    so the demo and `cm review` show no failed auto answer."""
    (rig.root / "faq.yaml").write_text(
        (Path(__file__).parents[2] / "faq.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    start = START + timedelta(days=2)
    runner = rig.apply(sessions=[live_session("live-1", start)])  # 1 h, created a day before
    rig.clock.set(start - timedelta(days=1))
    assert rig.run("live-1/live", "youtube").step is Step.PUBLISHED
    sync = InboxSync(inbox=InboxLedger(rig.ledger), channels=runner, clock=rig.clock,
                     workspace=runner.current_view().workspace,
                     faq=load_faq(rig.root))
    rig.clock.set(start + timedelta(minutes=59))
    [report] = sync.sync(channel_ids=frozenset({"youtube"}), sources=frozenset({"live_chat"}))
    assert report.new > 0
    with rig.ledger.reading() as session:
        chat = list(session.scalars(select(InboxMessage).where(
            InboxMessage.source == "live_chat")))
    auto_able = [m for m in chat
                 if any(len(s) > 3 and s[3] for s in (m.suggestions or {}).get("faq", [])[:1])]
    assert auto_able, "some chat lines match an `auto` FAQ entry: the job would answer them"
    rig.clock.set(start + timedelta(minutes=70))  # the chat has ended
    late = job(rig, "testhost/1/abc")
    late.recover()
    late.tick()
    late.close()
    with rig.ledger.reading() as session:
        answered = session.scalars(select(InboxReply.message_id)).all()
    assert not set(answered) & {m.id for m in chat}
    assert not rig.sandbox.journal.entries(method="POST", path=r"/youtube/v3/liveChat/messages")


class RacingClock(ManualClock):
    """`cm demo`'s replay clock on a loaded machine: while ``racing``, every reading outside a
    ``hold`` is three hours later, longer than an X token lives (two hours)."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self.racing = False
        self.holders: set[object] = set()  # set.add / discard: atomic across threads

    def now(self) -> datetime:
        if self.racing and not self.holders:
            self.advance(timedelta(hours=3))
        return super().now()

    @contextmanager
    def hold(self) -> Iterator[None]:
        holder = object()
        self.holders.add(holder)
        try:
            yield
        finally:
            self.holders.discard(holder)


@pytest.fixture
def racing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    yield from rig_on(RacingClock(START), tmp_path, monkeypatch)


def test_replies_are_sent_while_a_replay_clock_stands_still(racing: Rig) -> None:
    """The syncs let a replay clock run; the replies hold it, else a token refreshed for a
    reply has expired by the time the reply is sent (the demo's 'X refused the credentials')."""
    rig, clock = racing, racing.clock
    assert isinstance(clock, RacingClock)
    (rig.root / "faq.yaml").write_text(
        (Path(__file__).parents[2] / "faq.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    runner = rig.apply([post("p1", START + timedelta(minutes=1), ["x-mooc"])])
    text = (rig.root / "schedules.yaml").read_text(encoding="utf-8")
    slow = ("inbox:\n  sync: {x: 7d, facebook: 7d, linkedin: 7d, youtube: 7d, mastodon: 7d, "
            "bluesky: 7d}\n")  # none due
    (rig.root / "schedules.yaml").write_text(text + slow, encoding="utf-8")
    runner.reload()
    clock.advance(timedelta(minutes=1))
    assert rig.run("p1", "x-mooc").step is Step.PUBLISHED
    clock.advance(timedelta(hours=20))
    reports = InboxSync(inbox=InboxLedger(rig.ledger), channels=runner, clock=clock,
                        workspace=runner.current_view().workspace,
                        faq=load_faq(rig.root)).sync()
    assert all(r.error is None for r in reports) and sum(r.new for r in reports) > 0
    with rig.ledger.reading() as session:
        auto_able = [m.id for m in session.scalars(select(InboxMessage))
                     if any(len(s) > 3 and s[3] for s in (m.suggestions or {}).get("faq", [])[:1])]
    assert auto_able, "some messages match an `auto` FAQ entry"
    clock.racing = True
    racer = job(rig, "testhost/1/abc")
    racer.recover()
    racer.tick()  # syncs not due (7 days): it sends the auto answers
    racer.close()
    clock.racing = False
    sent = auto_replies(rig)
    assert sent, "the audience asked what the FAQ answers: some auto answers"
    assert {(r.state, r.last_error) for r in sent} == {(DeliveryState.PUBLISHED, None)}


def test_a_tick_stops_at_its_next_step_when_cm_run_stops(rig: Rig) -> None:
    """SIGTERM during a long read (many sources, a slow network) must not wait for the whole
    sync: the tick reads no further page and sends no reply once the job is stopped; the
    next start goes on where the cursors say."""
    commented(rig)
    runner = rig.runner
    assert runner is not None

    def reads() -> int:
        return len([e for e in rig.sandbox.journal.entries(method="GET") if e.status])

    before = reads()
    stopped = job(rig, "testhost/1/abc")
    stopped.recover()
    stopped.stop()  # cm run's shutdown, as it begins
    stopped.tick()
    assert reads() == before and auto_replies(rig) == []
    stopped.close()
    # a sync stopped after its first page reads no second one
    sync = InboxSync(inbox=InboxLedger(rig.ledger), channels=runner, clock=rig.clock,
                     workspace=runner.current_view().workspace,
                     stopping=lambda: reads() > before)
    reports = sync.sync()
    assert sum(r.pages for r in reports) == 1
    # started again: the job reads as usual, from the sources the stopped sync left
    again = job(rig, "testhost/2/def")
    again.recover()
    again.tick()
    assert reads() > before + 1
    again.close()
