"""A deterministic simulated audience: follower growth and engagement, from a seed.

Followers of an account at instant ``t`` = a base trend (compound daily growth from the
sandbox's epoch) + bumps from what the account published (a visual post on Facebook, an article
on X, a live session on YouTube, a debate post on LinkedIn), each bump realised over a day, +
a small day-to-day wobble drawn from ``(seed, account, day)``. The same seed and the same
publications give the same history. Profiles are tuned so that the sample season ends near the
course's reported outcomes (X about x2.5, LinkedIn about x3); see docs/sandbox.md.

What learners write (the inbox's material) comes from ``audience_messages.py``: comments on a
post (``comments``), posts naming an account (``mentions``) and a live session's chat
(``live_chat``), each drawn from ``(seed, ids)`` so a run is repeatable.
"""

from __future__ import annotations

import hashlib
import math
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cm_toolkit.sandbox.audience_messages import LEARNERS, LIVE_CHAT, MESSAGES

__all__ = ["LEARNERS", "NEUTRAL_GROWTH", "Audience", "GrowthProfile", "Publication"]


@dataclass(frozen=True)
class GrowthProfile:
    base: int  # followers at the epoch
    daily_rate: float  # organic compound growth per day
    bumps: dict[str, int] = field(default_factory=dict)  # publication kind -> followers gained
    wobble: float = 0.002  # day-to-day noise, as a fraction of the base


NEUTRAL_GROWTH = GrowthProfile(0, 0.0)
"""An emulator that declares no growth (``Emulator.growth``): an account without followers."""


def _unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from the parts (stable across runs and machines)."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _hour(instant: datetime) -> datetime:
    return instant.replace(minute=0, second=0, microsecond=0)


@dataclass
class Publication:
    network: str
    account_id: str
    remote_id: str
    kind: str  # visual, article, debate, live, video, post
    at: datetime


