"""The notification webhook: a JSON POST when a delivery fails, is missed or needs review.

Sent from a background thread so a slow receiver never delays publishing; a receiver that is
down is logged, never fatal.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

import requests

from cm_toolkit.clock import Clock

log = logging.getLogger("cm.notify")


class Notifier:
    def __init__(
        self,
        url: str,
        clock: Clock,
        *,
        session: requests.Session | None = None,
        timeout: float = 5.0,
        describe: Any = None,
    ) -> None:
        self.url = url
        self.clock = clock
        self.session = session or requests.Session()
        self.timeout = timeout
        self.describe = describe  # delivery_id -> dict with post, channel, network...
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._send_loop, name="cm-notify", daemon=True)
        self._thread.start()

    def notify(self, delivery_id: int, state: str, reason: str) -> None:
        payload: dict[str, Any] = {
            "event": "delivery." + state,
            "delivery_id": delivery_id,
            "state": state,
            "reason": reason,
            "at": self.clock.now().isoformat(),
            "review": "cm review",
        }
        if self.describe is not None:
            payload.update(self.describe(delivery_id))
        self._queue.put(payload)

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued, then stop."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _send_loop(self) -> None:
        while True:
            payload = self._queue.get()
            if payload is None:
                return
            try:
                self.session.post(self.url, json=payload, timeout=self.timeout)
            except requests.RequestException as exc:
                log.warning("notification webhook %s unreachable: %s", self.url, exc)


