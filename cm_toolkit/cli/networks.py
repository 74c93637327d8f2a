"""``cm channels --networks``: every installed network, built-in or plugin, with its facts.

What is printed is the adapters' class data (``channels/facts.py``), read through the registry:
the same numbers the plan check, the preview and the scheduler use.
"""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table

from cm_toolkit.channels.registry import NetworkInfo, list_networks
from cm_toolkit.cli import console


def network_rows() -> list[dict[str, Any]]:
    return [_row(info) for info in list_networks()]


def _row(info: NetworkInfo) -> dict[str, Any]:
    row: dict[str, Any] = {"network": info.network, "source": info.source, "adapter": info.target}
    if not info.available:
        row["problem"] = info.problem
        return row
    limits = info.limits
    row.update(
        name=info.display_name,
        capabilities=sorted(capability.value for capability in info.capabilities),
        text_max=limits.text_max if limits else None,
        text_unit=limits.text_unit if limits else None,
        media_max=limits.media_max if limits else None,
        secrets=list(info.secret_names),
        sandbox=bool(info.emulators),
    )
    return row


def print_networks(json_output: bool) -> None:
    rows = network_rows()
    if json_output:
        console.file.write(json.dumps({"networks": rows}, indent=2, ensure_ascii=False) + "\n")
        return
    table = Table(show_lines=False)
    for column in ("network", "name", "source", "capabilities", "text", "media", "sandbox"):
        table.add_column(column, overflow="fold")
    for row in rows:
        if "problem" in row:
            table.add_row(row["network"], "", row["source"], f"UNAVAILABLE: {row['problem']}",
                          "", "", "")
            continue
        text = f"{row['text_max']} {row['text_unit']}" if row["text_max"] else "—"
        table.add_row(row["network"], row["name"] or "", row["source"],
                      ", ".join(row["capabilities"]), text, str(row["media_max"] or 0),
                      "yes" if row["sandbox"] else "no")
    console.print(table, markup=False, highlight=False, emoji=False)
