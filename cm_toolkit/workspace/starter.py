"""``cm init``: a small working workspace to start from.

It passes ``cm check`` and rehearses with ``cm demo`` as written: a first post, a weekly
recurring post and, when a live host (YouTube, Meet) is chosen, a live session with its
reminders; and a ``faq.yaml`` with two inbox answers, none sent automatically
(``starter_faq``). Its channel files carry their own ids (derived from the folder's name, so
two workspaces differ), and the sandbox provisions them (``Sandbox.provision``). Secrets are
environment variables named like the sample's, so ``cm sandbox env`` and the docs apply as is.

What a network's channel file holds is its adapter's ``starter`` fact (``channels/facts.py``):
any installed network that declares one is offered, a plugin's too.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from cm_toolkit.errors import UsageError
from cm_toolkit.workspace.networks import network_aliases, network_classes
from cm_toolkit.workspace.starter_faq import starter_faq
from cm_toolkit.workspace.suggestions import suggest_timezone

POSTS, LIVE = "text", "live"  # the capabilities that make a network post, or host a session


@dataclass(frozen=True)
class StarterNetwork:
    """One network ``cm init`` can write a channel file for (its adapter's facts)."""

    name: str
    starter: Any  # channels.facts.Starter
    capabilities: frozenset[str]
    secrets: dict[str, str]  # secret name -> environment variable

    @property
    def posts(self) -> bool:
        return POSTS in self.capabilities

    @property
    def hosts_live(self) -> bool:
        return LIVE in self.capabilities


def starter_networks() -> dict[str, StarterNetwork]:
    """Every installed network whose adapter declares a ``starter``, in the registry's order."""
    found = {}
    for name, cls in network_classes().items():
        starter = getattr(cls, "starter", None)
        if starter is None:
            continue
        capabilities = frozenset(c.value for c in cls.capabilities)
        if starter.secrets is not None:
            secrets = dict(starter.secrets)
        else:
            refresh = cls.token_refresh.secrets if cls.token_refresh is not None else ()
            names = dict.fromkeys([*cls.secret_names, *refresh])
            secrets = {secret: f"CM_{name}_{secret}".upper().replace("-", "_") for secret in names}
        found[name] = StarterNetwork(name, starter, capabilities, secrets)
    return found


def default_networks() -> str:
    """``cm init``'s networks when ``--networks`` is not given (the starters marked default)."""
    return ",".join(n for n, network in starter_networks().items() if network.starter.default)

# the texts of the starter's templates, per language (others get English words and their own
# dates and numbers, which Babel formats from defaults.language)
TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "hello": "👋 Welcome to {{ project }}! Here is where it all starts:",
        "tip": "💡 Tip {{ post.occurrence }} of the week from {{ project }}: {{ tips[post.occurrence - 1] }}",
        "live": "🔴 {{ session.title }}: {{ session.start | countdown }}. Bring your questions!",
        "tips": '["start small", "ask one question a day", "share what you learnt", '
                '"thank someone who helped"]',
        "live_title": "Live Q&A",
        "live_description": "Questions and answers, live.",
    },
    "fr": {
        "hello": "👋 Bienvenue dans {{ project }} ! Tout commence ici :",
        "tip": "💡 Astuce n°{{ post.occurrence }} de {{ project }} : {{ tips[post.occurrence - 1] }}",
        "live": "🔴 {{ session.title }} : {{ session.start | countdown }}. Venez avec vos questions !",
        "tips": '["commencer petit", "poser une question par jour", '
                '"partager ce que vous avez appris", "remercier qui vous a aidé"]',
        "live_title": "Questions en direct",
        "live_description": "Questions et réponses en direct.",
    },
}


@dataclass(frozen=True)
class StarterOptions:
    timezone: str = "UTC"
    language: str = "en"
    networks: tuple[str, ...] = ()  # empty: default_networks()


def parse_networks(text: str) -> tuple[str, ...]:
    """``"a, b"`` -> ("a", "b"); an unknown name is a UsageError with a hint."""
    known = starter_networks()
    names = tuple(dict.fromkeys(n.strip().lower() for n in text.split(",") if n.strip()))
    for name in names:
        if name not in known:
            alias = network_aliases().get(name)  # the adapters' `aliases`: twitter -> x
            close = [alias] if alias in known else difflib.get_close_matches(name, list(known), n=1)
            hint = f"did you mean `{close[0]}`? " if close else ""
            raise UsageError(f"--networks: unknown network `{name}`",
                             fix=f"{hint}choose among {', '.join(known)}")
    if not any(known[n].posts for n in names):
        raise UsageError(f"--networks {text!r} has no network to post to",
                         fix="add at least one of "
                             + ", ".join(n for n, network in known.items() if network.posts))
    return names


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        close = suggest_timezone(name, available_timezones())
        hint = f"did you mean `{close}`? " if close else ""
        raise UsageError(f"--timezone {name!r} is not an IANA time zone",
                         fix=f"{hint}e.g. Europe/Paris, America/New_York") from None
    return name


