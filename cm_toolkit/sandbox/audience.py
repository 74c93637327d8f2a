"""A deterministic simulated audience: follower growth and engagement, from a seed.

Followers of an account at instant ``t`` = a base trend (compound daily growth from the
sandbox's epoch) + bumps from what the account published (a visual post on Facebook, an article
on X, a live session on YouTube, a debate post on LinkedIn), each bump realised over a day, +
a small day-to-day wobble drawn from ``(seed, account, day)``. The same seed and the same
publications give the same history. Profiles are tuned so that the sample season ends near the
course's reported outcomes (X about x2.5, LinkedIn about x3); see docs/sandbox.md.
"""

from __future__ import annotations

import hashlib
import math
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class GrowthProfile:
    base: int  # followers at the epoch
    daily_rate: float  # organic compound growth per day
    bumps: dict[str, int] = field(default_factory=dict)  # publication kind -> followers gained
    wobble: float = 0.002  # day-to-day noise, as a fraction of the base


DEFAULT_PROFILES: dict[str, GrowthProfile] = {
    "facebook": GrowthProfile(8200, 0.004, {"visual": 60, "post": 25, "live": 40}),
    "x": GrowthProfile(3100, 0.0078, {"article": 70, "post": 30, "live": 35}),
    "linkedin": GrowthProfile(1500, 0.0085, {"debate": 95, "post": 40, "article": 55}),
    "youtube": GrowthProfile(2400, 0.004, {"live": 240, "video": 90}),
    "meet": GrowthProfile(0, 0.0),
}


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
        self.profiles = dict(DEFAULT_PROFILES if profiles is None else profiles)
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

    def comments(self, network: str, remote_id: str, published_at: datetime, at: datetime) -> list[dict[str, str]]:
        """Deterministic learner comments; some are questions about the course."""
        count = self.engagement(network, remote_id, published_at, at)["comments"]
        out = []
        for index in range(min(count, 25)):
            pick = int(_unit(self.seed, remote_id, index) * len(COMMENTS))
            minutes = 5 + int(_unit(self.seed, remote_id, index, "t") * 60 * 24)
            out.append(
                {
                    "id": f"{remote_id}-c{index + 1}",
                    "author": LEARNERS[int(_unit(self.seed, remote_id, index, "a") * len(LEARNERS))],
                    "text": COMMENTS[pick],
                    "created_at": (published_at + timedelta(minutes=minutes)).isoformat(),
                }
            )
        return out


LEARNERS = [
    "Awa Diallo", "Julien Moreau", "Fatima Benali", "Marc Tremblay", "Sofia Rossi",
    "Koffi Mensah", "Claire Dubois", "Nguyen Thi Lan", "Pedro Alves", "Amina Traoré",
]
COMMENTS = [
    "Merci pour ce module, très concret !",
    "Est-ce que le replay du live sera disponible ?",
    "Comment obtient-on l'attestation de suivi ?",
    "Super échange hier soir, merci à l'équipe.",
    "Où trouve-t-on les ressources du module 3 ?",
    "Le quiz de la semaine 2 est-il noté ?",
    "Je partage avec mon équipe, merci !",
    "Peut-on rejoindre le cours en cours de route ?",
    "Très bonne question sur le leadership à distance.",
    "À quelle heure commence le direct (heure de Dakar) ?",
]
