"""``cm sessions``: each live session of the workspace, its hosts, their links and states.

A command of its own rather than a ``cm status`` section: it starts from the workspace (a
session not applied yet is listed too, with when it will be created) and reads the ledger only
when there is one (it never creates one), while ``cm status`` is a view of the ledger alone.
"""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.table import Table
from rich.text import Text

from cm_toolkit.cli import DatabaseOption, JsonOption, WorkspaceOption, app, console
from cm_toolkit.cli.live_links import has_ledger
from cm_toolkit.ledger.states import DeliveryState
from cm_toolkit.planning import DeliveryKind, plan_workspace
from cm_toolkit.workspace.loader import load_workspace


def _ledger_facts(root: Path, database_url: str | None, session_ids: list[str]) -> dict[str, Any]:
    """{"links", "setups", "announcements"} per session from the ledger; empty without one."""
    facts: dict[str, Any] = {"links": {}, "setups": {}, "announcements": {}}
    if not has_ledger(root, database_url):
        return facts
    from cm_toolkit.ledger.engine import LedgerAccess, open_ledger
    from cm_toolkit.scheduler.live import LiveSessions

    with closing(open_ledger(database_url, root, LedgerAccess.READ)) as ledger:
        live = LiveSessions(ledger)
        facts["links"] = live.all_links()
        for session_id in session_ids:
            facts["setups"][session_id] = live.setup_states(session_id)
            facts["announcements"][session_id] = live.announcement_states(session_id)
    return facts


@app.command("sessions")
def sessions_command(
    workspace: WorkspaceOption = Path("."),
    database_url: DatabaseOption = None,
    json_output: JsonOption = False,
) -> None:
    """Each live session: its hosts (YouTube, Meet), their links once created, and the state of
    its creation and of its reminders. cm preview SESSION/live shows what will be created."""
    loaded, _warnings = load_workspace(workspace)
    tz = ZoneInfo(loaded.schedules.timezone)
    plan = plan_workspace(loaded)
    setups = {(d.session_id, d.channel_id): d for d in plan.deliveries
              if d.kind is DeliveryKind.LIVE_SETUP}
    facts = _ledger_facts(loaded.root, database_url, [s.id for s in plan.sessions])
    listed: list[dict[str, Any]] = []
    for session in sorted(plan.sessions, key=lambda s: s.start):
        links = facts["links"].get(session.id, {})
        states = facts["setups"].get(session.id, {})
        hosts = []
        for host in session.hosts:
            setup = setups.get((session.id, host.channel_id))
            state = states.get(host.channel_id)
            hosts.append({
                "channel": host.channel_id, "network": host.network,
                "state": state.value if state is not None else "not applied",
                "creation_due": setup.due_at.astimezone(tz).isoformat() if setup else None,
                "link": links.get(host.network) if state is DeliveryState.PUBLISHED
                else None,
            })
        reminders = facts["announcements"].get(session.id, {})
        listed.append({
            "session": session.id, "title": session.title,
            "start": session.start.astimezone(tz).isoformat(),
            "end": (session.start + session.duration).astimezone(tz).isoformat(),
            "hosts": hosts,
            "reminders": {state.value: count for state, count in sorted(
                reminders.items(), key=lambda item: list(DeliveryState).index(item[0]))},
        })
    if json_output:
        console.file.write(json.dumps({"sessions": listed}, indent=2, ensure_ascii=False) + "\n")
        return
    if not listed:
        console.print("no live session in schedules.yaml")
        return
    table = Table(title=f"Live sessions ({tz.key})", title_justify="left")
    for name in ("session", "start", "host", "state", "link"):
        table.add_column(name, overflow="fold", no_wrap=name in ("session", "start"))
    for item in listed:
        table.add_row(item["session"], item["start"][:16].replace("T", " "), "", "",
                      Text(item["title"], style="bold"))
        for host in item["hosts"]:
            creation = (host["creation_due"] or "")[:16].replace("T", " ")
            link = host["link"] or (f"to be created at {creation}" if creation else "")
            table.add_row("", "", host["channel"], host["state"], Text(link))
        reminders = ", ".join(f"{count} {state}" for state, count in item["reminders"].items())
        table.add_row("", "", "reminders", reminders or "not applied", "")
        table.add_section()
    console.print(table)
    if database_url is None and not has_ledger(loaded.root, None):
        console.print(_no_ledger_note(loaded.root), highlight=False)


def _no_ledger_note(root: Path) -> str:
    """Every state reads "not applied" without a ledger: say why, and where the demo's is
    (after `make demo`, the season a new user has just watched is there)."""
    note = "No ledger yet (.cm/cm.db): the states are the workspace's until `cm apply`"
    demo = root / ".cm" / "demo" / "cm.db"
    if demo.is_file():  # no full stop after the URL: it would be copied with it
        return f"{note}; to see the last `cm demo`'s season, add --database-url " \
               f"sqlite:///{demo.absolute()}"
    return note + "."
