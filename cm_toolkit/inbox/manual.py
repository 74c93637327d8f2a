"""Messages logged by hand, for channels without a reading API (the LinkedIn group).

``cm inbox add CHANNEL --author NAME --text ...`` and ``cm inbox import CSV`` store them as
``MessageKind.MANUAL`` messages. Their remote id is a digest of (channel, author, time, text):
importing the same file twice stores nothing twice, like a sync.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from cm_toolkit.channels.base import Capability, IncomingMessage, MessageKind
from cm_toolkit.channels.registry import channel_class
from cm_toolkit.errors import InboxError, Problem, WorkspaceError
from cm_toolkit.ledger.inbox import Annotation, InboxLedger
from cm_toolkit.workspace.datetimes import localize, parse_datetime
from cm_toolkit.workspace.models import Network, Workspace
from cm_toolkit.workspace.suggestions import did_you_mean, one_of

MANUAL_SOURCE = MessageKind.MANUAL.value  # the inbox source (and cursor name) of logged messages

COLUMNS = ("channel", "author", "text", "at", "thread", "url", "language")
REQUIRED = ("author", "text")


@dataclass(frozen=True)
class ManualEntry:
    channel_id: str
    author: str
    text: str
    at: datetime
    thread: str | None = None
    url: str | None = None
    language: str | None = None


def manual_channel(workspace: Workspace, channel_id: str) -> Network:
    """The network of a channel messages may be logged for by hand (one without a reading
    API); ``InboxError`` otherwise."""
    channel = workspace.channels.get(channel_id)
    if channel is None:
        raise InboxError(f"there is no channel {channel_id!r} in this workspace",
                         fix=did_you_mean(channel_id, workspace.channels,
                                          otherwise=f"channels: {one_of(workspace.channels)}"))
    if Capability.CONVERSATIONS in channel_class(channel.network).capabilities:
        raise InboxError(f"{channel_id} is read by cm inbox sync",
                         fix="log by hand only channels without an API (a LinkedIn group)")
    return channel.network


def incoming(entry: ManualEntry) -> IncomingMessage:
    key = f"{entry.channel_id}\x1f{entry.author}\x1f{entry.at.isoformat()}\x1f{entry.text}"
    digest = hashlib.sha256(key.encode()).hexdigest()
    remote_id = f"manual-{digest[:20]}"
    return IncomingMessage(
        remote_id=remote_id, kind=MessageKind.MANUAL, author_id=entry.author,
        author_name=entry.author, text=entry.text, created_at=entry.at,
        thread_remote_id=entry.thread or remote_id, url=entry.url, language=entry.language,
        source=MANUAL_SOURCE)


def store(inbox: InboxLedger, workspace: Workspace, entries: list[ManualEntry], now: datetime,
          annotate: Callable[[IncomingMessage], Annotation] | None = None) -> list[int]:
    """Store hand-logged messages (grouped per channel); the ids of the new ones."""
    new: list[int] = []
    for channel_id in dict.fromkeys(e.channel_id for e in entries):
        network = manual_channel(workspace, channel_id)
        messages = [incoming(e) for e in entries if e.channel_id == channel_id]
        new += inbox.store_page(channel_id, network, MANUAL_SOURCE, messages, now,
                                store_cursor=False, annotate=annotate).new_ids
    return new


def read_csv(path: Path, workspace: Workspace, default_channel: str | None,
             now: datetime) -> list[ManualEntry]:
    """Rows of a CSV (``author,text`` required; ``channel,at,thread,url,language``
    optional). Every bad row is a problem at file:line; all are reported at once."""
    zone = ZoneInfo(workspace.schedules.timezone)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InboxError(f"cannot read {path}: {exc.strerror}", fix="check the path") from None
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise WorkspaceError([Problem(str(path), line, None, "this file is not UTF-8 text",
                                      "save the CSV as UTF-8 (a spreadsheet's 'CSV UTF-8')")]
                             ) from None
    handle = io.StringIO(content, newline="")
    problems: list[Problem] = []
    entries: list[ManualEntry] = []
    with handle:
        reader = csv.DictReader(handle)
        header = [name.strip() for name in reader.fieldnames or []]
        unknown = [name for name in header if name not in COLUMNS]
        missing = [name for name in REQUIRED if name not in header]
        if unknown or missing:
            what = (f"unknown column {unknown[0]!r}" if unknown
                    else f"missing column {missing[0]!r}")
            fix = did_you_mean(unknown[0], COLUMNS) if unknown else ""
            raise WorkspaceError([Problem(str(path), 1, None, what,
                                          fix or f"columns: {', '.join(COLUMNS)}")])
        for row in reader:
            line = reader.line_num
            values = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
            channel = values.get("channel") or default_channel
            if not channel:
                problems.append(Problem(str(path), line, None, "no channel",
                                        "add a channel column or pass --channel"))
                continue
            if not values.get("author") or not values.get("text"):
                problems.append(Problem(str(path), line, None, "author and text are required",
                                        "fill both cells"))
                continue
            at = now
            if values.get("at"):
                try:
                    at = localize(parse_datetime(values["at"]), zone)
                except ValueError as exc:
                    problems.append(Problem(str(path), line, None, f"bad time: {exc}",
                                            "write 2027-01-14 18:00"))
                    continue
            entries.append(ManualEntry(channel, values["author"], values["text"], at,
                                       values.get("thread") or None, values.get("url") or None,
                                       values.get("language") or None))
    for channel in {e.channel_id for e in entries}:
        try:
            manual_channel(workspace, channel)
        except InboxError as error:
            problems.append(Problem(str(path), None, None, error.message, error.fix))
    if problems:
        raise WorkspaceError(problems)
    return entries
