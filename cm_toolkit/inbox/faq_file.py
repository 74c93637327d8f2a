"""Reading ``faq.yaml`` (the workspace's FAQ): its models and its problems at ``file:line``.

The file (documented in docs/inbox.md, "The FAQ")::

    version: 1
    synonyms:                      # optional: words that mean the same, across languages
      - [attestation, certificat, certificate]
    entries:
      - id: certificat
        title: {fr: Attestation de suivi, en: Certificate}
        questions:                 # example phrasings, used for matching
          fr: ["Comment obtenir l'attestation ?"]
          en: ["How do I get the certificate?"]
        keywords: [attestation, badge]
        answer:                    # a text per language (Jinja2), or one text for all
          fr: "Bonjour ! L'attestation ... {{ course_url }}"
          en: "Hi! The certificate ..."
        variants:                  # optional, per network: same shape as answer
          x: {fr: "...", en: "..."}
        # or, instead of answer/variants: template: faq-certificat
        #   -> templates/faq-certificat.j2, .x.j2 ... and faq-certificat.en.j2 for English
        auto: true                 # may answer by itself when the score >= threshold
        threshold: 0.6

Every problem is one ``Problem`` placed in the file by ``YamlDocument.position``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from ruamel.yaml.scalarstring import LiteralScalarString

from cm_toolkit.errors import Problem
from cm_toolkit.workspace.model_problems import problems_from_validation
from cm_toolkit.workspace.networks import known_networks
from cm_toolkit.workspace.paths import WorkspacePaths
from cm_toolkit.workspace.yaml_source import PathElement, YamlDocument, read_yaml

FAQ_FILE = "faq.yaml"
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
LANGUAGE_PATTERN = re.compile(r"^[a-z]{2,3}$")

Texts = str | dict[str, str]
"""One text for every language, or one per language code (``fr``, ``en``)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FaqEntryModel(_Strict):
    id: str = Field(description="Lowercase id: letters, digits, - and _.")
    title: Texts = Field(description="Short title, per language.")
    questions: dict[str, list[str]] | list[str] = Field(
        default_factory=list, description="Example phrasings per language, used for matching."
    )
    keywords: list[str] = Field(default_factory=list, description="Words that point here.")
    answer: Texts | None = Field(default=None, description="The answer (Jinja2), per language.")
    variants: dict[str, Texts] = Field(
        default_factory=dict, description="Per-network answers (facebook, x, ...)."
    )
    template: str | None = Field(default=None, description="A template under templates/.")
    variables: dict[str, Any] = Field(default_factory=dict, description="Extra variables.")
    auto: bool = Field(default=False, description="May answer by itself above its threshold.")
    threshold: float = Field(default=0.6, ge=0.0, le=1.0, description="Score needed for auto.")

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not ID_PATTERN.match(value):
            raise ValueError("must be lowercase letters, digits, - and _ (at most 64)")
        return value

    @field_validator("variants")
    @classmethod
    def _networks(cls, value: dict[str, Texts]) -> dict[str, Texts]:
        for key in value:
            if key not in known_networks():
                raise ValueError(f"unknown network {key!r}: use one of {', '.join(known_networks())}")
        return value


class FaqFileModel(_Strict):
    version: int = Field(default=1, description="Format version: 1.")
    synonyms: list[list[str]] = Field(
        default_factory=list, description="Groups of words that mean the same."
    )
    entries: list[FaqEntryModel] = Field(default_factory=list, description="The FAQ's entries.")


@dataclass(frozen=True)
class AnswerSource:
    """Where one answer text is in faq.yaml: its first line of text (for template errors)."""

    text: str
    line: int


@dataclass(frozen=True)
class FaqFile:
    """A valid faq.yaml: its model and where each inline answer text starts."""

    model: FaqFileModel
    # (entry id, network or "" for the default, language or "" for all) -> source
    answers: dict[tuple[str, str, str], AnswerSource]
    lines: dict[str, int]  # entry id -> the line of its `id:`


def _describe(data: Any, path: Sequence[PathElement]) -> tuple[str, int]:
    if len(path) >= 2 and path[0] == "entries" and isinstance(path[1], int):
        entries = data.get("entries") if isinstance(data, dict) else None
        if isinstance(entries, list) and 0 <= path[1] < len(entries):
            entry = entries[path[1]]
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                return f'FAQ entry "{entry["id"]}"', 2
        return f"FAQ entry #{path[1] + 1}", 2
    return "", 0


