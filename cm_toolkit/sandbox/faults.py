"""Faults on demand: rules like ``x:429@0.1,facebook:500@0.05,youtube:drop-after-commit@once``.

A rule is ``NETWORK:KIND@WHEN[/PATH-REGEX]``: NETWORK is the name of an installed network
(``cm channels --networks``: built-in or a plugin's), the name of one of the sandbox's emulators
(``google``: the OAuth hosts YouTube and Meet share) or ``*``; WHEN is a
probability (``0.1``), ``once`` (the first matching request only) or ``N`` times (``3x``); the
optional path regex restricts the rule to matching paths (``x:429@once/2/tweets``). Draws come
from one ``random.Random(seed)`` per rule, so a run with the same seed and the same requests
meets the same faults. ``/_sandbox/`` paths and token endpoints (each emulator's
``auth_paths``) never get faults unless the rule's path names them.

Kinds:
- ``429``: the network's rate-limit answer, with its reset headers (``reset`` seconds ahead).
- ``500``, ``502``, ``503``: the network's server error.
- ``401``: the request's token is reported expired (Graph: code 190). ``expire`` revokes every
  token of the network for real (they must be refreshed).
- ``timeout``: the request is processed, then no answer comes: the answer is held until
  ``FaultPlan.release_held()`` (or the sandbox stops, or ``HOLD_LIMIT`` seconds, longer than any
  client waits), then the connection is closed without it. Whatever the client's timeout
  (``Transport.timeout``), it passes first: the client meets a real "no answer". A number in
  ``timeout_delay`` stages a slow answer instead (sent that late).
- ``drop``: the connection is closed before the request is processed (nothing happened).
- ``drop-after-commit``: the request is processed (the post exists), then the connection is
  closed without an answer: the client cannot know the outcome.
"""

from __future__ import annotations

import enum
import random
import re
import threading
from collections.abc import Collection
from dataclasses import dataclass, field

from cm_toolkit.errors import SandboxError


class FaultKind(enum.Enum):
    RATE_LIMIT = "429"
    SERVER_500 = "500"
    SERVER_502 = "502"
    SERVER_503 = "503"
    UNAUTHORIZED = "401"
    EXPIRE = "expire"
    TIMEOUT = "timeout"
    DROP = "drop"
    DROP_AFTER_COMMIT = "drop-after-commit"

    @property
    def before_processing(self) -> bool:
        return self not in (FaultKind.TIMEOUT, FaultKind.DROP_AFTER_COMMIT)


HOLD_LIMIT = 300.0
"""Seconds a ``timeout`` answer is held at most: far past any client's timeout (the adapters
wait 10 s), short enough that a forgotten hold does not keep a thread for ever."""

ANY_NETWORK = "*"


def fault_networks() -> tuple[str, ...]:
    """The names a rule may give: every installed network and every emulator's own name."""
    from cm_toolkit.sandbox.server import emulator_networks  # the server imports this module
    from cm_toolkit.workspace.networks import known_networks

    return tuple(sorted({*known_networks(), *emulator_networks()}))


@dataclass
class FaultRule:
    network: str
    kind: FaultKind
    probability: float = 1.0
    times: int | None = None  # None: unlimited
    path: re.Pattern[str] | None = None
    seed: int = 0
    fired: int = 0
    method: str | None = None  # only requests with this HTTP method (Python rules; not in specs)
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(f"{self.seed}:{self.network}:{self.kind.value}")

    def applies(
        self, network: str, path: str, method: str | None = None, *, auth: bool = False
    ) -> bool:
        """Whether the rule is for this request; ``auth``: ``path`` is a token endpoint of the
        emulator answering (``Emulator.auth_paths``), faulted only when the rule names it."""
        if self.network not in (ANY_NETWORK, network):
            return False
        if self.method is not None and method is not None and method != self.method:
            return False
        if self.path is not None:
            return bool(self.path.search(path))
        return not path.startswith("/_sandbox/") and not auth

    def draw(self) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        hit = self._rng.random() < self.probability
        if hit:
            self.fired += 1
        return hit

    def spec(self) -> str:
        when = (
            "once"
            if self.times == 1 and self.probability == 1.0
            else (f"{self.times}x" if self.times else f"{self.probability:g}")
        )
        suffix = self.path.pattern if self.path else ""
        method = f" [{self.method} only]" if self.method else ""
        return f"{self.network}:{self.kind.value}@{when}{suffix}{method}"


