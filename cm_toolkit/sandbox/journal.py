"""The sandbox's journal: every request it received, with secrets masked.

Tests read it to prove what reached a network, exactly once. Bodies are kept as text up to
``MAX_BODY`` characters; binary uploads are kept as their size.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

MAX_BODY = 65536
_SECRET_HEADERS = {"authorization", "cookie", "x-goog-api-key"}
MASK = "***"


def mask_text(text: str) -> str:
    """Mask secret values in a query string, form body or JSON text."""
    text = re.sub(
        r"(?i)((?:access_token|refresh_token|client_secret|code_verifier|input_token)=)[^&\s]+",
        r"\1" + MASK,
        text,
    )
    text = re.sub(
        r'(?i)("(?:access_token|refresh_token|client_secret|code_verifier)"\s*:\s*")[^"]*',
        r"\1" + MASK,
        text,
    )
    return text


def mask_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: (MASK if k.lower() in _SECRET_HEADERS else v) for k, v in headers.items()}


@dataclass
class JournalEntry:
    seq: int
    at: datetime
    network: str
    method: str
    host: str
    path: str
    query: str
    headers: dict[str, str]
    body: str
    status: int | None = None  # None: no answer was sent (dropped connection)
    fault: str | None = None
    route: str | None = None
    response: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def json_body(self) -> Any:
        return json.loads(self.body) if self.body else None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return data


class Journal:
    def __init__(self) -> None:
        self._entries: list[JournalEntry] = []
        self._lock = threading.Lock()

    def record(self, entry: JournalEntry) -> JournalEntry:
        with self._lock:
            entry.seq = len(self._entries) + 1
            self._entries.append(entry)
        return entry

    def entries(
        self,
        *,
        network: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> list[JournalEntry]:
        """Entries filtered by network, method and a path regex (full match)."""
        with self._lock:
            found = list(self._entries)
        if network:
            found = [e for e in found if e.network == network]
        if method:
            found = [e for e in found if e.method == method.upper()]
        if path:
            pattern = re.compile(path)
            found = [e for e in found if pattern.fullmatch(e.path)]
        return found

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def body_text(body: bytes, content_type: str | None) -> str:
    ctype = (content_type or "").lower()
    if not body:
        return ""
    if ctype.startswith(("application/json", "application/x-www-form-urlencoded", "text/")):
        return mask_text(body[:MAX_BODY].decode("utf-8", "replace"))
    if ctype.startswith("multipart/"):
        # keep the text parts readable, summarise binary ones
        text = body[:MAX_BODY].decode("utf-8", "replace")
        return mask_text(re.sub(r"[^\x09\x0a\x0d\x20-\x7e\u00a0-\uffff]+", "<binary>", text))
    return f"<{len(body)} bytes>"


