"""The libyaml path (``yaml_plain``) and ruamel's positioned path read a file the same way.

``read_yaml`` takes the data from libyaml when it can, and builds ruamel's tree only when a
position is asked for; ``libyaml=False`` reads with ruamel alone, as before. Whatever the file,
the two must give the same data, the same problems (message, file:line:column) and the same
position for every value; and the libyaml path must really be the one taken for plain files.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cm_toolkit.workspace.loader import read_workspace
from cm_toolkit.workspace.yaml_plain import LIBYAML, plain_data
from cm_toolkit.workspace.yaml_source import (
    _UNREAD,
    PathElement,
    YamlDocument,
    _WorkspaceConstructor,
    read_yaml,
    to_plain,
)
from tests.workspace.conftest import FIXTURE, NOW
from tests.workspace.test_fuzz import broken_file

pytestmark = pytest.mark.skipif(not LIBYAML, reason="PyYAML without its libyaml extension")

SCHEDULES = (FIXTURE / "schedules.yaml").read_text(encoding="utf-8")


def _paths(data: Any, path: tuple[PathElement, ...] = ()) -> list[tuple[PathElement, ...]]:
    found = [path]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*path, index))
    return found


def _positions(document: YamlDocument) -> list[Any]:
    return [(path, document.position(path), document.position(path, key=True))
            for path in _paths(document.data)]


def _both_ways(path: Path) -> tuple[Any, Any]:
    fast, fast_problems = read_yaml(path, "f.yaml")
    slow, slow_problems = read_yaml(path, "f.yaml", libyaml=False)
    assert [str(p) for p in fast_problems] == [str(p) for p in slow_problems]
    assert (fast is None) == (slow is None)
    if fast is not None and slow is not None:
        assert fast.data == slow.data
        assert [type(v) for v in _walk(fast.data)] == [type(v) for v in _walk(slow.data)]
        assert _positions(fast) == _positions(slow)
    return fast, slow


def _walk(data: Any) -> list[Any]:
    if isinstance(data, dict):
        return [data] + [x for k, v in data.items() for x in [k, *_walk(v)]]
    if isinstance(data, list):
        return [data] + [x for v in data for x in _walk(v)]
    return [data]


def _problems(root: Path, libyaml: bool) -> list[str]:
    found = read_workspace(root, now=NOW, settings_lookup=None, libyaml=libyaml).problems
    return [str(p) for p in found]


# (what is broken, text replaced in the fixture's schedules.yaml, replacement)
BROKEN = [
    ("wrong type", "timezone: Europe/Paris", "timezone: [Europe/Paris]"),
    ("unknown key", "timezone: Europe/Paris", "timezone: Europe/Paris\ntimezon: UTC"),
    ("bad time zone", "timezone: Europe/Paris", "timezone: Europe/Pariss"),
    ("duplicate key", "timezone: Europe/Paris", "timezone: Europe/Paris\ntimezone: UTC"),
    ("syntax error", "timezone: Europe/Paris", "timezone: [Europe/Paris"),
    ("tab indent", "timezone: Europe/Paris", "timezone:\n\tEurope/Paris"),
    ("a tab inside a key", "timezone: Europe/Paris", "time\tzone: Europe/Paris"),
    ("CR LF line ends", SCHEDULES, SCHEDULES.replace("\n", "\r\n") + "x: |\r\n  a\r\n"),
    ("alias and merge key", "timezone: Europe/Paris",
     "timezone: Europe/Paris\nx-base: &base {a: 1}\nx-use: {<<: *base, b: 2}"),
    ("explicit tags", "timezone: Europe/Paris", "timezone: !!str Europe/Paris\nx: !odd 3"),
    ("two documents", "timezone: Europe/Paris", "timezone: Europe/Paris\n---\nx: 1"),
    ("YAML 1.1 directive", "timezone: Europe/Paris", "%YAML 1.1\n---\ntimezone: Europe/Paris"),
    ("YAML 1.1 words", "timezone: Europe/Paris", "timezone: yes\nx: [on, off, 0777, 1:30]"),
    ("numbers of all forms", "timezone: Europe/Paris",
     "timezone: 0o17\nx: [0x1F, 1_000, 1e3, .inf, -.5, +12, 0b101, 017, ~, null, TRUE]"),
    ("a NEL line break", "timezone: Europe/Paris", "timezone: Europe/Paris\nx: a\x85b"),
    ("empty values", "timezone: Europe/Paris", "timezone:\nx:\ny: ''"),
    ("block scalars", "timezone: Europe/Paris",
     "timezone: |\n  Europe/Paris\n  more\nx: >-\n  folded\n  text\n\ny: |+\n  kept\n\n"),
    ("a date where text is due", "timezone: Europe/Paris", "timezone: 2027-02-30"),
    ("a pasted token", "timezone: Europe/Paris",
     "timezone: Europe/Paris\nvariables2: {k: EAAb1Cb1Cb1Cb1Cb1Cb1Cb1Cb1Cb1C}"),
    ("a secret in a comment", "timezone: Europe/Paris",
     "timezone: Europe/Paris  # EAAb1Cb1Cb1Cb1Cb1Cb1Cb1Cb1Cb1C"),
    ("a mapping as a key", "timezone: Europe/Paris", "timezone: Europe/Paris\n? [a, b]\n: c"),
    ("not a mapping", SCHEDULES, "- just\n- a list\n"),
    ("empty file", SCHEDULES, ""),
    ("only a comment", SCHEDULES, "# nothing\n"),
    ("an unknown template", "        template: teaser\n        channels: [x-mooc]",
     "        template: teasr\n        channels: [x-mooc]"),
    ("a date that does not exist", "at: 2027-02-08 10:00", "at: \"2027-02-30 10:00\""),
    ("a post without channels", "        channels: [linkedin-page]\n", ""),
    ("quoted strings", "timezone: Europe/Paris",
     "timezone: \"Europe/\\u0050aris\"\nx: 'it''s'\ny: \"a\\\nb\"\nz: \"\\/\""),
]


@pytest.mark.parametrize(("what", "old", "new"), BROKEN, ids=[case[0] for case in BROKEN])
def test_a_broken_workspace_gives_the_same_problems_both_ways(
    what: str, old: str, new: str, tmp_path: Path
) -> None:
    root = tmp_path / "ws"
    shutil.copytree(FIXTURE, root)
    assert old in SCHEDULES
    (root / "schedules.yaml").write_text(SCHEDULES.replace(old, new, 1), encoding="utf-8")
    fast = _problems(root, libyaml=True)
    assert fast, f"{what}: the case is meant to be broken"
    assert fast == _problems(root, libyaml=False)
    _both_ways(root / "schedules.yaml")


def test_the_cases_above_are_broken_and_placed() -> None:
    """So that the comparison above compares problems, not two empty lists."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "ws"
        shutil.copytree(FIXTURE, root)
        (root / "schedules.yaml").write_text(
            SCHEDULES.replace("timezone: Europe/Paris", "timezone: [Europe/Paris]\ntimezon: 1"),
            encoding="utf-8")
        found = _problems(root, libyaml=True)
    line = SCHEDULES.splitlines().index("timezone: Europe/Paris") + 1
    assert f"schedules.yaml:{line}:11: `timezone` must be text (got a list)" in found[0]
    assert found[1].startswith(f"schedules.yaml:{line + 1}:1: unknown key `timezon`")


