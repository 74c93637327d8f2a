"""docs/templates.md documents every filter, every template name and every option."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from cm_toolkit.templates.context import RESERVED_NAMES
from cm_toolkit.templates.filters import CUSTOM_FILTERS, FilterSettings, make_filters
from cm_toolkit.templates.front_matter import OPTION_KEYS
from cm_toolkit.workspace.models import UtmDefaults

from .conftest import REPO_ROOT

DOC = (REPO_ROOT / "docs" / "templates.md").read_text(encoding="utf-8")


def test_the_filter_list_is_the_registered_one() -> None:
    registered = make_filters(FilterSettings("fr", ZoneInfo("Europe/Paris"), UtmDefaults()))
    assert sorted(registered) == sorted(CUSTOM_FILTERS)


@pytest.mark.parametrize("name", CUSTOM_FILTERS)
def test_every_filter_is_documented_with_an_example(name: str) -> None:
    assert f"| `{name}` |" in DOC
    assert f"\\| {name}" in DOC  # used in an example


@pytest.mark.parametrize("name", RESERVED_NAMES)
def test_every_template_name_is_documented(name: str) -> None:
    assert f"`{name}`" in DOC


@pytest.mark.parametrize("key", OPTION_KEYS)
def test_every_option_is_documented(key: str) -> None:
    assert f"| `{key}` |" in DOC
