"""``cm sandbox serve`` and ``cm sandbox env``: the local emulators of the networks.

The sandbox's tokens are sandbox-only values: printing them (``cm sandbox env``) is fine, and is
how a shell or a script is pointed at it.
"""

from __future__ import annotations

import shlex
import shutil
import threading
from datetime import UTC, datetime
from typing import Annotated

import typer

from cm_toolkit.cli import app, console, port_option
from cm_toolkit.cli.channels import SandboxOption, sandbox_token_dir
from cm_toolkit.errors import UsageError
from cm_toolkit.sandbox.clock import Clock, ScaledClock, SystemClock

sandbox_app = typer.Typer(
    help="The sandbox: local emulators of every installed network (docs/sandbox.md).",
    no_args_is_help=True,
)
app.add_typer(sandbox_app, name="sandbox")

MAX_SPEED = 100_000  # a day per second; faster, the clock leaves the calendar within hours
SeedOption = Annotated[int, typer.Option(help="Seed of follower growth, ids and fault draws.")]


def _say(text: str) -> None:
    console.print(text, markup=False, highlight=False, emoji=False, soft_wrap=True)


def parse_start(text: str) -> datetime:
    try:
        start = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--start {text!r} is not an ISO 8601 date-time",
            fix="e.g. --start 2027-01-04T08:00:00+01:00 (no offset: UTC)",
        ) from None
    return start if start.tzinfo else start.replace(tzinfo=UTC)


def make_clock(speed: float, start: str | None) -> Clock:
    """Real time, or a ``ScaledClock`` when a start instant or a speed other than 1 is asked."""
    if speed <= 0:
        raise UsageError(f"--speed {speed:g} must be positive", fix="e.g. --speed 60")
    if start is None and speed == 1:
        return SystemClock()
    return ScaledClock(parse_start(start) if start else None, speed)


@sandbox_app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback only).")] = "127.0.0.1",
    port: Annotated[int, port_option("Port (0: any free port).")] = 8900,
    seed: SeedOption = 0,
    faults: Annotated[
        str,
        typer.Option(help="Fault rules, e.g. 'x:429@0.1,facebook:500@once' (docs/sandbox.md)."),
    ] = "",
    speed: Annotated[
        float, typer.Option(help="Sandbox seconds per real second (60: an hour per minute).",
                            max=MAX_SPEED)
    ] = 1.0,
    start: Annotated[
        str | None, typer.Option(help="Sandbox time at start, ISO 8601 (default: now).")
    ] = None,
) -> None:
    """Run the sandbox in the foreground until Ctrl-C."""
    from cm_toolkit.sandbox.server import Sandbox

    if host not in ("127.0.0.1", "localhost", "::1"):
        raise UsageError(
            f"--host {host}: the sandbox only listens on the loopback interface",
            fix="use --host 127.0.0.1",
        )
    sandbox = Sandbox(seed=seed, clock=make_clock(speed, start), faults=faults)
    url = sandbox.start(host, port)
    # tokens minted by an earlier sandbox mean nothing to this one
    shutil.rmtree(sandbox_token_dir(), ignore_errors=True)
    try:
        _say(f"cm-toolkit sandbox listening on {url} (seed {seed})")
        _say(f"networks: {', '.join(e.network for e in sandbox.emulators) or '(none)'}")
        accounts = sorted(
            {(t["network"], t["account_id"]) for t in sandbox.ctx.tokens.as_dict()}
        )
        for network, account in accounts:
            _say(f"  account {network}: {account}")
        if faults:
            _say(f"faults: {', '.join(sandbox.faults.describe())}")
        if speed != 1 or start:
            # the instant asked for (loading the emulators took some of it already at speed)
            begun = parse_start(start) if start else sandbox.clock.now()
            _say(f"clock: starts {begun.isoformat()}, x{speed:g}")
        _say("point cm at it:")
        _say(f"  export CM_SANDBOX_URL={url} NO_PROXY=127.0.0.1,localhost")
        _say("  cm channels --check")
        _say(f"  eval \"$(cm sandbox env --sandbox {url})\"   # the sandbox tokens, for scripts")
        _say("Ctrl-C stops it.")
        threading.Event().wait()
    except KeyboardInterrupt:
        _say("sandbox stopped")
    finally:
        sandbox.stop()


@sandbox_app.command("env")
def env(sandbox: SandboxOption = None, seed: SeedOption = 0) -> None:
    """Print `export NAME=value` lines of the sandbox tokens for the sample workspace.

    From the running sandbox at --sandbox/CM_SANDBOX_URL, else the tokens a fresh sandbox with
    --seed starts with. Sandbox tokens only: they are worthless anywhere else.
    """
    if sandbox:
        from cm_toolkit.sandbox.provision import reach_sandbox

        base = sandbox.rstrip("/")
        values = reach_sandbox(base)
        values |= {"CM_SANDBOX_URL": base, "NO_PROXY": "127.0.0.1,localhost"}
    else:
        from cm_toolkit.sandbox.server import Sandbox

        values = Sandbox(seed=seed).env()
    for name, value in sorted(values.items()):
        typer.echo(f"export {name}={shlex.quote(value)}")