class FaultPlan:
    """The active fault rules; thread-safe; the first rule that fires wins."""

    def __init__(
        self,
        seed: int = 0,
        rules: list[FaultRule] | None = None,
        networks: Collection[str] | None = None,
    ) -> None:
        """``networks``: the names rules may give (default: ``fault_networks()``)."""
        self.seed = seed
        self.rules: list[FaultRule] = rules or []
        self.networks = networks
        self.timeout_delay: float | None = None
        """``timeout``: None holds the answer until released (no answer ever comes); seconds:
        the answer is sent that late (a slow answer)."""
        self.reset_after = 60  # seconds until a 429 resets
        self._lock = threading.Lock()
        self._holds = threading.Condition()
        self._releases = 0

    def hold(self) -> bool:
        """Hold a ``timeout`` answer until ``release_held()`` (True) or ``HOLD_LIMIT`` (False)."""
        with self._holds:
            released = self._releases
            return self._holds.wait_for(lambda: self._releases != released, timeout=HOLD_LIMIT)

    def release_held(self) -> None:
        """End every answer held now: their connections close without an answer."""
        with self._holds:
            self._releases += 1
            self._holds.notify_all()

    def add(self, spec: str) -> list[FaultRule]:
        rules = parse_faults(spec, self.seed, self.networks)
        with self._lock:
            self.rules.extend(rules)
        return rules

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def pick(
        self, network: str, path: str, method: str | None = None, *, auth: bool = False
    ) -> FaultKind | None:
        with self._lock:
            for rule in self.rules:
                if rule.applies(network, path, method, auth=auth) and rule.draw():
                    return rule.kind
        return None

    def describe(self) -> list[str]:
        with self._lock:
            return [rule.spec() for rule in self.rules]


_RULE = re.compile(
    r"^(?P<net>\*|[a-z0-9][a-z0-9_.-]*):(?P<kind>[a-z0-9-]+)"
    r"@(?P<when>once|(?P<times>\d+)x|\d*\.?\d+)(?P<path>/.*)?$"
)


def parse_faults(
    spec: str, seed: int = 0, networks: Collection[str] | None = None
) -> list[FaultRule]:
    """Parse a comma-separated fault spec; raises SandboxError naming the bad rule and the fix.
    ``networks``: the names a rule may give (default: ``fault_networks()``)."""
    rules: list[FaultRule] = []
    names: Collection[str] | None = networks
    for raw in filter(None, (part.strip() for part in spec.split(","))):
        match = _RULE.match(raw)
        if not match:
            raise SandboxError(
                f"fault rule {raw!r} is not of the form NETWORK:KIND@WHEN",
                fix="e.g. *:429@0.1, *:500@once, *:drop-after-commit@3x/PATH-REGEX",
            )
        network, kind_text, when = match["net"], match["kind"], match["when"]
        if names is None:
            names = fault_networks()
        if network != ANY_NETWORK and network not in names:
            raise SandboxError(
                f"fault rule {raw!r}: unknown network {network!r}",
                fix=f"use one of {', '.join([*names, ANY_NETWORK])}",
            )
        try:
            kind = FaultKind(kind_text)
        except ValueError:
            raise SandboxError(
                f"fault rule {raw!r}: unknown fault {kind_text!r}",
                fix=f"use one of {', '.join(k.value for k in FaultKind)}",
            ) from None
        probability, times = 1.0, None
        if when == "once":
            times = 1
        elif match["times"]:
            times = int(match["times"])
        else:
            probability = float(when)
            if not 0 <= probability <= 1:
                raise SandboxError(
                    f"fault rule {raw!r}: probability {when} is not between 0 and 1",
                    fix="write a probability like 0.05",
                )
        path = re.compile(match["path"]) if match["path"] else None
        rules.append(FaultRule(network, kind, probability, times, path, seed))
    return rules