def read_faq_file(
    root: Path, allowed_paths: tuple[str, ...] = ()
) -> tuple[FaqFile | None, list[Problem]]:
    """Parse and validate ``root/faq.yaml``. No file: (None, []). Problems are never raised.

    A faq.yaml that is a link leading outside the workspace (and its ``allowed_paths``) is
    refused unread: its answers would be published."""
    path = root / FAQ_FILE
    if not path.exists():
        return None, []
    refused = WorkspacePaths.of(root, allowed_paths).refusal(path, FAQ_FILE)
    if refused is not None:
        return None, [refused]
    document, problems = read_yaml(path, FAQ_FILE)
    if document is None:
        return None, problems
    data = document.data if document.data is not None else {}
    if not isinstance(data, dict):
        line, column = document.position(())
        return None, [Problem(FAQ_FILE, line, column, "must be a mapping with `entries:`",
                              "start the file with `version: 1` and `entries:` (docs/inbox.md)")]
    try:
        model = FaqFileModel.model_validate(data)
    except ValidationError as exc:
        return None, problems_from_validation(exc, document, FaqFileModel, _describe)
    problems = _check_entries(model, document)
    if problems:
        return None, problems
    lines = {
        entry.id: document.position(("entries", index, "id"))[0] or 1
        for index, entry in enumerate(model.entries)
    }
    return FaqFile(model, _answer_sources(model, document), lines), []


def _check_entries(model: FaqFileModel, document: YamlDocument) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, int] = {}

    def at(index: int, *keys: PathElement, key: bool = False) -> tuple[int | None, int | None]:
        return document.position(("entries", index, *keys), key=key)

    for index, entry in enumerate(model.entries):
        name = f'FAQ entry "{entry.id}"'
        if entry.id in seen:
            line, column = at(index, "id")
            problems.append(Problem(FAQ_FILE, line, column,
                                    f"{name} is declared twice (first at line {seen[entry.id]})",
                                    "give each entry its own id"))
        else:
            seen[entry.id] = at(index, "id")[0] or 0
        if (entry.answer is None) == (entry.template is None):
            line, column = at(index)
            what = "has both `answer:` and `template:`" if entry.answer else "has no answer"
            problems.append(Problem(FAQ_FILE, line, column, f"{name} {what}",
                                    "give it either `answer:` (text) or `template:` (a template "
                                    "under templates/)"))
        if entry.template is not None and entry.variants:
            line, column = at(index, "variants", key=True)
            problems.append(Problem(FAQ_FILE, line, column,
                                    f"{name}: `variants:` go with `answer:`, not `template:`",
                                    f"write per-network files instead "
                                    f"(templates/{entry.template}.x.j2 ...)"))
        if not entry.questions and not entry.keywords:
            line, column = at(index)
            problems.append(Problem(FAQ_FILE, line, column,
                                    f"{name} has no `questions:` nor `keywords:` to be found by",
                                    "add a few example questions as learners would write them"))
        for field, value in (("title", entry.title), ("answer", entry.answer),
                             ("questions", entry.questions)):
            if isinstance(value, dict):
                for language in value:
                    if not LANGUAGE_PATTERN.match(language):
                        line, column = at(index, field, language, key=True)
                        problems.append(Problem(
                            FAQ_FILE, line, column,
                            f"{name}: {field} key {language!r} is not a language code",
                            "use language codes like fr, en"))
    return problems


def _answer_sources(
    model: FaqFileModel, document: YamlDocument
) -> dict[tuple[str, str, str], AnswerSource]:
    sources: dict[tuple[str, str, str], AnswerSource] = {}

    def add(entry_id: str, network: str, texts: Texts, path: tuple[PathElement, ...]) -> None:
        items = texts.items() if isinstance(texts, dict) else [("", texts)]
        for language, text in items:
            where = (*path, language) if language else path
            sources[(entry_id, network, language)] = AnswerSource(
                text, _first_text_line(document, where)
            )

    for index, entry in enumerate(model.entries):
        if entry.answer is not None:
            add(entry.id, "", entry.answer, ("entries", index, "answer"))
        for network, texts in entry.variants.items():
            add(entry.id, network, texts, ("entries", index, "variants", network))
    return sources


def _first_text_line(document: YamlDocument, path: tuple[PathElement, ...]) -> int:
    """The file line of a text value's first line (a ``|`` block starts on the next line)."""
    line = document.position(path)[0] or 1
    node = document.tree
    for element in path:
        try:
            node = node[element]
        except (KeyError, IndexError, TypeError):
            return line
    return line + 1 if isinstance(node, LiteralScalarString) or _is_folded(node) else line


def _is_folded(node: Any) -> bool:
    from ruamel.yaml.scalarstring import FoldedScalarString

    return isinstance(node, FoldedScalarString)
