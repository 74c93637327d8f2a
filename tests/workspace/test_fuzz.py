"""Property: whatever a user does to their files, ``cm check`` answers with 0, 1 or 2, never a
traceback. Broken workspaces are random mutations of the valid fixture: keys deleted or renamed,
values of the wrong type, YAML garbled at the text level, or plain random bytes."""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from cm_toolkit.cli import main
from tests.workspace.conftest import FIXTURE

TARGETS = ["schedules.yaml"] * 4 + ["channels/x-mooc.yaml", "channels/youtube.yaml"]

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10**12),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(
        [
            "7d",
            "1h30m",
            "0 18 * * thu",
            "2027-01-14 18:00",
            "x-mooc",
            "teaser",
            "youtube",
            "EAA" + "b1C" * 9,
        ]
    ),
    st.lists(st.text(max_size=8), max_size=3),
    st.dictionaries(st.text(max_size=6), st.integers(), max_size=2),
    st.dates(),
    st.datetimes(),
)


def _load(text: str) -> Any:
    return YAML(typ="safe").load(text)


def _dump(data: Any) -> str:
    stream = io.StringIO()
    YAML(typ="safe").dump(data, stream)
    return stream.getvalue()


def _mutate_data(data: Any, draw: st.DrawFn) -> Any:
    """Walk to a random node and delete, rename or retype something there."""
    node = data
    while True:
        if isinstance(node, dict) and node:
            key = draw(st.sampled_from(sorted(node, key=str)))
            child = node[key]
            if isinstance(child, (dict, list)) and child and draw(st.booleans()):
                node = child
                continue
            action = draw(st.sampled_from(["delete", "rename", "retype"]))
            if action == "delete":
                del node[key]
            elif action == "rename":
                node[draw(st.text(min_size=1, max_size=12))] = node.pop(key)
            else:
                node[key] = draw(values)
            return data
        if isinstance(node, list) and node:
            index = draw(st.integers(0, len(node) - 1))
            if isinstance(node[index], (dict, list)) and node[index] and draw(st.booleans()):
                node = node[index]
                continue
            node[index] = draw(values)
            return data
        return draw(values)


def _mutate_text(text: str, draw: st.DrawFn) -> str:
    action = draw(st.sampled_from(["drop-line", "insert", "truncate", "indent"]))
    lines = text.splitlines(keepends=True)
    if action == "drop-line" and lines:
        del lines[draw(st.integers(0, len(lines) - 1))]
        return "".join(lines)
    if action == "indent" and lines:
        index = draw(st.integers(0, len(lines) - 1))
        lines[index] = draw(st.sampled_from([" ", "\t", "   - "])) + lines[index]
        return "".join(lines)
    position = draw(st.integers(0, len(text)))
    if action == "truncate":
        return text[:position]
    junk = draw(st.text(alphabet=":-[]{}'\"#&*!|>%@` \n\t\\\x00é", min_size=1, max_size=5))
    return text[:position] + junk + text[position:]


@st.composite
def broken_file(draw: st.DrawFn) -> tuple[str, bytes]:
    target = draw(st.sampled_from(TARGETS))
    text = (FIXTURE / target).read_text(encoding="utf-8")
    kind = draw(st.sampled_from(["data", "data", "data", "text", "text", "bytes"]))
    if kind == "bytes":
        return target, draw(st.binary(max_size=200))
    if kind == "text":
        return target, _mutate_text(text, draw).encode("utf-8")
    mutated = _mutate_data(_load(text), draw)
    return target, _dump(mutated).encode("utf-8")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(broken=broken_file(), as_json=st.booleans())
def test_cm_check_never_crashes(broken: tuple[str, bytes], as_json: bool) -> None:
    target, content = broken
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "ws"
        shutil.copytree(FIXTURE, root)
        (root / target).write_bytes(content)
        out, err = io.StringIO(), io.StringIO()
        args = ["check", "--workspace", str(root)] + (["--json"] if as_json else [])
        # Any exception other than CmError escapes main() and fails the test here.
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(args)
    assert code in (0, 1, 2)
    assert "Traceback" not in out.getvalue() + err.getvalue()
    if code == 1:
        assert out.getvalue().strip(), "exit 1 must come with the problems"