def test_positions_come_from_libyaml_without_ruamel_s_tree(tmp_path: Path) -> None:
    """Placing a problem in a file libyaml read does not build ruamel's tree (80 s and 1.8 GiB
    for 100,000 posts): libyaml's marks give the same positions (compared above)."""
    path = tmp_path / "schedules.yaml"
    path.write_text(SCHEDULES, encoding="utf-8")
    document, _ = read_yaml(path, "schedules.yaml")
    assert document is not None
    post = ("campaigns", 0, "posts", 0)
    line = SCHEDULES.splitlines().index("      - id: teaser") + 1
    assert document.position(post) == (line, 9)
    assert document.position((*post, "template")) == (line + 1, 19)
    assert document.position((*post, "template"), key=True) == (line + 1, 9)
    assert len(_positions(document)) > 50
    assert document.parsed_tree is _UNREAD


def test_an_empty_value_is_placed_by_ruamel_s_tree(tmp_path: Path) -> None:
    """libyaml's events cannot tell where ruamel places an empty value: ruamel is asked."""
    path = tmp_path / "f.yaml"
    path.write_text("a: 1\nb:\nc: # note\nd: 2\n", encoding="utf-8")
    document, _ = read_yaml(path, "f.yaml")
    assert document is not None
    assert document.position(("d",)) == (4, 4)
    assert document.parsed_tree is _UNREAD
    assert document.position(("b",)) == (3, 1)
    assert document.parsed_tree is not _UNREAD


