"""``cm init``: a small working workspace to start from.

It passes ``cm check`` and rehearses with ``cm demo`` as written: a first post, a weekly
recurring post and, when a live host (YouTube, Meet) is chosen, a live session with its
reminders. Its channel files carry their own ids (derived from the folder's name, so two
workspaces differ), and the sandbox provisions them (``Sandbox.provision``). Secrets are
environment variables named like the sample's, so ``cm sandbox env`` and the docs apply as is.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from cm_toolkit.errors import UsageError
from cm_toolkit.workspace.suggestions import suggest_timezone

TEXT_NETWORKS = ("x", "facebook", "linkedin", "manual")
LIVE_HOSTS = ("youtube", "meet")
NETWORKS = TEXT_NETWORKS + LIVE_HOSTS
DEFAULT_NETWORKS = "x,facebook,linkedin"

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
    networks: tuple[str, ...] = ("x", "facebook", "linkedin")


def parse_networks(text: str) -> tuple[str, ...]:
    """``"x, facebook"`` -> ("x", "facebook"); an unknown name is a UsageError with a hint."""
    names = tuple(dict.fromkeys(n.strip().lower() for n in text.split(",") if n.strip()))
    for name in names:
        if name not in NETWORKS:
            close = difflib.get_close_matches(name, NETWORKS, n=1)
            hint = f"did you mean `{close[0]}`? " if close else ""
            raise UsageError(f"--networks: unknown network `{name}`",
                             fix=f"{hint}choose among {', '.join(NETWORKS)}")
    if not any(n in TEXT_NETWORKS for n in names):
        raise UsageError(f"--networks {text!r} has no network to post to",
                         fix=f"add at least one of {', '.join(TEXT_NETWORKS)}")
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
    posting = [n for n in options.networks if n in TEXT_NETWORKS]
    hosts = [n for n in options.networks if n in LIVE_HOSTS]
    first = today + timedelta(days=(7 - today.weekday()) % 7 or 7)  # next Monday
    files = {f"channels/{network}.yaml": _channel(network, slug) for network in options.networks}
    files["templates/hello.j2"] = words["hello"] + "\n{{ link }}\n"
    files["templates/tip.j2"] = words["tip"] + "\n"
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


SECRETS: dict[str, dict[str, str]] = {
    "x": {"access_token": "CM_X_ACCESS_TOKEN", "refresh_token": "CM_X_REFRESH_TOKEN",
          "client_id": "CM_X_CLIENT_ID"},
    "facebook": {"page_token": "CM_FACEBOOK_PAGE_TOKEN"},
    "linkedin": {"access_token": "CM_LINKEDIN_ACCESS_TOKEN",
                 "refresh_token": "CM_LINKEDIN_REFRESH_TOKEN",
                 "client_id": "CM_LINKEDIN_CLIENT_ID",
                 "client_secret": "CM_LINKEDIN_CLIENT_SECRET"},
    "youtube": {"client_id": "CM_GOOGLE_CLIENT_ID", "client_secret": "CM_GOOGLE_CLIENT_SECRET",
                "refresh_token": "CM_YOUTUBE_REFRESH_TOKEN"},
    "meet": {"client_id": "CM_GOOGLE_CLIENT_ID", "client_secret": "CM_GOOGLE_CLIENT_SECRET",
             "refresh_token": "CM_MEET_REFRESH_TOKEN"},
    "manual": {},
}
"""Environment variables of each network's secrets: the sample's names (docs/channels.md)."""

LABELS = {"x": "X", "facebook": "Facebook Page", "linkedin": "LinkedIn page",
          "youtube": "YouTube", "meet": "Google Meet", "manual": "manual"}


def _account_ids(network: str, slug: str) -> dict[str, str]:
    """Ids of the workspace's own (derived from the folder's name, so two workspaces differ)."""
    return {
        "x": {"username": slug},
        "facebook": {"page_id": "10" + _digits(slug + "facebook", 13)},
        "linkedin": {"organization": "urn:li:organization:" + _digits(slug + "linkedin", 8)},
        "youtube": {"channel_id": ("UC" + hashlib.sha256((slug + "youtube").encode())
                                   .hexdigest())[:24]},
        "meet": {"calendar_id": "primary"},
        "manual": {"url": "https://example.org/community"},
    }[network]


def _channel(network: str, slug: str) -> str:
    lines = [f"network: {network}", f'name: "{slug} ({LABELS[network]})"', "account:"]
    lines += [f'  {key}: "{value}"' for key, value in _account_ids(network, slug).items()]
    if SECRETS[network]:
        lines.append("secrets:")
        lines += [f"  {key}: {{env: {name}}}" for key, name in SECRETS[network].items()]
    else:  # manual: no publishing API
        lines.insert(0, "# No publishing API: each post becomes a ready-to-paste task (`cm done`).")
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
