"""faq.yaml: loading, problems at file:line, answers rendered per network and language."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cm_toolkit.channels.x.text import x_weighted_length
from cm_toolkit.errors import InboxError, TemplateError, WorkspaceError
from cm_toolkit.inbox.faq import FaqBook

SAMPLE = Path(__file__).resolve().parents[2]

SCHEDULES = """\
version: 1
timezone: Europe/Paris
defaults:
  language: fr
variables:
  course: "Le cours"
  course_url: "https://example.org/"
campaigns: []
"""


def workspace(tmp_path: Path, faq: str | None, schedules: str = SCHEDULES) -> Path:
    (tmp_path / "schedules.yaml").write_text(schedules, encoding="utf-8")
    if faq is not None:
        (tmp_path / "faq.yaml").write_text(faq, encoding="utf-8")
    return tmp_path


def problems_of(root: Path) -> list[str]:
    with pytest.raises(WorkspaceError) as caught:
        FaqBook.load(root)
    return [str(p) for p in caught.value.problems]


ONE_ENTRY = """\
version: 1
entries:
  - id: certificat
    title: {fr: Attestation, en: Certificate}
    questions:
      fr: ["Comment obtenir l'attestation ?"]
      en: ["How do I get the certificate?"]
    answer:
      fr: "Bonjour ! Voir {{ course_url }}attestation"
      en: "Hi! See {{ course_url }}attestation"
    variants:
      x: {fr: "Court : {{ course_url }}", en: "Short: {{ course_url }}"}
"""


def test_no_faq_file_is_an_empty_book(tmp_path: Path) -> None:
    book = FaqBook.load(workspace(tmp_path, None))
    assert book.ids == ()
    assert book.suggest("Comment obtenir l'attestation ?") == []
    with pytest.raises(InboxError, match="no FAQ entry 'certificat'"):
        book.render("certificat", network="facebook")


def test_renders_per_network_and_language_with_workspace_variables(tmp_path: Path) -> None:
    book = FaqBook.load(workspace(tmp_path, ONE_ENTRY))
    assert book.ids == ("certificat",)
    assert book.render("certificat", network="facebook") == (
        "Bonjour ! Voir https://example.org/attestation"
    )
    assert book.render("certificat", network="facebook", language="en") == (
        "Hi! See https://example.org/attestation"
    )
    assert book.render("certificat", network="x", language="en") == "Short: https://example.org/"
    # A language the entry does not have: the workspace's.
    assert book.render("certificat", network="linkedin", language="de").startswith("Bonjour")
    assert book.title("certificat") == "Attestation"


def test_unknown_id_and_network_say_did_you_mean(tmp_path: Path) -> None:
    book = FaqBook.load(workspace(tmp_path, ONE_ENTRY))
    with pytest.raises(InboxError) as caught:
        book.render("certificats", network="x")
    assert "did you mean 'certificat'" in str(caught.value)
    with pytest.raises(InboxError) as caught:
        book.render("certificat", network="facebok")
    assert "did you mean" in str(caught.value)


VALID = "version: 1\nentries:\n  - id: a\n    title: A\n    keywords: [x]\n    answer: hi\n"


@pytest.mark.parametrize(
    ("faq", "expected"),
    [
        ("version: 1\nentries:\n  - id: a\n    title: A\n   questions: [x]\n",
         "faq.yaml:5:4: is not valid YAML"),
        ("version: 1\nentries:\n  - id: a\n    title: A\n    keywords: [x]\n    answr: hi\n",
         'faq.yaml:6:5: unknown key `answr` in FAQ entry "a"'),
        ("version: 1\nentries:\n  - id: a\n    title: A\n    keywords: [x]\n",
         'faq.yaml:3:5: FAQ entry "a" has no answer'),
        (VALID + "  - id: a\n    title: B\n    keywords: [y]\n    answer: ho\n",
         'faq.yaml:7:9: FAQ entry "a" is declared twice (first at line 3)'),
        ("version: 1\nentries:\n  - id: Bad Id\n    title: A\n    keywords: [x]\n    answer: hi\n",
         "faq.yaml:3:9:"),
        (VALID + "    threshold: 2\n",
         "faq.yaml:7:16:"),
        (VALID + "    variants:\n      twitter: hi\n",
         "faq.yaml:8:"),
        ("- just\n- a list\n", "faq.yaml:1:1: must be a mapping with `entries:`"),
    ],
)
def test_load_problems_are_at_file_line_with_a_fix(
    tmp_path: Path, faq: str, expected: str
) -> None:
    problems = problems_of(workspace(tmp_path, faq))
    assert problems, "a broken faq.yaml must be refused"
    assert problems[0].startswith(expected), problems
    assert " — " in problems[0], f"no fix given: {problems[0]}"


def test_template_error_in_an_inline_answer_is_at_its_faq_line(tmp_path: Path) -> None:
    faq = ONE_ENTRY.replace(
        'en: "Hi! See {{ course_url }}attestation"',
        "en: >\n        Hi!\n        See {{ cours_url }}",
    )
    book = FaqBook.load(workspace(tmp_path, faq))
    with pytest.raises(TemplateError) as caught:
        book.render("certificat", network="facebook", language="en")
    text = str(caught.value)
    assert text.startswith("faq.yaml:11:"), text
    assert "undefined variable 'cours_url'" in text and "did you mean 'course_url'" in text


def test_syntax_error_in_a_variant_is_at_its_faq_line(tmp_path: Path) -> None:
    faq = ONE_ENTRY.replace('en: "Short: {{ course_url }}"', 'en: "Short: {{ course_url }"')
    book = FaqBook.load(workspace(tmp_path, faq))
    with pytest.raises(TemplateError) as caught:
        book.render("certificat", network="x", language="en")
    assert str(caught.value).startswith("faq.yaml:12:"), str(caught.value)


def test_template_file_answers_use_language_and_network_variants(tmp_path: Path) -> None:
    root = workspace(tmp_path, """\
