"""faq.yaml and its answers cannot reach outside the workspace (issue 15, item 1): a faq.yaml
that is a link out is refused unread, and an answer that includes a file by an absolute name is
refused at its line in faq.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from cm_toolkit.errors import TemplateError, WorkspaceError
from cm_toolkit.inbox.faq import FaqBook
from cm_toolkit.templates.failures import RenderLimitError

from .test_faq_file import ONE_ENTRY, workspace


def test_a_faq_file_linked_outside_the_workspace_is_refused_unread(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "faq.yaml").write_text(ONE_ENTRY.replace("Bonjour", "PRIVATE"), encoding="utf-8")
    (tmp_path / "ws").mkdir()
    root = workspace(tmp_path / "ws", None)
    (root / "faq.yaml").symlink_to(outside / "faq.yaml")
    with pytest.raises(WorkspaceError) as caught:
        FaqBook.load(root)
    text = str(caught.value)
    assert "faq.yaml" in text and "outside the workspace" in text and "allowed_paths" in text
    assert "PRIVATE" not in text


def test_a_faq_file_linked_into_an_allowed_folder_is_read(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "faq.yaml").write_text(ONE_ENTRY, encoding="utf-8")
    (tmp_path / "ws").mkdir()
    root = workspace(tmp_path / "ws", None,
                     "version: 1\ntimezone: UTC\nallowed_paths: [../shared]\ncampaigns: []\n")
    (root / "faq.yaml").symlink_to(shared / "faq.yaml")
    assert FaqBook.load(root).ids == ("certificat",)


def test_an_answer_including_an_absolute_path_is_refused_at_its_faq_line(tmp_path: Path) -> None:
    faq = ONE_ENTRY.replace('en: "Hi! See {{ course_url }}attestation"',
                            "en: \"{% include '/etc/passwd' %}\"")
    book = FaqBook.load(workspace(tmp_path, faq))
    with pytest.raises(TemplateError) as caught:
        book.render("certificat", network="facebook", language="en")
    text = str(caught.value)
    assert text.startswith("faq.yaml:10:"), text
    assert "is not a name in templates/" in text and "root:" not in text


def test_an_answer_that_never_ends_is_a_time_out_under_the_workspace_s_limits(
        tmp_path: Path) -> None:
    loop = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    faq = ONE_ENTRY.replace('en: "Hi! See {{ course_url }}attestation"', f'en: "{loop}"')
    schedules = "version: 1\ntimezone: UTC\ntemplate_limits: {seconds: 0.1}\ncampaigns: []\n"
    book = FaqBook.load(workspace(tmp_path, faq, schedules))
    with pytest.raises(RenderLimitError) as caught:
        book.render("certificat", network="facebook", language="en")
    # a time-out stays one once placed in faq.yaml: cm check reports it once, not per network
    assert caught.value.timed_out
    assert str(caught.value).startswith("faq.yaml:10: this template ran longer than 0.1 s")