def test_the_valid_files_are_read_by_libyaml_with_the_same_data() -> None:
    for path in [FIXTURE / "schedules.yaml", *sorted((FIXTURE / "channels").glob("*.yaml"))]:
        text = path.read_text(encoding="utf-8")
        read, data = plain_data(text, _WorkspaceConstructor, to_plain)
        assert read, path
        _, slow = _both_ways(path)
        assert data == slow.data


@pytest.mark.parametrize(
    "text",
    [
        "a: &x [1]\nb: *x\n",  # an alias: ruamel expands it, under its bomb guard
        "a: {b: 1}\n<<: {c: 2}\n",  # a merge key
        "a: 1\na: 2\n",  # a duplicate key: ruamel's error
        "a: !!str 1\n",  # a tag
        "a: 1\n---\nb: 2\n",  # two documents
        "%YAML 1.1\n---\na: yes\n",  # YAML 1.1 rules
        "a: b\u2028c\n",  # a line break for libyaml only
        "v\tersion: 1\n",  # a key for libyaml, an error for ruamel
        "a: [1\n",  # a syntax error: ruamel's message
        "",  # no document
        "a: =\n",  # the "value" tag
    ],
)
def test_what_libyaml_leaves_to_ruamel(text: str) -> None:
    assert plain_data(text, _WorkspaceConstructor, to_plain) == (False, None)


def test_plain_scalars_take_ruamel_s_yaml_1_2_types() -> None:
    text = "a: [yes, no, on, 0o17, 017, 0x1F, 1_000, 1.5, .nan, true, False, ~, '', 12:30]\n" \
           "b: 2027-01-04\nc: 2027-01-04 07:00:00\nd: post-1\ne:\n"
    read, data = plain_data(text, _WorkspaceConstructor, to_plain)
    assert read
    a = data["a"]
    assert a[:8] == ["yes", "no", "on", 15, 17, 31, 1000, 1.5]
    assert a[8] != a[8]  # nan
    assert a[9:] == [True, False, None, "", "12:30"]
    assert data["b"] == "2027-01-04" and data["c"] == "2027-01-04 07:00:00"  # dates stay text
    assert data["d"] == "post-1" and data["e"] is None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(broken=broken_file())
def test_any_broken_file_reads_the_same_both_ways(broken: tuple[str, bytes]) -> None:
    target, content = broken
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "ws"
        shutil.copytree(FIXTURE, root)
        (root / target).write_bytes(content)
        _both_ways(root / target)
        assert _problems(root, libyaml=True) == _problems(root, libyaml=False)


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6),
    st.floats(allow_nan=False, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["yes", "0o17", "017", "1_0", "1:30", "2027-01-04", "~", "null", "-", ".5",
                     "#x", "a: b", "- a", "'q'", '"d"', "x\ny", " lead", "trail ", "é€日😀",
                     "a\tb", "a\r\nb", "\\", "a  b\n\n c"]),
)
documents = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(data=documents, style=st.sampled_from([None, True, False]), width=st.sampled_from([20, 80]))
def test_any_written_data_reads_the_same_both_ways(data: Any, style: bool | None,
                                                   width: int) -> None:
    """Data written by ruamel in block, flow or mixed style, with long lines folded."""
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.default_flow_style = style
    yaml.width = width
    stream = io.StringIO()
    yaml.dump({"root": data}, stream)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "f.yaml"
        path.write_text(stream.getvalue(), encoding="utf-8")
        _both_ways(path)  # (ruamel writes a few keys, ':0', that it cannot read back)
