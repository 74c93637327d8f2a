"""Serving the dashboard: ``wsgiref`` on a threading server (one thread per request).

Request lines are logged without their query string: a ``?token=`` must never reach a log.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from cm_toolkit.errors import UsageError
from cm_toolkit.web.app import Dashboard

log = logging.getLogger("cm.web")


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = self.path.split("?", 1)[0]
        log.info("%s %s %s", self.command, path, code)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("dashboard: " + format, *args)


def create_server(app: Dashboard, host: str, port: int) -> ThreadingWSGIServer:
    """Bind the server (port 0: any free port). Raises ``UsageError`` when it cannot bind."""
    try:
        server = make_server(host, port, app, server_class=ThreadingWSGIServer,
                             handler_class=QuietHandler)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                         fix="choose another --port, or stop what uses this one") from None
    assert isinstance(server, ThreadingWSGIServer)
    return server


@contextmanager
def serving(app: Dashboard, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve in a background thread for the block; yields the base URL (tests, benchmarks)."""
    server = create_server(app, host, port)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name="cm-dashboard", daemon=True)
    thread.start()
    try:
        bound_host, bound_port = server.server_address[:2]
        host_text = bound_host.decode() if isinstance(bound_host, bytes) else str(bound_host)
        yield f"http://{host_text}:{bound_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
