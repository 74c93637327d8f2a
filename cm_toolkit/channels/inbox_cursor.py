"""An inbox adapter's cursor: JSON the adapter wrote, read back or refused in one line.

Each adapter keeps where a read stopped as a JSON object of its own shape (docs of each
``inbox`` module); a cursor that is not one (edited by hand, written by another version) is a
``Rejected`` with the fix, never a traceback.
"""

from __future__ import annotations

import json
from typing import Any

from cm_toolkit.errors import Rejected


def read_cursor(cursor: str | None, network: str, display_name: str, *,
                empty: dict[str, Any] | None = None, mapping: str | None = None,
                ) -> dict[str, Any]:
    """The cursor as a dict (``empty``, copied, when there is none yet); ``mapping``: a key
    whose value must be an object."""
    if not cursor:
        return dict(empty or {})
    try:
        data = json.loads(cursor)
    except ValueError:
        data = None
    if not isinstance(data, dict) or (mapping and not isinstance(data.get(mapping), dict)):
        raise Rejected(f"the {display_name} inbox cursor is not one this adapter wrote",
                       network=network,
                       fix="reset the channel's inbox cursor (cm inbox sync reads from the "
                       "start again)")
    return data
