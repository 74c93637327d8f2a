"""The sandbox HTTP server: one port, every network, routed by the ``Host`` header.

    with Sandbox(seed=7).running() as sandbox:      # in-process, free port, < 1 s to start
        transport = sandbox.transport()             # give it to the channel adapters
        ...
        sandbox.journal.entries(network=NETWORK, method="POST", path=PATH)

``cm sandbox serve`` runs the same server in the foreground. Paths under ``/_sandbox/`` are the
sandbox's own: ``state``, ``journal``, ``faults`` (GET/POST/DELETE), ``expire`` (POST), ``env``
(GET: the sample's; POST a list of channels: their accounts provisioned, see ``provision``).
"""

from __future__ import annotations

import email.utils
import importlib
import json
import math
import re
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from cm_toolkit.errors import SandboxError
from cm_toolkit.sandbox.audience import Audience, GrowthProfile
from cm_toolkit.sandbox.clock import Clock, SystemClock
from cm_toolkit.sandbox.core import (
    ApiError,
    Emulator,
    ErrorKind,
    Route,
    SandboxContext,
    SandboxRequest,
    SandboxResponse,
)
from cm_toolkit.sandbox.faults import FaultKind, FaultPlan
from cm_toolkit.sandbox.journal import Journal, JournalEntry, body_text, mask_headers, mask_text

HOLD = math.inf
"""The delay of a held ``timeout`` answer (``FaultPlan.hold``): it never comes."""


E = TypeVar("E", bound=Emulator)

def emulator_targets() -> list[str]:
    """The emulators of every installed network ("module:Class"), as their adapters declare
    them (``Channel.emulators``), each once: YouTube and Meet share Google's OAuth emulator.
    A network whose adapter cannot be imported has no emulator here (`cm channels --networks`
    says why)."""
    from cm_toolkit.channels.registry import list_networks

    targets: dict[str, None] = {}
    for info in list_networks():
        for target in info.emulators:
            targets.setdefault(target)
    return list(targets)


def emulator_classes() -> list[type[Emulator]]:
    """The emulator classes of ``emulator_targets()``, imported."""
    classes = []
    for target in emulator_targets():
        module_name, _, class_name = target.partition(":")
        module = importlib.import_module(module_name)
        cls = getattr(module, class_name, None)
        if not (isinstance(cls, type) and issubclass(cls, Emulator)):
            raise SandboxError(
                f"{target} is not a sandbox Emulator",
                fix="fix the `emulators` of the adapter that names it",
            )
        classes.append(cls)
    return classes


def emulator_networks() -> tuple[str, ...]:
    """The emulators' own names (``Emulator.network``): a network's, or a shared host's
    (``google``: the OAuth hosts of YouTube and Meet), as fault rules and the journal say them."""
    return tuple(dict.fromkeys(cls.network for cls in emulator_classes()))


def load_emulators(ctx: SandboxContext) -> list[Emulator]:
    return [cls(ctx) for cls in emulator_classes()]