def _slug(folder: Path) -> str:
    words = re.sub(r"[^A-Za-z0-9]+", " ", folder.resolve().name).split()
    return "".join(w.capitalize() for w in words)[:15] or "MyProject"


def _digits(seed: str, count: int) -> str:
    number = int(hashlib.sha256(seed.encode()).hexdigest(), 16)
    return str(number)[:count]


def starter_files(folder: Path, options: StarterOptions, today: date) -> dict[str, str]:
    """Relative path -> text of every file ``cm init`` writes."""
    slug = _slug(folder)
    words = TEXTS.get(options.language, TEXTS["en"])
    known = starter_networks()
    chosen = options.networks or parse_networks(default_networks())
    posting = [n for n in chosen if known[n].posts]
    hosts = [n for n in chosen if known[n].hosts_live]
    first = today + timedelta(days=(7 - today.weekday()) % 7 or 7)  # next Monday
    files = {f"channels/{network}.yaml": _channel(known[network], slug) for network in chosen}
    files["templates/hello.j2"] = words["hello"] + "\n{{ link }}\n"
    files["templates/tip.j2"] = words["tip"] + "\n"
    files["faq.yaml"] = starter_faq(options.language)  # the inbox's suggestions, none automatic
    campaigns = f"""campaigns:
  - id: launch
    name: "Launch"
    start: "{first} 00:00"
    posts:
      - id: hello
        template: hello
        at: "{first} 10:00"
        channels: [{", ".join(posting)}]
        link: "https://example.org/"
      - id: weekly-tip
        template: tip
        every: "0 9 * * TUE"
        count: 4
        channels: [{", ".join(posting)}]
"""
    if hosts:
        files["templates/live.j2"] = words["live"] + "\n{{ session.link or site_url }}\n"
        campaigns += f"""
  - id: live
    name: "Live"
    live_sessions:
      - id: live-1
        title: "{words['live_title']}"
        description: "{words['live_description']}"
        start: "{first + timedelta(days=10)} 18:00"
        duration: 1h
        hosted_on: [{", ".join(hosts)}]
        announce_on: [{", ".join(posting)}]
        announcements:
          - {{template: live, before: 1d}}
          - {{template: live}}
"""
    files["schedules.yaml"] = f"""# Made by `cm init`: edit it, then `cm check` and `cm demo` (docs/workspace.md).
version: 1
timezone: {options.timezone}

defaults:
  language: {options.language}
  grace: 2h
  spacing: 5m

variables:
  project: "{slug}"
  site_url: "https://example.org/"
  tips: {words['tips']}

growth:
  snapshot: "0 6 * * *"
  reference: "{first} 00:00"

{campaigns}"""
    return files


_PLACEHOLDER = re.compile(r"\{(slug|handle|digits|hex)(?::(\d+))?\}")


def _account_ids(network: StarterNetwork, slug: str) -> dict[str, str]:
    """The starter's ``account`` with the workspace's own ids (derived from the folder's name,
    so two workspaces differ; see ``channels.facts.Starter``)."""

    def fill(match: re.Match[str]) -> str:
        kind, count = match.group(1), int(match.group(2) or 0)
        if kind == "slug":
            return slug
        if kind == "handle":
            return slug.lower()
        if kind == "digits":
            return _digits(slug + network.name, count)
        return hashlib.sha256((slug + network.name).encode()).hexdigest()[:count]

    return {key: _PLACEHOLDER.sub(fill, value) for key, value in network.starter.account.items()}


def _channel(network: StarterNetwork, slug: str) -> str:
    starter = network.starter
    lines = [f"network: {network.name}", f'name: "{slug} ({starter.label})"', "account:"]
    lines += [f'  {key}: "{value}"' for key, value in _account_ids(network, slug).items()]
    if network.secrets:
        lines.append("secrets:")
        lines += [f"  {key}: {{env: {name}}}" for key, name in network.secrets.items()]
    if starter.note:
        lines.insert(0, f"# {starter.note}")
    return "\n".join(lines) + "\n"


def write_starter(folder: Path, options: StarterOptions, today: date) -> list[Path]:
    """Write the starter into ``folder`` (made if missing); refuses to overwrite a file."""
    files = starter_files(folder, options, today)
    taken = sorted(name for name in files if (folder / name).exists())
    if taken or (folder / "schedules.yaml").exists():
        raise UsageError(f"{folder} already holds a workspace ({', '.join(taken)})",
                         fix="choose an empty folder: cm init NEW-FOLDER")
    written = []
    for name, text in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written
