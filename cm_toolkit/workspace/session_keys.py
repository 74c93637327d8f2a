"""The ledger keys of a live session's deliveries, shared by the planner and the workspace's
time checks (which warn about passed times by delivery)."""

from __future__ import annotations


def announcement_key(session_id: str, index: int) -> str:
    return f"{session_id}/announce/{index}"
