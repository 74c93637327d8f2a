"""``cm preview POST``: what each network will receive for one post, and every problem with it.

POST is a post id of schedules.yaml, a live session id (its announcements), an announcement
key (``live-1/announce/0``) or a session's setup (``live-1/live``: the broadcast or calendar event
each host will create, as its adapter's ``schedule_live`` sends it). ``--at`` picks the occurrence of a recurring post: its number
(``3``) or a date-time (the first occurrence at or after it); default: the next one from now,
else the first. Exit code 1 when a shown delivery has an error (a template error, a text over the
limit, a missing media file), so that scripts and CI can rely on it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from cm_toolkit.cli import DatabaseOption, JsonOption, WorkspaceOption, app, console
from cm_toolkit.cli.live_links import created_session_links
from cm_toolkit.errors import Severity, UsageError
from cm_toolkit.planning import DeliveryKind, Plan, PlannedDelivery, plan_workspace
from cm_toolkit.templates.delivery import renderer_for
from cm_toolkit.templates.failures import did_you_mean
from cm_toolkit.templates.preview import DeliveryPreview, preview_delivery

if TYPE_CHECKING:
    from cm_toolkit.scheduler.live_preview import LiveSetupPreview
from cm_toolkit.workspace.loader import load_workspace
from cm_toolkit.workspace.models import Workspace


def _matches(delivery: PlannedDelivery, wanted: str) -> bool:
    if delivery.kind is DeliveryKind.LIVE_SETUP:
        return False
    if wanted in (delivery.post_id, delivery.post_key):
        return True
    return delivery.kind is DeliveryKind.ANNOUNCEMENT and delivery.session_id == wanted


def _known_names(deliveries: Iterable[PlannedDelivery]) -> set[str]:
    names: set[str] = set()
    for d in deliveries:
        if d.kind is DeliveryKind.LIVE_SETUP:
            names.add(d.post_key)
            continue
        names.add(d.post_id or d.post_key)
        if d.session_id and d.kind is DeliveryKind.ANNOUNCEMENT:
            names.add(d.session_id)
    return names


def _pick_occurrence(
    deliveries: list[PlannedDelivery], at: str | None, tz: ZoneInfo, now: datetime
) -> list[PlannedDelivery]:
    """Keep one occurrence per (post, channel): the one ``--at`` names, else the next one."""
    if at is not None and at.strip().isdigit():
        number = int(at)
        chosen = [d for d in deliveries if d.occurrence == number]
        if not chosen:
            last = max(d.occurrence for d in deliveries)
            raise UsageError(f"--at {number}: this post has occurrences 1 to {last}",
                             fix=f"pass a number between 1 and {last}")
        return chosen
    if at is not None:
        try:
            moment = datetime.fromisoformat(at.strip())
        except ValueError:
            raise UsageError(f"--at {at!r} is neither an occurrence number nor a date-time",
                             fix="write --at 3 or --at '2027-03-01 09:00'") from None
        reference = moment if moment.tzinfo else moment.replace(tzinfo=tz)
    else:
        reference = now
    chosen = []
    keys = sorted({(d.post_key, d.channel_id) for d in deliveries})
    for key in keys:
        mine = sorted((d for d in deliveries if (d.post_key, d.channel_id) == key),
                      key=lambda d: d.due_at)
        upcoming = [d for d in mine if d.due_at >= reference]
        if upcoming:
            chosen.append(upcoming[0])
        elif at is not None:
            raise UsageError(f"no occurrence of {key[0]} at or after {at}",
                             fix=f"the last one is {mine[-1].due_at.astimezone(tz):%Y-%m-%d %H:%M}")
        else:
            chosen.append(mine[0])  # all in the past: show the first
    return chosen


def _show(preview: DeliveryPreview) -> None:
    content = preview.content
    title = (f"[bold]{preview.channel_id}[/bold] ({preview.network}) · "
             f"{preview.post_key} #{preview.occurrence} · {preview.due_at:%Y-%m-%d %H:%M %Z}")
    body = Table.grid(padding=(0, 1))
    body.add_column(style="dim", no_wrap=True)
    body.add_column(overflow="fold")
    if content is not None:
        body.add_row("template", content.template_file)
        limit = f" / {preview.limit}" if preview.limit is not None else ""
        over = preview.limit is not None and preview.length > preview.limit
        length = f"{preview.length}{limit} {preview.unit}"
        if preview.thread_parts:
            over = False
            length += f", published as a thread of {len(preview.thread_parts)} parts"
        body.add_row("length", Text(length, style="red" if over else "green"))
        if content.title:
            body.add_row("title", Text(content.title))
        if content.description:
            body.add_row("description", Text(content.description))
        if content.link:
            body.add_row("link", Text(content.link))
        for network, (link, placeholder) in preview.live_links.items():
            note = (" (placeholder of the real form and length: not created yet)"
                    if placeholder else " (created)")
            body.add_row(f"{network} link", Text(link + note, style="yellow" if placeholder
                                                 else ""))
        for media in preview.media:
            state = f"{media.bytes} bytes" if media.exists else "MISSING"
            body.add_row("media", Text(f"{media.path} ({state})",
                                       style="" if media.exists else "red"))
        if preview.posts:
            body.add_row("cost", f"${preview.cost_usd:.3f} ({preview.posts} post(s), "
                                 f"{preview.posts_with_url} with a URL)")
        if preview.thread_parts:
            parts = "\n\n".join(preview.thread_parts)
            body.add_row("text", Text(f"(thread of {len(preview.thread_parts)})\n{parts}"))
        else:
            body.add_row("text", Text(preview.wire_text))
    for problem in preview.problems:
        style = "yellow" if problem.severity is Severity.WARNING else "red"
        body.add_row(Text(problem.severity.value, style=style), Text(str(problem)))
    border = "red" if preview.has_errors else ("yellow" if preview.problems else "green")
    console.print(Panel(body, title=title, title_align="left", border_style=border))


def _show_setup(setup: LiveSetupPreview) -> None:
    title = (f"[bold]{setup.channel_id}[/bold] ({setup.network}) · {setup.session_id}/live · "
             f"created {setup.due_at:%Y-%m-%d %H:%M %Z}")
    body = Table.grid(padding=(0, 1))
    body.add_column(style="dim", no_wrap=True)
    body.add_column(overflow="fold")
    body.add_row("title", Text(setup.title))
    body.add_row("description", Text(setup.description))
    body.add_row("time", f"{setup.start:%Y-%m-%d %H:%M} to {setup.end:%H:%M %Z}")
    if setup.privacy:
        body.add_row("privacy", setup.privacy)
    if setup.link:
        note = " (created)" if setup.created else (" (placeholder of the real form and length: "
                                                   "not created yet)")
        body.add_row("link", Text(setup.link + note))
    if setup.body:
        body.add_row("request", Text(json.dumps(setup.body, indent=2, ensure_ascii=False)))
    for problem in setup.problems:
        body.add_row(Text(problem.severity.value, style="red"), Text(str(problem)))
    border = "red" if setup.problems else "green"
    console.print(Panel(body, title=title, title_align="left", border_style=border))


def _preview_setups(loaded: Workspace, plan: Plan, setups: list[PlannedDelivery],
                    database_url: str | None, json_output: bool, post: str) -> None:
    from cm_toolkit.scheduler.content import WorkspaceView
    from cm_toolkit.scheduler.live_preview import preview_live_setup

    view = WorkspaceView.of(loaded, plan)
    links = created_session_links(loaded.root, database_url)
    previews = [preview_live_setup(view, d, links) for d in setups]
    _emit(post, "live_setups", previews, _show_setup, json_output,
          failed=any(p.problems for p in previews))


def _emit(post: str, key: str, previews: Sequence[Any], show: Callable[[Any], None],
          json_output: bool, *, failed: bool) -> None:
    """Print ``previews`` (JSON under ``key``, else one panel each); exit 1 when ``failed``."""
    if json_output:
        payload = {"post": post, key: [p.as_dict() for p in previews]}
        console.file.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    else:
        for item in previews:
            show(item)
    if failed:
        raise typer.Exit(code=1)


@app.command("preview")
def preview(
    post: Annotated[str, typer.Argument(
        help="Post id, live session id, announcement key, or SESSION/live (what its hosts create)."
    )],
    channel: Annotated[
        str | None, typer.Option("--channel", "-c", help="Only this channel id.")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="Occurrence number (3) or date-time ('2027-03-01 09:00')."),
    ] = None,
    json_output: JsonOption = False,
    workspace: WorkspaceOption = Path("."),
    database_url: DatabaseOption = None,
) -> None:
    """Show what each network will receive for POST: text as sent, length, media, thread, problems.

    A live session's link is the real one once its broadcast or event is created (read from the
    ledger), else a placeholder of the host's own form and length."""
    loaded, _warnings = load_workspace(workspace)
    tz = ZoneInfo(loaded.schedules.timezone)
    plan = plan_workspace(loaded)
    setups = [d for d in plan.deliveries
              if d.kind is DeliveryKind.LIVE_SETUP and d.post_key == post]
    if setups:
        hosts = {d.channel_id for d in setups}
        setups = [d for d in setups if channel in (None, d.channel_id)]
        if not setups:
            raise UsageError(f"{post} is not hosted on channel {channel!r}",
                             fix=did_you_mean(channel or "", hosts))
        _preview_setups(loaded, plan, setups, database_url, json_output, post)
        return
    matching = [d for d in plan.deliveries if _matches(d, post)]
    if not matching:
        raise UsageError(f"no post, announcement or live session named {post!r}",
                         fix=did_you_mean(post, _known_names(plan.deliveries)))
    if channel is not None:
        channels = {d.channel_id for d in matching}
        matching = [d for d in matching if d.channel_id == channel]
        if not matching:
            raise UsageError(f"{post} is not published on channel {channel!r}",
                             fix=did_you_mean(channel, channels))
    chosen = _pick_occurrence(matching, at, tz, datetime.now(UTC))
    renderer = renderer_for(loaded)
    links = created_session_links(loaded.root, database_url) if any(
        d.session_id for d in chosen) else {}
    previews = [preview_delivery(loaded, renderer, d, session_links=links) for d in chosen]
    _emit(post, "deliveries", previews, _show, json_output,
          failed=any(p.has_errors for p in previews))