class Sandbox:
    """Every installed network's emulators, their shared state and the HTTP server serving them."""

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: Clock | None = None,
        faults: str = "",
        profiles: dict[str, GrowthProfile] | None = None,
        epoch: datetime | None = None,
        emulators: list[type[Emulator]] | None = None,
    ) -> None:
        """``emulators``: the emulator classes to serve (default: every installed network's)."""
        self.clock = clock or SystemClock()
        self.journal = Journal()
        self.faults = FaultPlan(seed)
        self.audience = Audience(seed, epoch or self.clock.now(), profiles)
        self.ctx = SandboxContext(
            clock=self.clock,
            seed=seed,
            journal=self.journal,
            faults=self.faults,
            audience=self.audience,
        )
        self.emulators = (
            load_emulators(self.ctx) if emulators is None else [cls(self.ctx) for cls in emulators]
        )
        from cm_toolkit.workspace.networks import known_networks

        # a rule may name any installed network, or an emulator's own name (``google``)
        self.faults.networks = sorted(
            {*known_networks(), *(emulator.network for emulator in self.emulators)}
        )
        if faults:
            self.faults.add(faults)
        # A host may be served by several emulators (www.googleapis.com: YouTube and Calendar);
        # the first one with a matching route answers, the first one renders a 404.
        self._by_host: dict[str, list[Emulator]] = {}
        for emulator in self.emulators:
            for host in emulator.hosts:
                self._by_host.setdefault(host, []).append(emulator)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._clients: list[Any] = []  # requests adapters and httplib2 objects of transport()

    # -- serving --------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise SandboxError("the sandbox is not running", fix="start it with .start()")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        handler = type("Handler", (_Handler,), {"sandbox": self})
        try:
            self._server = _Server((host, port), handler)
        except OSError as exc:
            raise SandboxError(
                f"cannot listen on {host}:{port}: {exc.strerror}",
                fix="choose another --port, or stop the program using it",
            ) from exc
        self.ctx.base_url = self.base_url
        self._thread = threading.Thread(
            # a short poll interval: stop() (shutdown) returns within 50 ms, not 500
            target=self._server.serve_forever, args=(0.05,), name="cm-sandbox", daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        self.faults.release_held()  # a held ``timeout`` answer must not outlive the sandbox
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        # close the client connections of the transports handed out: an open socket left to
        # the garbage collector is a ResourceWarning (an error in the test suite)
        while self._clients:
            self._clients.pop().close()

    @contextmanager
    def running(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[Sandbox]:
        self.start(host, port)
        try:
            yield self
        finally:
            self.stop()

    def transport(self, timeout: float = 10.0) -> Any:
        """A ``channels.base.Transport`` pointing every SDK at this sandbox."""
        from cm_toolkit.sandbox.transport import sandbox_transport

        transport = sandbox_transport(self.base_url, timeout=timeout)
        factory = transport.http_factory
        assert factory is not None

        def tracked_http() -> Any:
            http = factory()
            self._clients.append(http)
            return http

        transport.http_factory = tracked_http
        self._clients.append(transport.requests_adapter)
        self._clients.append(transport.httpx_transport)
        return transport

    # -- state ----------------------------------------------------------------------------

    def emulator(self, network: str) -> Emulator:
        for emulator in self.emulators:
            if emulator.network == network:
                return emulator
        raise SandboxError(f"no emulator for {network!r}")

    def emulator_of(self, cls: type[E]) -> E:
        """The running emulator of class ``cls``, typed: tests reach its state without a cast."""
        for emulator in self.emulators:
            if isinstance(emulator, cls):
                return emulator
        raise SandboxError(f"no {cls.__name__} in this sandbox")

    def state(self) -> dict[str, Any]:
        with self.ctx.lock:
            return {
                "now": self.clock.now().isoformat(),
                "seed": self.ctx.seed,
                "faults": self.faults.describe(),
                "tokens": self.ctx.tokens.as_dict(),
                "networks": {e.network: e.state() for e in self.emulators},
            }

    def env(self) -> dict[str, str]:
        """Environment variables that make the sample workspace's channel files work here."""
        values: dict[str, str] = {}
        for emulator in self.emulators:
            values.update(getattr(emulator, "environment", dict)())
        return values

    def provision(self, channels: list[dict[str, Any]]) -> dict[str, str]:
        """Rehearse any workspace: create the accounts its channel files name and return the
        environment that makes them work here (``env()`` plus each channel's secret variables).

        Each channel is ``{"network", "account": {ids}, "secrets": {field: ENV_NAME}}``, the
        shape of ``cm_toolkit.sandbox.transport.provision_request``. The last account provisioned
        on a network is the one its OAuth dialog signs in as (``cm auth --sandbox``)."""
        values = self.env()
        by_network = {e.network: e for e in self.emulators}
        with self.ctx.lock:
            for channel in channels:
                emulator = by_network.get(str(channel.get("network")))
                account = channel.get("account")
                secrets = channel.get("secrets")
                if emulator is None or not isinstance(account, dict):
                    continue
                given = emulator.provision(account)
                for field_name, env_name in (secrets if isinstance(secrets, dict) else {}).items():
                    if field_name in given and isinstance(env_name, str):
                        values[env_name] = given[field_name]
        return values

    # -- one request ----------------------------------------------------------------------

    def handle(self, request: SandboxRequest) -> tuple[SandboxResponse | None, float]:
        """Answer one request: (response or None to drop the connection, delay in seconds;
        ``HOLD``: held until released, then the connection closes without the answer)."""
        if request.path.startswith("/_sandbox/"):
            return self._own(request), 0.0
        host = request.host.split(":")[0].lower()
        emulator, found = self._route(host, request)
        entry = JournalEntry(
            seq=0,
            at=self.clock.now(),
            network=emulator.network if emulator else host,
            method=request.method,
            host=host,
            path=request.path,
            query=mask_text("&".join(f"{k}={v}" for k, vs in request.query.items() for v in vs)),
            headers=mask_headers(request.headers),
            body=body_text(request.body, request.header("content-type")),
        )
        if emulator is None:
            entry.status = 404
            self.journal.record(entry)
            return SandboxResponse.json(404, {"error": f"the sandbox does not serve {host}"}), 0.0
        entry.route = found[0].name if found else None
        fault = self.faults.pick(
            emulator.network, request.path, request.method,
            auth=emulator.is_auth_path(request.path),
        )
        entry.fault = fault.value if fault else None
        delay = 0.0
        with self.ctx.lock:
            if fault is not None and fault.before_processing:
                response = self._fault_response(emulator, fault, request)
            else:
                response = emulator.dispatch(request, found)
        if fault is FaultKind.TIMEOUT:
            delay = self.faults.timeout_delay if self.faults.timeout_delay is not None else HOLD
        if response is not None:  # processed: what it billed stands even if the answer is lost
            entry.extra.update(response.journal)
        if response is None or fault is FaultKind.DROP_AFTER_COMMIT:
            entry.status = None
            self.journal.record(entry)
            return None, 0.0
        entry.status = response.status
        entry.response = body_text(response.body, response.headers.get("content-type"))
        self.journal.record(entry)
        return response, delay

    def _route(
        self, host: str, request: SandboxRequest
    ) -> tuple[Emulator | None, tuple[Route, re.Match[str]] | None]:
        candidates = self._by_host.get(host) or [e for e in self.emulators if e.serves(host)]
        for candidate in candidates:
            found = candidate.find_route(request)
            if found is not None:
                return candidate, found
        return (candidates[0] if candidates else None), None

    def _fault_response(
        self, emulator: Emulator, fault: FaultKind, request: SandboxRequest
    ) -> SandboxResponse | None:
        now = self.clock.now()
        if fault is FaultKind.DROP:
            return None
        if fault is FaultKind.EXPIRE:
            self.ctx.tokens.expire(emulator.network)
            return emulator.dispatch(request, emulator.find_route(request))
        kind = {
            FaultKind.RATE_LIMIT: ErrorKind.RATE_LIMITED,
            FaultKind.UNAUTHORIZED: ErrorKind.TOKEN_EXPIRED,
        }.get(fault, ErrorKind.SERVER_ERROR)
        from datetime import timedelta

        error = emulator.standard_error(
            kind, request, reset_at=now + timedelta(seconds=self.faults.reset_after)
        )
        if kind is ErrorKind.SERVER_ERROR:
            error.status = int(fault.value)
        response = emulator.render_error(error, request)
        response.headers = {**emulator.response_headers(request, None), **response.headers}
        return response

    def _own(self, request: SandboxRequest) -> SandboxResponse:
        name = request.path[len("/_sandbox/") :].strip("/")
        try:
            if name == "state" and request.method == "GET":
                return SandboxResponse.json(200, self.state())
            if name == "journal" and request.method == "GET":
                return SandboxResponse.json(200, [e.as_dict() for e in self.journal.entries()])
            if name == "journal" and request.method == "DELETE":
                self.journal.clear()
                return SandboxResponse.empty()
            if name == "faults":
                if request.method == "POST":
                    self.faults.add(request.body.decode())
                elif request.method == "DELETE":
                    self.faults.clear()
                return SandboxResponse.json(200, {"faults": self.faults.describe()})
            if name == "expire" and request.method == "POST":
                network = request.arg("network")
                return SandboxResponse.json(200, {"expired": self.ctx.tokens.expire(network)})
            if name == "env" and request.method == "GET":
                return SandboxResponse.json(200, self.env())
            if name == "env" and request.method == "POST":
                try:
                    channels = json.loads(request.body or b"[]")
                except ValueError:
                    channels = None
                if not isinstance(channels, list):
                    raise SandboxError("POST /_sandbox/env wants a JSON list of channels")
                return SandboxResponse.json(200, self.provision(channels))
        except SandboxError as exc:
            return SandboxResponse.json(400, {"error": str(exc)})
        return SandboxResponse.json(404, {"error": f"no sandbox endpoint {request.method} {name}"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (the ``timeout`` fault's purpose) is not a server error: no
        # traceback on the console for it.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    sandbox: Sandbox
    protocol_version = "HTTP/1.1"  # keep-alive: the SDKs reuse their connections
    # headers and body are two writes: without TCP_NODELAY, Nagle + delayed ACK add ~40 ms
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # the journal is the log
        return

    def date_time_string(self, timestamp: float | None = None) -> str:
        # The Date header follows the sandbox clock: clients compute reset times from it.
        if timestamp is not None:
            return super().date_time_string(timestamp)
        now = self.sandbox.clock.now().astimezone(UTC)
        return email.utils.format_datetime(now, usegmt=True)

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        request = SandboxRequest(
            method=self.command,
            host=self.headers.get("host", ""),
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self._read_body(),
            received_at=self.sandbox.clock.now(),
        )
        try:
            response, delay = self.sandbox.handle(request)
        except ApiError as error:  # a bug in an emulator still answers like a server would
            response, delay = SandboxResponse.json(error.status, {"error": error.message}), 0.0
        if delay == HOLD:  # the ``timeout`` fault: the client's timeout passes, no answer
            self.sandbox.faults.hold()
            response = None
        if response is None:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if delay:
            time.sleep(delay)
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            # the client gave up (its timeout passed): exactly what a 'timeout' fault stages
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve


def dump_state(sandbox: Sandbox) -> str:
    return json.dumps(sandbox.state(), indent=2)