version: 1
entries:
  - id: forum
    title: Forum
    keywords: [forum]
    template: faq-forum
""")
    templates = root / "templates"
    templates.mkdir()
    (templates / "faq-forum.j2").write_text("Le forum de {{ course }}\n", encoding="utf-8")
    (templates / "faq-forum.x.j2").write_text("Forum !\n", encoding="utf-8")
    (templates / "faq-forum.en.j2").write_text("The forum of {{ course }}\n", encoding="utf-8")
    (templates / "faq-forum.en.j2.bak").write_text("not a template", encoding="utf-8")
    book = FaqBook.load(root)
    assert book.render("forum", network="facebook") == "Le forum de Le cours"
    assert book.render("forum", network="x") == "Forum !"
    assert book.render("forum", network="facebook", language="en") == "The forum of Le cours"
    (templates / "faq-forum.j2").write_text("{{ nope }}\n", encoding="utf-8")
    with pytest.raises(TemplateError) as caught:
        book.render("forum", network="facebook")
    assert str(caught.value).startswith("templates/faq-forum.j2:1:")


def test_sample_workspace_faq_answers_fit_every_network(tmp_path: Path) -> None:
    book = FaqBook.load(SAMPLE, clock=lambda: datetime(2027, 3, 1, 12, tzinfo=UTC))
    required = {"certificat", "inscription", "live-lien", "acces-module", "duree", "langue",
                "forum"}
    assert required <= set(book.ids)
    for faq_id in book.ids:
        for network in ("facebook", "x", "linkedin", "youtube"):
            for language in ("fr", "en"):
                text = book.render(faq_id, network=network, language=language)
                assert "{{" not in text and text.strip()
                if network == "x":
                    assert x_weighted_length(text) <= 280, (faq_id, language, text)
        english = book.render(faq_id, network="facebook", language="en")
        french = book.render(faq_id, network="facebook", language="fr")
        assert english != french, f"{faq_id} has no English answer"


def test_sample_faq_loads_from_a_copy_without_reading_elsewhere(tmp_path: Path) -> None:
    shutil.copy(SAMPLE / "faq.yaml", tmp_path / "faq.yaml")
    shutil.copy(SAMPLE / "schedules.yaml", tmp_path / "schedules.yaml")
    book = FaqBook.load(tmp_path)
    assert "mooc-leader20.fr/forum" in book.render("forum", network="facebook")


CHECK_FIXTURE = SAMPLE / "tests" / "workspace" / "fixtures" / "valid"


def test_cm_check_reports_faq_problems_and_too_long_answers(tmp_path: Path) -> None:
    from cm_toolkit.inbox.faq_check import faq_problems
    from cm_toolkit.workspace.check import check_workspace

    root = tmp_path / "ws"
    shutil.copytree(CHECK_FIXTURE, root)
    assert not check_workspace(root, None, settings_lookup=None, file_checks=[faq_problems]).problems
    long_text = "mot " * 100
    (root / "faq.yaml").write_text(
        "version: 1\nentries:\n  - id: long\n    title: Long\n    keywords: [long]\n"
        f"    answer: {long_text}\n"
        "  - id: broken\n    title: Broken\n    keywords: [broken]\n"
        "    answer: '{{ nope }}'\n",
        encoding="utf-8",
    )
    found = [str(p) for p in check_workspace(root, None, settings_lookup=None, file_checks=[faq_problems]).problems]
    assert any(p.startswith("faq.yaml:6:") and "on x is 399 weighted characters" in p
               for p in found), found
    assert any(p.startswith("faq.yaml:10:") and "undefined variable 'nope'" in p
               for p in found), found
    (root / "faq.yaml").write_text("entries:\n  - id: a\n    titel: A\n", encoding="utf-8")
    found = [str(p) for p in check_workspace(root, None, settings_lookup=None, file_checks=[faq_problems]).problems]
    assert any(p.startswith("faq.yaml:3:5: unknown key `titel`") for p in found), found


def test_every_faq_key_is_documented() -> None:
    import re

    from cm_toolkit.inbox.faq_file import FaqEntryModel, FaqFileModel

    doc = (SAMPLE / "docs" / "inbox.md").read_text(encoding="utf-8")
    parts = re.split(r"<!-- model: (\w+) -->", doc)
    sections = dict(zip(parts[1::2], parts[2::2], strict=True))
    for model in (FaqFileModel, FaqEntryModel):
        body = sections[model.__name__].split("<!--")[0]
        for name in model.model_fields:
            assert f"| `{name}` |" in body, f"docs/inbox.md does not document `{name}`"
