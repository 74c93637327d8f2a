"""Turning pydantic validation errors into problems a community manager can act on.

A pydantic error has a ``loc`` (``('campaigns', 0, 'posts', 3, 'at')``), a ``type`` and a message
written for developers. Here each becomes ``file:line:column: post "teaser": `at` is not a date and
time ... — fix``: the ``loc`` is mapped back to the YAML position, the context is named the way the
user named it (the post's id), and the fix says what to write.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from cm_toolkit.errors import Problem
from cm_toolkit.workspace.datetimes import DateTimeError
from cm_toolkit.workspace.durations import DurationError
from cm_toolkit.workspace.networks import known_networks
from cm_toolkit.workspace.secret_scan import secret_kind
from cm_toolkit.workspace.suggestions import did_you_mean, one_of
from cm_toolkit.workspace.yaml_source import PathElement, YamlDocument

Describer = Callable[[Any, Sequence[PathElement]], tuple[str, int]]
"""Names the context of a path: returns (``post "teaser"``, how many path elements it used)."""

# What to write for a missing required field (shown in the fix).
FIELD_EXAMPLES = {
    "id": "week-1-teaser",
    "template": "teaser",
    "channels": "[x-mooc, facebook-page]",
    "timezone": "Europe/Paris",
    "start": "2027-01-14 18:00",
    "duration": "1h30m",
    "hosted_on": "[youtube]",
    "title": '"Live Q&A, week 1"',
    "name": '"Season 1"',
    "link": "https://example.org/course",
    "instance": "mastodon.social",
    "handle": "name.bsky.social",
    "language": "fr",
}

_TYPE_WANTED = {
    "string_type": "must be text",
    "list_type": "must be a list, like [a, b]",
    "dict_type": "must be a mapping of `key: value` lines",
    "model_type": "must be a mapping of `key: value` lines",
    "model_attributes_type": "must be a mapping of `key: value` lines",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "set_type": "must be a list",
    "tuple_type": "must be a list",
}


def _network_example() -> dict[str, str]:
    """``network``'s example: a network this installation has (the registry's first)."""
    networks = known_networks()
    return {"network": networks[0]} if networks else {}


def problems_from_validation(
    error: ValidationError,
    document: YamlDocument,
    root_model: type[BaseModel],
    describe: Describer,
    *,
    skip: Iterable[tuple[PathElement, ...]] = (),
    relocate: Callable[[tuple[PathElement, ...]], tuple[PathElement, ...]] | None = None,
    choices: dict[str, Sequence[str]] | None = None,
    examples: Mapping[str, str] | None = None,
) -> list[Problem]:
    """One problem per pydantic error, placed at the YAML position of its ``loc``.

    ``skip`` lists paths already reported (pasted secrets); errors under them are dropped.
    ``relocate`` maps a ``loc`` of ``root_model`` to its path in the file (a model validated on a
    part of the file, like an adapter's settings on ``account``).
    ``choices`` gives, per field name, the allowed values used for "did you mean" (enums).
    ``examples`` replace ``FIELD_EXAMPLES`` where the file's own names fit (its templates and
    channels: a fix never names a template the workspace does not have).
    """
    shown = {**FIELD_EXAMPLES, **_network_example(), **(examples or {})}
    skipped = [tuple(path) for path in skip]
    problems = []
    for item in error.errors(include_url=False, include_input=True):
        model_loc = tuple(_clean_loc(item["loc"]))
        loc = relocate(model_loc) if relocate is not None else model_loc
        if any(loc[: len(path)] == path for path in skipped):
            continue
        allowed = _allowed_keys(root_model, model_loc)
        problems.append(_problem(item, loc, document, allowed, describe, choices or {}, shown))
    return problems


def _allowed_keys(root_model: type[BaseModel], loc: tuple[PathElement, ...]) -> list[str]:
    model = model_at(root_model, loc[:-1])
    return list(model.model_fields) if model is not None else []


def _clean_loc(loc: Sequence[Any]) -> list[PathElement]:
    # "[key]" marks an invalid dict key: the key itself is what to point at.
    return [part for part in loc if part != "[key]" and isinstance(part, (str, int))]


def _problem(
    item: Any,
    loc: tuple[PathElement, ...],
    document: YamlDocument,
    allowed_keys: list[str],
    describe: Describer,
    choices: dict[str, Sequence[str]],
    examples: Mapping[str, str],
) -> Problem:
    kind = item["type"]
    data = document.data
    if kind == "missing":
        parent = loc[:-1]
        context, used = describe(data, parent)
        field = str(loc[-1])
        line, column = document.position(parent)
        owner = _join(context, _field_text(parent[used:]))
        what = f"{owner} has no `{field}:`" if owner else f"`{field}:` is missing"
        example = examples.get(field, "...")
        return Problem(document.file, line, column, what, f"add `{field}: {example}`")

    context, used = describe(data, loc)
    field = _field_text(loc[used:])
    subject = _join(context, field)
    if kind == "extra_forbidden":
        key = str(loc[-1])
        line, column = document.position(loc, key=True)
        parent_context, parent_used = describe(data, loc[:-1])
        inner = _field_text(loc[parent_used:-1])
        where = _join(parent_context, inner)
        fix = did_you_mean(
            key,
            allowed_keys,
            otherwise=f"remove it; the keys allowed here are {one_of(allowed_keys)}",
        )
        return Problem(
            document.file,
            line,
            column,
            f"unknown key `{key}`" + (f" in {where}" if where else ""),
            fix,
        )

    line, column = document.position(loc)
    value = item.get("input")
    if kind == "enum" or (kind == "literal_error" and str(loc[-1]) in choices):
        allowed = list(choices.get(str(loc[-1]), ()))
        fix = did_you_mean(str(value), allowed, otherwise=f"use one of {one_of(allowed)}")
        return Problem(
            document.file,
            line,
            column,
            f"{subject} is {_shown(value)}, which is not one of {one_of(allowed)}",
            fix,
        )
    if kind == "string_too_long":
        limit = item.get("ctx", {}).get("max_length")
        return Problem(
            document.file,
            line,
            column,
            f"{subject} is {len(str(value)):,} characters long, more than the {limit} the "
            "ledger keeps",
            f"shorten it to at most {limit} characters",
        )
    if kind == "literal_error":
        expected = item.get("ctx", {}).get("expected", "")
        return Problem(
            document.file,
            line,
            column,
            f"{subject} must be {expected}",
            f"write `{loc[-1]}: {expected}`",
        )
    if kind == "value_error":
        reason = str(item.get("ctx", {}).get("error", item["msg"]))
        return Problem(
            document.file,
            line,
            column,
            f"{subject} {reason} (got {_shown(value)})",
            _fix_for(loc, value, kind, examples, item.get("ctx", {}).get("error")),
        )
    if kind == "string_pattern_mismatch":
        # the pattern itself (a regular expression) means nothing to the person who wrote it
        return Problem(
            document.file,
            line,
            column,
            f"{subject} is {_shown(value)}, which is not of the form this field takes",
            _fix_for(loc, value, kind, examples),
        )
    wanted = _TYPE_WANTED.get(kind)
    if wanted is None:
        return Problem(
            document.file,
            line,
            column,
            f"{subject} is not valid: {item['msg']}",
            _fix_for(loc, value, kind, examples),
        )
    if value is None:
        return Problem(
            document.file,
            line,
            column,
            f"{subject} is empty",
            f"write a value after `{loc[-1]}:` or remove the line",
        )
    return Problem(
        document.file,
        line,
        column,
        f"{subject} {wanted} (got {_shown(value)})",
        _fix_for(loc, value, kind, examples),
    )


def _fix_for(loc: tuple[PathElement, ...], value: Any, kind: str, examples: Mapping[str, str],
             reason: object = None) -> str:
    """What to write instead: an example of the right shape for this field."""
    field = next((str(p) for p in reversed(loc) if isinstance(p, str)), "value")
    example = examples.get(field)
    if isinstance(reason, DurationError):
        return f"for example `{field}: 1h30m`"
    if isinstance(reason, DateTimeError):
        return f"for example `{field}: 2027-01-14 18:00`"
    if kind == "list_type":
        shown = _shown(value)
        if isinstance(value, str) and shown.startswith('"'):
            return f"write it as a list: `{field}: [{shown.strip(chr(34))}]`"
        return f"for example `{field}: {example or '[a, b]'}`"
    if kind in ("bool_type", "bool_parsing"):
        return f"write `{field}: true` or `{field}: false`"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"write a whole number, e.g. `{field}: 3`"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"write `key: value` lines indented under `{field}:`"
    if example:
        return f"for example `{field}: {example}`"
    if kind == "string_type":
        return f'write text; quote it if it holds ": " or starts with a symbol (`{field}: "..."`)'
    if kind == "string_pattern_mismatch":
        return f"see what `{field}` takes in the channel's page of docs/channels/ (or docs/workspace.md)"
    return "correct the value"


def _join(context: str, field: str) -> str:
    if context and field:
        return f"{context}: {field}"
    return context or field


def _field_text(rest: Sequence[PathElement]) -> str:
    """``('channels', 2)`` -> item 3 of `channels`; ``('variables', 'x')`` -> `variables.x`."""
    names: list[str] = []
    item: int | None = None
    for part in rest:
        if isinstance(part, int):
            item = part
        else:
            names.append(part)
            item = None
    if not names:
        return f"item {item + 1}" if item is not None else ""
    text = f"`{'.'.join(names)}`"
    return f"item {item + 1} of {text}" if item is not None else text


def _shown(value: Any) -> str:
    """The value as quoted in a message; secrets and long values are not repeated."""
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if secret_kind(text) is not None:
        return "a value that looks like a secret"
    if len(text) > 40:
        text = text[:37] + "..."
    return f'"{text}"' if isinstance(value, str) else text


def model_at(root: type[BaseModel], path: Sequence[PathElement]) -> type[BaseModel] | None:
    """The pydantic model that validates the mapping at ``path`` (None when it is not a model)."""
    annotation: Any = root
    for part in path:
        annotation = _strip(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(part) if isinstance(part, str) else None
            if field is None:
                return None
            annotation = field.annotation
        elif get_origin(annotation) is list and isinstance(part, int):
            annotation = get_args(annotation)[0]
        elif get_origin(annotation) is dict:
            annotation = get_args(annotation)[1]
        else:
            return None
    annotation = _strip(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _strip(annotation: Any) -> Any:
    """``Annotated[X, ...]`` -> X; ``X | None`` -> X."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation
