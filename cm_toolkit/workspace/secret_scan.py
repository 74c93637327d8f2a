"""Refusing secrets pasted into workspace files.

Workspace files are meant to be shared (a git repository, a team folder), so a token written in
one is a leak. A channel file names where each secret comes from (``{env: NAME}`` or
``{keyring: service/user}``); anything else that looks like a secret is refused: in values, in
YAML comments, in URLs (``https://user:password@host``) and in templates, whose text is
published as is. The problem says where and what kind, and never repeats the value: the output
of ``cm check`` may end up in CI logs. Every pattern is bounded (a megabyte of ``A`` is not an X
token, and is scanned in linear time).
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from cm_toolkit.errors import Problem
from cm_toolkit.workspace.yaml_source import PathElement, YamlDocument

SECRET_FIX = "put it in an environment variable and reference it as {env: NAME}"
_FIX = SECRET_FIX + " (and revoke that secret if the file was ever shared)"

# Keys whose literal value is always a secret (page_token, refresh_token, client_secret...).
_SECRET_KEY = re.compile(
    r"(?:^|[_\-.\s])"
    r"(?:token|secret|password|passwd|api[_\-]?key|apikey|private[_\-]?key|access[_\-]?key)"
    r"s?(?:$|[_\-.\s])",
    re.IGNORECASE,
)
# Token shapes of the networks we talk to; searched anywhere inside a value. Each with what any
# match of it contains (its literal start...), looked for first: a plain ``in`` is far cheaper than
# the expression, and a plan of 100,000 posts has a million values, most of them without any.
_KNOWN_SHAPES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"(?<![A-Za-z0-9])EAA[A-Za-z0-9]{20,}"), "a Facebook access token", "EAA"),
    (re.compile(r"ya29\.[0-9A-Za-z_\-]+"), "a Google access token", "ya29."),
    (re.compile(r"1//0[0-9A-Za-z_\-]{10,}"), "a Google refresh token", "1//0"),
    # 20-odd A's then 20-200 characters holding a lowercase letter and a digit ("%3D"...)
    (re.compile(r"(?<![A-Za-z0-9%])A{20,24}(?=[A-Za-z0-9%]{0,200}?[a-z])"
                r"(?=[A-Za-z0-9%]{0,200}?[0-9])[A-Za-z0-9%]{20,200}"), "an X bearer token",
     "A" * 20),
    (re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{0,20}://[^\s/?#:@]{1,200}:[^\s/?#@]{1,200}@"),
     "a URL with a password (user:password@)", "://"),
    (re.compile(r"(?<![A-Za-z0-9])AQ[A-Za-z0-9_\-]{100,}"), "a LinkedIn access token", "AQ"),
)
_BASE64ISH = re.compile(r"^[A-Za-z0-9+/_\-]{32,}={0,2}$")
_WORD = re.compile(r"[A-Za-z0-9+_\-]{32,}={0,2}")  # a long random-looking word in free text
_COMMENT = re.compile(r"(?:^|\s)#")
_HEX = re.compile(r"^[0-9a-fA-F]{32,}$")


# What every shape above needs, or 32 characters for a random key: a value without any of them is
# no secret.
_NEEDED = tuple(needed for _, _, needed in _KNOWN_SHAPES)
_ANY_NEEDED = re.compile("|".join(re.escape(needed) for needed in _NEEDED))  # one search, not 6


def secret_kind(value: str) -> str | None:
    """What kind of secret ``value`` looks like, or None. Used on every string of the files."""
    if len(value) < 32:
        for needed in _NEEDED:  # a loop, not any(...): no generator for a million values
            if needed in value:
                break
        else:
            return None
    for pattern, kind, needed in _KNOWN_SHAPES:
        if needed in value and pattern.search(value):
            return kind
    text = value.strip()
    if _HEX.match(text):
        if re.search(r"[0-9]", text) and re.search(r"[a-fA-F]", text) and _entropy(text) >= 3.0:
            return "a long random key"
        return None
    if _BASE64ISH.match(text):
        classes = [re.search(p, text) for p in (r"[a-z]", r"[A-Z]", r"[0-9]")]
        # Words joined with dashes (slugs) have lower entropy and rarely mix all three classes.
        if all(classes) and _entropy(text) >= 4.0:
            return "a long random key"
    return None


def text_secret(text: str) -> tuple[str, int] | None:
    """The kind and 0-based column of the first secret in free text (a line, a comment)."""
    for pattern, kind, needed in _KNOWN_SHAPES:
        found = pattern.search(text) if needed in text else None
        if found:
            return kind, found.start()
    for word in _WORD.finditer(text):
        random_kind = secret_kind(word.group())
        if random_kind is not None:
            return random_kind, word.start()
    return None


def find_secrets_in_text(file: str, text: str, *, comments_only: bool,
                         skip_lines: frozenset[int] = frozenset()) -> list[Problem]:
    """Problems for secrets in ``text``: in its ``#`` comments only (YAML, whose values are
    walked as data) or anywhere (a template). One problem per line at most."""
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        if number in skip_lines:
            continue
        start = 0
        if comments_only:
            if "#" not in line:
                continue
            comment = _COMMENT.search(line)
            if comment is None:
                continue
            start = comment.end()
        found = text_secret(line[start:])
        if found is None:
            continue
        kind, column = found
        if comments_only:
            what, fix = f"a comment holds what looks like {kind}", _FIX
        else:
            what = f"the template holds what looks like {kind}: it would be published as is"
            fix = "remove it from the template; secrets belong in environment variables " \
                "(revoke it if the file was ever shared)"
        problems.append(Problem(file, number, start + column + 1, what, fix))
    return problems


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def find_pasted_secrets(
    document: YamlDocument, *, channel_file: bool
) -> tuple[list[Problem], set[tuple[PathElement, ...]]]:
    """Problems for every pasted secret, and their paths (so other checks stay quiet there)."""
    problems: list[Problem] = []
    flagged: set[tuple[PathElement, ...]] = set()

    def refuse(path: tuple[PathElement, ...], what: str) -> None:
        line, column = document.position(path)
        problems.append(Problem(document.file, line, column, what, _FIX))
        flagged.add(path)

    data = document.data
    if channel_file and isinstance(data, dict) and "secrets" in data:
        section = data["secrets"]
        if isinstance(section, dict):
            for name, ref in section.items():
                if _is_literal(ref):
                    refuse(("secrets", name), f"secret `{name}` is written in the file")
        elif _is_literal(section):
            refuse(("secrets",), "`secrets` holds a value written in the file")

    for path, what in _pasted(data, frozenset(flagged)):
        refuse(path, what)
    problems += find_secrets_in_text(
        document.file, document.text, comments_only=True,
        skip_lines=frozenset(p.line for p in problems if p.line is not None))
    return problems, flagged


def is_secret_key(key: Any) -> bool:
    """True for key names that hold secrets (``page_token``, ``clientSecret``, ``api_key``...)."""
    return _is_secret_name(str(key))


@functools.lru_cache(maxsize=4096)  # the same few key names, a million times in a large plan
def _is_secret_name(key: str) -> bool:
    # camelCase -> snake_case, so pageToken is caught like page_token.
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key)
    return bool(_SECRET_KEY.search(snake))


def hide_secrets(
    problems: list[Problem], document: YamlDocument, flagged: set[tuple[PathElement, ...]]
) -> list[Problem]:
    """The problems with every flagged secret value blanked out of their texts.

    Other checks name what they find (an id, a channel, a cron expression); if the user pasted a
    secret there, this keeps it out of the output anyway.
    """
    values = set()
    for path in flagged:
        for _, _, value in _walk(_at(document.data, path), path):
            literal = isinstance(value, (str, int)) and not isinstance(value, bool)
            if literal and len(str(value)) >= 6:
                values.add(str(value))
    if not values:
        return problems
    hidden = []
    for problem in problems:
        message, fix = problem.message, problem.fix
        for value in sorted(values, key=len, reverse=True):
            message = message.replace(value, "<secret hidden>")
            fix = fix.replace(value, "<secret hidden>")
        hidden.append(replace(problem, message=message, fix=fix))
    return hidden


def _at(data: Any, path: tuple[PathElement, ...]) -> Any:
    for part in path:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


def _is_literal(value: Any) -> bool:
    """A value written in the file (not a reference mapping, not empty)."""
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    return isinstance(value, (int, float, list))


def _walk(
    node: Any, path: tuple[PathElement, ...], key: Any = None
) -> Iterator[tuple[tuple[PathElement, ...], Any, Any]]:
    """Every (path, key, value) of the tree, parents first, in file order; ``key`` is the
    nearest mapping key. A stack, not nested generators: each value costs one step, not one per
    level of nesting."""
    stack = [(path, key, node)]
    while stack:
        path, key, node = stack.pop()
        yield path, key, node
        if isinstance(node, dict):
            stack.extend(((*path, child_key), child_key, child)
                         for child_key, child in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend(((*path, index), key, node[index])
                         for index in range(len(node) - 1, -1, -1))




_Children = Iterator[tuple[Any, Any]]


def _pasted(
    data: Any, skipped: frozenset[tuple[PathElement, ...]]
) -> Iterator[tuple[tuple[PathElement, ...], str]]:
    """(path, what) of each value of ``data`` that holds a pasted secret, parents first, in file
    order, with nothing under a path of ``skipped`` or under a value refused.

    What a loop over ``_walk`` would find, without its cost: ``_walk`` makes a path tuple and a
    step for each of the million values of a plan of 100,000 posts, nearly all short strings
    under harmless keys. Here each value is judged where it is met among its parent's children:
    only entering a container, or a secret found, makes a path."""
    if () in skipped:
        return
    names: dict[str, bool] = {}  # is_secret_key of each key name: a few names, a million times

    def secret_name(key: Any) -> bool:
        if type(key) is not str:
            return key is not None and is_secret_key(key)
        known = names.get(key)
        if known is None:
            known = names[key] = is_secret_key(key)
        return known

    what = _judged(None, False, data)
    if what is not None:
        yield (), what
        return
    # The open containers: path, nearest mapping key, a mapping?, what is left of its children.
    stack: list[tuple[tuple[PathElement, ...], Any, bool, _Children]] = []
    if isinstance(data, (dict, list)):
        stack.append(_opened((), None, data))
    while stack:
        path, nearest, is_map, children = stack[-1]
        for element, value in children:
            if skipped and (*path, element) in skipped:
                continue
            key = element if is_map else nearest
            secret = names.get(key) if type(key) is str else None
            if secret is None:
                secret = secret_name(key)
            if isinstance(value, str) and not secret and len(value) < 32 and (
                    _ANY_NEEDED.search(value) is None):
                continue  # what secret_kind answers at once, without the call
            what = _judged(key, secret, value)
            if what is not None:
                yield (*path, element), what
            elif isinstance(value, (dict, list)):
                stack.append(_opened((*path, element), key, value))
                break  # its values come before its next siblings
        else:
            stack.pop()


def _opened(
    path: tuple[PathElement, ...], key: Any, node: dict[Any, Any] | list[Any]
) -> tuple[tuple[PathElement, ...], Any, bool, _Children]:
    if isinstance(node, dict):
        return path, key, True, iter(node.items())
    return path, key, False, enumerate(node)


def _judged(key: Any, secret_name: bool, value: Any) -> str | None:
    """Why ``value`` (under ``key``, whose name is a secret's when ``secret_name``) is refused."""
    if key is not None and secret_name and _is_literal(value):
        return f"`{key}` holds a secret written in the file"
    if isinstance(value, str):
        kind = secret_kind(value)
        if kind is not None:
            name = f"`{key}`" if key is not None else "a value"
            return f"{name} looks like {kind} pasted into the file"
    return None
