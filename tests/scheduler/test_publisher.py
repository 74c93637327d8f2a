"""One due delivery through the publisher: every outcome, as the ledger and the sandbox see it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from cm_toolkit.cli import main
from cm_toolkit.ledger.states import DeliveryState, EventKind
from cm_toolkit.scheduler.publisher import Step
from cm_toolkit.sending.retry import RetryPolicy
from tests.scheduler.conftest import START, Rig
from tests.scheduler.workspace import live_session, post

S = DeliveryState
DUE = START + timedelta(minutes=1)


def test_published_keeps_the_remote_id_url_and_rendered_text(rig: Rig) -> None:
    rig.apply([post("hello", DUE, ["x-mooc"], text="Bonjour la communauté")])
    rig.clock.set(DUE)
    attempt = rig.run("hello", "x-mooc")
    assert attempt.step is Step.PUBLISHED
    row = rig.row("hello", "x-mooc")
    assert row.state is S.PUBLISHED and row.attempts == 1
    assert row.rendered_text == "Bonjour la communauté"
    assert row.remote_id and row.remote_url == f"https://x.com/ManagerLeader20/status/{row.remote_id}"
    assert rig.transitions(row.id) == [(None, "planned"), ("planned", "sending"),
                                       ("sending", "published")]
    [create] = rig.creates("x")
    assert create.status == 201 and create.json_body()["text"] == "Bonjour la communauté"
    assert row.remote_id in create.response


def test_too_early_is_deferred_to_its_instant_and_nothing_is_sent(rig: Rig) -> None:
    rig.apply([post("hello", DUE, ["x-mooc"])])
    attempt = rig.run("hello", "x-mooc")
    assert (attempt.step, attempt.at) == (Step.DEFERRED, DUE)
    assert rig.row("hello", "x-mooc").state is S.PLANNED and not rig.creates("x")


def test_rate_limited_waits_for_the_reset_then_publishes(rig: Rig) -> None:
    rig.sandbox.faults.reset_after = 300  # X's reset: five minutes ahead, longer than backoff
    rig.sandbox.faults.add("x:429@once/2/tweets")
    rig.apply([post("hello", DUE, ["x-mooc"])])
    rig.clock.set(DUE)
    publisher = rig.publisher()
    attempt = rig.run("hello", "x-mooc", publisher)
    row = rig.row("hello", "x-mooc")
    assert attempt.step is Step.RETRY and row.state is S.RETRY_WAIT
    assert row.next_attempt_at is not None and row.next_attempt_at >= DUE + timedelta(seconds=300)
    assert "rate limit" in (row.last_error or "")
    rig.clock.set(row.next_attempt_at - timedelta(seconds=1))
    assert rig.run("hello", "x-mooc", publisher).step is Step.DEFERRED  # not before the reset
    rig.clock.set(row.next_attempt_at)
    assert rig.run("hello", "x-mooc", publisher).step is Step.PUBLISHED
    assert [c.status for c in rig.creates("x")] == [429, 201]
    assert rig.row("hello", "x-mooc").attempts == 2


def test_server_errors_back_off_exponentially_then_publish(rig: Rig) -> None:
    rig.sandbox.faults.add("facebook:500@2x")
    rig.apply([post("hello", DUE, ["facebook-page"])])
    publisher = rig.publisher(retry=RetryPolicy(base=timedelta(seconds=30), jitter=0.0))
    rig.clock.set(DUE)
    waits = []
    for _ in range(2):
        attempt = rig.run("hello", "facebook-page", publisher)
        assert attempt.step is Step.RETRY and attempt.at is not None
        waits.append(attempt.at - rig.clock.now())
        rig.clock.set(attempt.at)
    assert waits == [timedelta(seconds=30), timedelta(seconds=60)]
    assert rig.run("hello", "facebook-page", publisher).step is Step.PUBLISHED
    assert [c.status for c in rig.creates("facebook")] == [500, 500, 200]


def test_retries_past_the_grace_window_fail_with_the_reason(rig: Rig) -> None:
    rig.sandbox.faults.add("linkedin:503@1.0/rest/posts")
    rig.apply([post("hello", DUE, ["linkedin-page"], grace=timedelta(seconds=80))])
    publisher = rig.publisher(retry=RetryPolicy(base=timedelta(seconds=30), jitter=0.0))
    rig.clock.set(DUE)
    first = rig.run("hello", "linkedin-page", publisher)
    assert first.step is Step.RETRY and first.at == DUE + timedelta(seconds=30)
    rig.clock.set(first.at)
    second = rig.run("hello", "linkedin-page", publisher)  # next would be +60 s: past the grace
    row = rig.row("hello", "linkedin-page")
    assert second.step is Step.FAILED and row.state is S.FAILED
    assert "gave up: the grace window closed" in (row.last_error or "")
    assert "503" in (row.last_error or "")
    assert len(rig.creates("linkedin")) == 2


def test_a_permanent_refusal_fails_with_the_networks_words(rig: Rig) -> None:
    same = "Le même texte, deux fois"
    rig.apply([post("first", DUE, ["x-mooc"], text=same),
               post("again", DUE + timedelta(minutes=1), ["x-mooc"], text=same)])
    rig.clock.set(DUE + timedelta(minutes=1))
    assert rig.run("first", "x-mooc").step is Step.PUBLISHED
    assert rig.run("again", "x-mooc").step is Step.FAILED
    row = rig.row("again", "x-mooc")
    assert row.state is S.FAILED and row.attempts == 1  # not retried: the network said no
    assert "duplicate content" in (row.last_error or "")
    assert [c.status for c in rig.creates("x")] == [201, 403]


def _assert_unknown_and_never_resent(
    rig: Rig, post_key: str, channel: str, network: str, said: str
) -> None:
    row = rig.row(post_key, channel)
    assert row.state is S.UNKNOWN and said in (row.last_error or "")
    # later runs and alarms leave it alone: it is for a person to decide (cm review / resolve)
    rig.clock.advance(timedelta(minutes=5))
    assert rig.run(post_key, channel).step is Step.SKIPPED
    runner = rig.runner
    assert runner is not None
    runner.sync_alarms()
    assert row.id not in runner.alarm_clock.alarms
    assert len(rig.creates(network)) == 1


def test_a_timeout_after_sending_is_unknown_and_never_resent(rig: Rig) -> None:
    rig.timeout = 0.5
    rig.sandbox.faults.timeout_delay = 1.5
    rig.sandbox.faults.add("x:timeout@once/2/tweets")
    rig.apply([post("hello", DUE, ["x-mooc"])])
    rig.clock.set(DUE)
    assert rig.run("hello", "x-mooc").step is Step.UNKNOWN
    [create] = rig.creates("x")
    assert create.fault == "timeout" and create.status == 201  # it was published after all
    _assert_unknown_and_never_resent(rig, "hello", "x-mooc", "x", "no answer came back")


def test_a_connection_dropped_after_commit_is_unknown_and_never_resent(rig: Rig) -> None:
    rig.sandbox.faults.add("facebook:drop-after-commit@once")
    rig.apply([post("hello", DUE, ["facebook-page"])])
    rig.clock.set(DUE)
    assert rig.run("hello", "facebook-page").step is Step.UNKNOWN
    [create] = rig.creates("facebook")
    assert create.fault == "drop-after-commit" and create.status is None
    _assert_unknown_and_never_resent(rig, "hello", "facebook-page", "facebook",
                                     "the post may exist")


def test_an_expired_token_is_refreshed_and_the_post_published(rig: Rig) -> None:
    rig.sandbox.faults.add("x:expire@once/2/tweets")
    rig.apply([post("hello", DUE, ["x-mooc"])])
    rig.clock.set(DUE)
    assert rig.run("hello", "x-mooc").step is Step.PUBLISHED
    calls = [(e.path, e.status) for e in rig.sandbox.journal.entries(network="x")]
    assert calls == [("/2/tweets", 401), ("/2/oauth2/token", 200), ("/2/tweets", 201)]


def test_an_expired_token_that_cannot_be_refreshed_fails_with_the_cm_auth_fix(rig: Rig) -> None:
    rig.sandbox.faults.add("facebook:expire@once")  # a Page token alone cannot be renewed
    rig.apply([post("hello", DUE, ["facebook-page"])])
    rig.clock.set(DUE)
    assert rig.run("hello", "facebook-page").step is Step.FAILED
    row = rig.row("hello", "facebook-page")
    assert row.state is S.FAILED and "cm auth facebook-page" in (row.last_error or "")


def test_a_template_error_fails_with_file_and_line(rig: Rig) -> None:
    rig.apply([post("hello", DUE, ["x-mooc"], template="broken")])
    rig.clock.set(DUE)
    assert rig.run("hello", "x-mooc").step is Step.FAILED
    row = rig.row("hello", "x-mooc")
    assert "templates/broken.j2:2" in (row.last_error or "")
    assert "nobody_defined_this" in (row.last_error or "")
    assert not rig.creates("x")


def test_a_closed_grace_window_is_missed_and_nothing_is_sent(rig: Rig) -> None:
    rig.apply([post("hello", DUE, ["x-mooc"], grace=timedelta(minutes=10))])
    rig.clock.set(DUE + timedelta(minutes=10, seconds=1))
    attempt = rig.run("hello", "x-mooc")
    row = rig.row("hello", "x-mooc")
    assert attempt.step is Step.MISSED and row.state is S.MISSED
    assert "grace window closed" in (row.last_error or "")
    assert [e.kind for e in rig.ledger.events(row.id)][-1] is EventKind.MISSED
    assert not rig.creates("x")


def test_a_manual_channel_hands_a_task_then_cm_done_publishes_it(rig: Rig) -> None:
    rig.apply([post("hello", DUE, ["linkedin-group"], text="À coller dans le groupe")])
    rig.clock.set(DUE)
    assert rig.run("hello", "linkedin-group").step is Step.AWAITING_DONE
    row = rig.row("hello", "linkedin-group")
    assert row.state is S.AWAITING_DONE
    task = rig.root / ".cm" / "tasks" / f"cm-delivery-{row.id}.md"
    assert "À coller dans le groupe" in task.read_text(encoding="utf-8")
    code = main(["done", f"cm-delivery-{row.id}", "--workspace", str(rig.root),
                 "--database-url", str(rig.ledger.engine.url)])
    assert code == 0
    assert rig.row("hello", "linkedin-group").state is S.PUBLISHED


def _live(rig: Rig, start_in: timedelta = timedelta(days=1, hours=1)) -> None:
    # setup due at START + 1 h (a day before the start); the announcement an hour before it
    rig.apply(sessions=[live_session("live-1", START + start_in)])


def test_an_announcement_waits_for_its_link_then_carries_it(rig: Rig) -> None:
    _live(rig)
    announce_due = START + timedelta(days=1)
    rig.clock.set(announce_due)
    # the announcement comes first (e.g. the setup was retried): it does not go out without link
    waiting = rig.run("live-1/announce/0", "x-mooc")
    assert waiting.step is Step.DEFERRED and "no link yet" in waiting.detail
    assert waiting.at == announce_due + timedelta(minutes=1)
    assert rig.row("live-1/announce/0", "x-mooc").state is S.PLANNED and not rig.creates("x")
    assert rig.run("live-1/live", "youtube").step is Step.PUBLISHED
    setup = rig.row("live-1/live", "youtube")
    assert setup.remote_url and setup.remote_url.startswith("https://www.youtube.com/watch?v=")
    assert rig.run("live-1/announce/0", "x-mooc").step is Step.PUBLISHED
    announced = rig.row("live-1/announce/0", "x-mooc")
    assert announced.rendered_text == f"live-1 in 3600s {setup.remote_url}"
    # (the X token of the day before expired meanwhile: a 401, a refresh, then the post)
    [create] = [c for c in rig.creates("x") if c.status == 201]
    assert setup.remote_url in create.json_body()["text"]


def test_a_failed_live_setup_keeps_its_announcements_back_and_reports_them(rig: Rig) -> None:
    rig.sandbox.faults.add("youtube:401@1.0/youtube/v3/liveBroadcasts")
    _live(rig)
    rig.clock.set(START + timedelta(hours=1))
    assert rig.run("live-1/live", "youtube").step is Step.FAILED
    assert "cm auth youtube" in (rig.row("live-1/live", "youtube").last_error or "")
    announce_due = START + timedelta(days=1)
    rig.clock.set(announce_due)
    assert rig.run("live-1/announce/0", "x-mooc").step is Step.DEFERRED
    # it looks again until its grace (1 h) ends with no link: then missed, with the reason
    rig.clock.set(announce_due + timedelta(minutes=59, seconds=30))
    last_look = rig.run("live-1/announce/0", "x-mooc")
    assert last_look.step is Step.DEFERRED and last_look.at is not None
    assert last_look.at > announce_due + timedelta(hours=1)
    rig.clock.set(last_look.at)
    assert rig.run("live-1/announce/0", "x-mooc").step is Step.MISSED
    row = rig.row("live-1/announce/0", "x-mooc")
    assert row.state is S.MISSED and row.last_error == (
        "live session 'live-1' has no link: its creation did not succeed (youtube failed; "
        "see cm review)")
    assert not rig.creates("x")


def test_a_reminder_whose_grace_closed_before_its_session_was_created_says_so(rig: Rig) -> None:
    _live(rig)
    # cm run was not running: neither the setup (due START + 1 h) nor the reminder (due a day
    # later, grace 1 h) ran; the setup's own grace (create_before, a day) is still open
    rig.clock.set(START + timedelta(days=1, hours=1, seconds=1))
    assert rig.run("live-1/announce/0", "x-mooc").step is Step.MISSED
    error = rig.row("live-1/announce/0", "x-mooc").last_error or ""
    assert error.startswith("its grace window closed before it could be sent: live session "
                            "'live-1' was not created by then")
    assert "has no link" not in error
    assert not rig.creates("x")


def test_a_post_removed_from_the_workspace_is_not_sent(rig: Rig, tmp_path: Path) -> None:
    rig.apply([post("hello", DUE, ["x-mooc"])])
    row = rig.row("hello", "x-mooc")
    rig.apply([])
    rig.clock.set(DUE)
    assert rig.publisher().run(row.id).step is Step.SKIPPED
    assert rig.row("hello", "x-mooc").state is S.CANCELLED and not rig.creates("x")
