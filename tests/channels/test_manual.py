"""Manual channels: a ready-to-paste task file, a webhook notification, never a failure."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from cm_toolkit.channels.base import Capability, Media, MemoryCredentials, RenderedPost, Transport
from cm_toolkit.channels.manual import ManualChannel, ManualSettings
from cm_toolkit.errors import TransientError

POST = RenderedPost(
    text="Débat de la semaine : qu'est-ce qu'un leader 2.0 ?\n#leadership | {note}",
    link="https://mooc.example.org/module-3?utm_source=linkedin",
    media=(Media(Path("media/visuel.png"), "image/png", alt_text="Le visuel"),),
    idempotency_key="d-42/linkedin-group",
)


def _channel(tmp_path: Path, notify: str | None = None, timeout: float = 5.0) -> ManualChannel:
    settings = ManualSettings(
        url="https://www.linkedin.com/groups/8123456/", tasks_dir=tmp_path / "tasks", notify=notify
    )
    return ManualChannel(
        "linkedin-group", settings, MemoryCredentials("linkedin-group", {}), Transport(timeout=timeout)
    )


def test_capabilities() -> None:
    assert ManualChannel.capabilities == {
        Capability.MANUAL, Capability.TEXT, Capability.LINK, Capability.IMAGES
    }


def test_publish_writes_a_ready_to_paste_task(tmp_path: Path) -> None:
    result = _channel(tmp_path).publish(POST)
    assert result.remote_id == "task:d-42_linkedin-group"
    assert result.url == "https://www.linkedin.com/groups/8123456/"
    task = tmp_path / "tasks" / "d-42_linkedin-group.md"
    assert result.extra == {"task_file": str(task)}
    content = task.read_text(encoding="utf-8")
    assert "````text\n" + POST.text + "\n````" in content  # the exact text, unescaped
    assert "- link: https://mooc.example.org/module-3?utm_source=linkedin" in content
    assert "- media: media/visuel.png (alt: Le visuel)" in content
    assert "- where: https://www.linkedin.com/groups/8123456/" in content
    assert "`cm done d-42_linkedin-group`" in content


def test_publishing_again_rewrites_the_same_task(tmp_path: Path) -> None:
    channel = _channel(tmp_path)
    channel.publish(POST)
    channel.publish(POST)
    assert [p.name for p in (tmp_path / "tasks").iterdir()] == ["d-42_linkedin-group.md"]


def test_validate_reports_every_problem(tmp_path: Path) -> None:
    post = RenderedPost(text="  ", media=(Media(tmp_path / "nope.png", "image/png"),))
    problems = _channel(tmp_path).validate(post)
    assert [p.message for p in problems] == [
        "the post's text is empty",
        f"media file {tmp_path / 'nope.png'} does not exist",
    ]
    assert _channel(tmp_path).validate(RenderedPost(text="ok")) == []


def test_unwritable_task_folder_is_retryable(tmp_path: Path) -> None:
    (tmp_path / "tasks").write_text("a file where the folder should be")
    with pytest.raises(TransientError) as caught:
        _channel(tmp_path).publish(POST)
    assert caught.value.retryable


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []
    status: ClassVar[int] = 200

    def do_POST(self) -> None:
        length = int(self.headers["content-length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(type(self).status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def hook() -> Iterator[tuple[str, type[_Hook]]]:
    handler = type("Hook", (_Hook,), {"received": [], "status": 200})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/cm", handler
    server.shutdown()
    server.server_close()


def test_notify_posts_the_task_as_json(
    tmp_path: Path, hook: tuple[str, type[_Hook]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    url, handler = hook
    result = _channel(tmp_path, notify=url).publish(POST)
    assert result.extra["notified"] == "ok"
    (payload,) = handler.received
    assert payload["text"] == POST.text
    assert payload["delivery"] == "d-42_linkedin-group"
    assert payload["media"] == ["media/visuel.png"]
    assert payload["done_command"] == "cm done d-42_linkedin-group"


def test_a_failing_webhook_does_not_fail_the_delivery(
    tmp_path: Path, hook: tuple[str, type[_Hook]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    url, handler = hook
    handler.status = 500
    assert _channel(tmp_path, notify=url).publish(POST).extra["notified"] == "failed: HTTP 500"
    # nobody listening: connection refused
    dead = _channel(tmp_path, notify="http://127.0.0.1:9/hook", timeout=0.5).publish(POST)
    assert dead.extra["notified"].startswith("failed: ")
    assert "127.0.0.1:9" not in json.dumps(dead.extra)  # webhook URLs may hold secrets
    mail = _channel(tmp_path, notify="cm@example.org").publish(POST)
    assert mail.extra["notified"] == "skipped: only http(s) webhooks are notified"
    assert (tmp_path / "tasks" / "d-42_linkedin-group.md").exists()