class Audience:
    """Followers and engagement of every sandbox account, computed on demand."""

    def __init__(
        self,
        seed: int,
        epoch: datetime,
        profiles: dict[str, GrowthProfile] | None = None,
    ) -> None:
        self.seed = seed
        self.epoch = epoch
        # network -> profile; each emulator adds its own (``Emulator.growth``) unless given here
        self.profiles: dict[str, GrowthProfile] = dict(profiles or {})
        self._publications: list[Publication] = []
        self._lock = threading.Lock()

    def published(self, publication: Publication) -> None:
        with self._lock:
            self._publications.append(publication)

    def unpublished(self, network: str, remote_id: str) -> None:
        with self._lock:
            self._publications = [
                p
                for p in self._publications
                if not (p.network == network and p.remote_id == remote_id)
            ]

    def followers(self, network: str, account_id: str, at: datetime) -> int:
        """Followers at ``at``. Instants are taken to the hour, and a publication's weight comes
        from its rank on the account (not from its remote id, which may carry a timestamp), so a
        replay whose requests arrive a few seconds apart gives the same numbers."""
        profile = self.profiles.get(network)
        if profile is None:
            return 0
        at = _hour(at)
        days = max(0.0, (at - self.epoch).total_seconds() / 86400)
        trend = profile.base * (1 + profile.daily_rate) ** days
        wobble = (_unit(self.seed, network, account_id, int(days)) - 0.5) * 2 * profile.wobble
        with self._lock:
            pubs = sorted(
                (p for p in self._publications
                 if p.network == network and p.account_id == account_id),
                key=lambda p: p.at,
            )
        gained = 0.0
        for rank, pub in enumerate(pubs):
            published = _hour(pub.at)
            if published <= at:
                realised = min(1.0, (at - published) / timedelta(days=1))
                bump = profile.bumps.get(pub.kind, profile.bumps.get("post", 0))
                weight = 0.75 + 0.5 * _unit(self.seed, network, account_id, rank)
                gained += bump * realised * weight
        return max(0, round(trend * (1 + wobble) + gained))

    def engagement(self, network: str, remote_id: str, published_at: datetime, at: datetime) -> dict[str, int]:
        """Reactions, comments, shares, views of one post: a saturating curve over three days."""
        hours = max(0.0, (at - published_at).total_seconds() / 3600)
        reach = 1 - math.exp(-hours / 18)
        quality = 0.5 + _unit(self.seed, network, remote_id, "quality")
        views = int(2400 * quality * reach)
        return {
            "views": views,
            "reactions": int(views * 0.045 * quality),
            "comments": int(views * 0.008 * quality),
            "shares": int(views * 0.006 * quality),
        }

    def comments(
        self, network: str, remote_id: str, published_at: datetime, at: datetime
    ) -> list[dict[str, Any]]:
        """Learners' comments on one post written by ``at``, oldest first.

        A post gets ``min(25, its comment count after three days)`` comments whose times follow
        the engagement curve (most in the first day); the set only grows as ``at`` moves on, and
        a comment never appears with a time already passed, so a reader keeping the newest time
        it saw misses nothing. About one in five answers an earlier comment (``reply_to``: its
        id). Each has ``id``, ``author``, ``text``, ``language``, ``topic``, ``question``,
        ``created_at`` (ISO).
        """
        total = min(25, self.engagement(network, remote_id, published_at,
                                        published_at + timedelta(days=3))["comments"])
        drafts = []
        for index in range(total):
            # the inverse of the reach curve 1 - exp(-h / 18), up to 98 % of it (70 hours)
            hours = -18 * math.log(1 - 0.98 * _unit(self.seed, remote_id, index, "t"))
            at_i = published_at + timedelta(minutes=5) + timedelta(hours=hours)
            drafts.append((at_i, index))
        drafts.sort()
        out: list[dict[str, Any]] = []
        for rank, (created, index) in enumerate(drafts):
            if created > at:
                break
            said = MESSAGES[int(_unit(self.seed, remote_id, index) * len(MESSAGES))]
            reply_to = None
            if rank and _unit(self.seed, remote_id, index, "r") < 0.2:
                reply_to = out[int(_unit(self.seed, remote_id, index, "p") * rank)]["id"]
            out.append(
                {
                    "id": f"{remote_id}-c{index + 1}",
                    "author": LEARNERS[int(_unit(self.seed, remote_id, index, "a") * len(LEARNERS))],
                    "text": said.text,
                    "language": said.language,
                    "topic": said.topic,
                    "question": said.question,
                    "reply_to": reply_to,
                    "created_at": created.isoformat(),
                }
            )
        return out

    def mentions(self, network: str, account_id: str, at: datetime) -> list[dict[str, Any]]:
        """Posts naming the account, not answering any of its posts, up to ``at`` (oldest
        first): about three a day from the epoch, questions and remarks from the same bank."""
        out: list[dict[str, Any]] = []
        instant, index = self.epoch, 0
        while True:
            # exponential gaps, eight hours on average
            instant += timedelta(hours=-8 * math.log(1 - _unit(self.seed, account_id, index, "g")))
            if instant > at:
                return out
            said = MESSAGES[int(_unit(self.seed, account_id, index, "m") * len(MESSAGES))]
            out.append(
                {
                    "id": f"{network}-{account_id}-m{index + 1}",
                    "author": LEARNERS[int(_unit(self.seed, account_id, index, "a") * len(LEARNERS))],
                    "text": said.text,
                    "language": said.language,
                    "topic": said.topic,
                    "question": said.question,
                    "created_at": instant.isoformat(),
                }
            )
            index += 1

    def live_chat(
        self, chat_id: str, start: datetime, end: datetime, at: datetime
    ) -> list[dict[str, Any]]:
        """A live session's chat written by ``at``: a burst of 30 to 60 lines between ``start``
        and ``end``, denser in the first minutes (greetings) and when questions open."""
        total = 30 + int(_unit(self.seed, chat_id, "n") * 31)
        span = max((end - start).total_seconds(), 60.0)
        drafts = sorted(
            (start + timedelta(seconds=span * _unit(self.seed, chat_id, i, "t") ** 1.6), i)
            for i in range(total)
        )
        out: list[dict[str, Any]] = []
        for created, index in drafts:
            if created > at:
                break
            said = LIVE_CHAT[int(_unit(self.seed, chat_id, index) * len(LIVE_CHAT))]
            out.append(
                {
                    "id": f"{chat_id}-l{index + 1}",
                    "author": LEARNERS[int(_unit(self.seed, chat_id, index, "a") * len(LEARNERS))],
                    "text": said.text,
                    "language": said.language,
                    "topic": said.topic,
                    "question": said.question,
                    "created_at": created.isoformat(),
                }
            )
        return out
