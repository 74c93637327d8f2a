"""Audience reads: ``networkSizes``, follower and share statistics, comments on a post.

Numbers come from the shared deterministic ``Audience`` (followers of organization N are the
audience's account ``N``; a share's impressions/likes/comments/shares are its engagement curve).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote

from cm_toolkit.sandbox.core import SandboxRequest, SandboxResponse, Token, route
from cm_toolkit.sandbox.linkedin.base import LinkedInBase
from cm_toolkit.sandbox.linkedin.model import (
    Organization,
    Post,
    bad_request,
    epoch_ms,
    fraction,
    linkedin_error,
    not_found_entity,
)
from cm_toolkit.sandbox.linkedin.restli import RestliSyntaxError, query_list, query_record

_GRANULARITY = {"DAY": timedelta(days=1), "WEEK": timedelta(weeks=1), "MONTH": timedelta(days=30)}
MAX_BUCKETS = 400

# How an organization's followers split by facet (weights of the total), for lifetime stats.
_FACETS: dict[str, tuple[str, list[tuple[str, float]]]] = {
    "followerCountsByAssociationType": ("associationType", [("EMPLOYEE", 0.01)]),
    "followerCountsBySeniority": (
        "seniority",
        [("urn:li:seniority:3", 0.34), ("urn:li:seniority:4", 0.31), ("urn:li:seniority:5", 0.22)],
    ),
    "followerCountsByFunction": (
        "function",
        [("urn:li:function:12", 0.28), ("urn:li:function:16", 0.21), ("urn:li:function:4", 0.17)],
    ),
    "followerCountsByIndustry": (
        "industry",
        [("urn:li:industry:69", 0.26), ("urn:li:industry:104", 0.19), ("urn:li:industry:96", 0.12)],
    ),
    "followerCountsByStaffCountRange": (
        "staffCountRange",
        [("SIZE_11_TO_50", 0.24), ("SIZE_201_TO_500", 0.21), ("SIZE_10001_OR_MORE", 0.18)],
    ),
    "followerCountsByGeoCountry": (
        "geo",
        # France, Senegal, Canada, Côte d'Ivoire, Morocco, Cameroon, Belgium
        [
            ("urn:li:geo:105015875", 0.41),
            ("urn:li:geo:103587512", 0.12),
            ("urn:li:geo:101174742", 0.10),
            ("urn:li:geo:103295271", 0.09),
            ("urn:li:geo:102787409", 0.08),
            ("urn:li:geo:105745966", 0.06),
            ("urn:li:geo:100565514", 0.05),
        ],
    ),
}


def _paging(count: int = 10, start: int = 0) -> dict[str, Any]:
    return {"start": start, "count": count, "links": []}


def _from_ms(value: Any, name: str) -> datetime:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError):
        raise bad_request(f"Invalid value {value!r} for {name}") from None


class StatsRoutes(LinkedInBase):
    def _query(self, request: SandboxRequest) -> dict[str, list[str]]:
        """The query, or the form body of a tunnelled GET (``X-HTTP-Method-Override: GET``)."""
        if request.method == "POST":
            if (request.header("x-http-method-override") or "").upper() != "GET":
                raise linkedin_error(
                    404, "No virtual resource found", code="RESOURCE_NOT_FOUND", service_code=0
                )
            return parse_qs(request.body.decode(), keep_blank_values=True)
        return request.query

    def _finder_org(
        self, query: dict[str, list[str]], resource: str, token: Token, request: SandboxRequest
    ) -> Organization:
        if query.get("q") != ["organizationalEntity"]:
            raise bad_request(
                f"Unsupported finder {query.get('q', [''])[0]!r} on resource {resource}"
            )
        urn = (query.get("organizationalEntity") or [""])[0]
        if not urn:
            raise bad_request("Missing required parameter organizationalEntity")
        org = self.organization(urn)
        if org is None:
            raise not_found_entity()
        if not self.administers(token, urn):
            raise linkedin_error(
                403,
                f"Not enough permissions to access: {resource}.FINDER-organizationalEntity."
                f"{request.header('linkedin-version')}",
                code="ACCESS_DENIED",
                service_code=100,
            )
        return org

    def _intervals(self, query: dict[str, list[str]]) -> list[tuple[datetime, datetime]] | None:
        try:
            record = query_record(query, "timeIntervals")
        except RestliSyntaxError as exc:
            raise bad_request(f"Invalid value for parameter timeIntervals: {exc}") from None
        if record is None:
            return None
        granularity = str(record.get("timeGranularityType", "DAY"))
        if granularity not in _GRANULARITY:
            raise bad_request(f"Invalid timeGranularityType {granularity!r}")
        time_range = record.get("timeRange")
        if not isinstance(time_range, dict) or "start" not in time_range:
            raise bad_request("timeIntervals.timeRange.start is required")
        start = _from_ms(time_range["start"], "timeRange.start")
        end = (
            _from_ms(time_range["end"], "timeRange.end") if "end" in time_range else self.ctx.now()
        )
        step = _GRANULARITY[granularity]
        buckets: list[tuple[datetime, datetime]] = []
        while start < end and len(buckets) < MAX_BUCKETS:
            buckets.append((start, min(start + step, end)))
            start += step
        return buckets

    # -- followers --------------------------------------------------------------------------

    @route("GET", r"/rest/networkSizes/(?P<urn>[^/]+)")
    def network_size(self, request: SandboxRequest, token: Token, urn: str) -> SandboxResponse:
        self.spend("networkSizes.get", token, request)
        edge = request.arg("edgeType")
        if edge is None:
            raise bad_request("Missing required parameter edgeType")
        if edge != "COMPANY_FOLLOWED_BY_MEMBER":
            raise bad_request(f"Invalid value {edge} for parameter edgeType")
        org = self.organization(unquote(urn))
        if org is None:
            raise not_found_entity()
        size = self.ctx.audience.followers(self.network, org.number, self.ctx.now())
        return SandboxResponse.json(200, {"firstDegreeSize": size})

    @route("GET", r"/rest/organizationalEntityFollowerStatistics")
    @route("POST", r"/rest/organizationalEntityFollowerStatistics")
    def follower_statistics(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        self.spend("followerStatistics.finder", token, request)
        query = self._query(request)
        org = self._finder_org(query, "organizationalEntityFollowerStatistics", token, request)
        intervals = self._intervals(query)
        followers = self.ctx.audience.followers
        if intervals is None:
            total = followers(self.network, org.number, self.ctx.now())
            element: dict[str, Any] = {}
            for facet, (key, weights) in _FACETS.items():
                element[facet] = [
                    {
                        key: value,
                        "followerCounts": {
                            "organicFollowerCount": round(total * w),
                            "paidFollowerCount": 0,
                        },
                    }
                    for value, w in weights
                ]
            element["organizationalEntity"] = org.urn
            return SandboxResponse.json(200, {"paging": _paging(), "elements": [element]})
        elements = [
            {
                "timeRange": {"start": epoch_ms(start), "end": epoch_ms(end)},
                "followerGains": {
                    "organicFollowerGain": followers(self.network, org.number, end)
                    - followers(self.network, org.number, start),
                    "paidFollowerGain": 0,
                },
                "organizationalEntity": org.urn,
            }
            for start, end in intervals
        ]
        return SandboxResponse.json(200, {"paging": _paging(len(elements)), "elements": elements})

    # -- engagement -------------------------------------------------------------------------

    def share_statistics(self, post: Post, at: datetime) -> dict[str, Any]:
        raw = self.ctx.audience.engagement(self.network, post.urn, post.created_at, at)
        impressions = raw["views"]
        clicks = int(impressions * (0.012 + 0.02 * fraction(self.ctx.seed, post.urn, "clicks")))
        likes, comments, shares = raw["reactions"], raw["comments"], raw["shares"]
        return {
            "uniqueImpressionsCount": int(impressions * 0.78),
            "shareCount": shares,
            "engagement": (clicks + likes + comments + shares) / impressions
            if impressions
            else 0.0,
            "clickCount": clicks,
            "likeCount": likes,
            "impressionCount": impressions,
            "commentCount": comments,
        }

    @staticmethod
    def _sum(stats: list[dict[str, Any]]) -> dict[str, Any]:
        keys = (
            "uniqueImpressionsCount",
            "shareCount",
            "clickCount",
            "likeCount",
            "impressionCount",
            "commentCount",
        )
        total: dict[str, Any] = {key: sum(s[key] for s in stats) for key in keys}
        engaged = (
            total["clickCount"] + total["likeCount"] + total["commentCount"] + total["shareCount"]
        )
        total["engagement"] = (
            engaged / total["impressionCount"] if total["impressionCount"] else 0.0
        )
        return total

    @route("GET", r"/rest/organizationalEntityShareStatistics")
    @route("POST", r"/rest/organizationalEntityShareStatistics")
    def share_statistics_finder(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        self.spend("shareStatistics.finder", token, request)
        query = self._query(request)
        org = self._finder_org(query, "organizationalEntityShareStatistics", token, request)
        try:
            shares = query_list(query, "shares")
            ugc = query_list(query, "ugcPosts")
        except RestliSyntaxError as exc:
            raise bad_request(f"Invalid value for parameter shares: {exc}") from None
        now = self.ctx.now()
        posts = [
            p for p in self.data.posts.values() if p.author == org.urn and p.deleted_at is None
        ]
        if shares is not None or ugc is not None:
            wanted = list(shares or []) + list(ugc or [])
            by_urn = {p.urn: p for p in posts}
            elements = []
            for urn in wanted:
                post = by_urn.get(urn)
                if post is None:
                    continue  # LinkedIn leaves out shares it has no statistics for
                key = "share" if urn.startswith("urn:li:share:") else "ugcPost"
                elements.append(
                    {
                        "totalShareStatistics": self.share_statistics(post, now),
                        key: urn,
                        "organizationalEntity": org.urn,
                    }
                )
            return SandboxResponse.json(
                200, {"paging": _paging(len(elements)), "elements": elements}
            )
        intervals = self._intervals(query)
        if intervals is None:
            total = (
                self._sum([self.share_statistics(p, now) for p in posts])
                if posts
                else self._sum([])
            )
            element = {"totalShareStatistics": total, "organizationalEntity": org.urn}
            return SandboxResponse.json(200, {"paging": _paging(), "elements": [element]})
        elements = []
        for start, end in intervals:
            in_range = [p for p in posts if p.created_at < end]
            window = []
            for post in in_range:
                late = self.share_statistics(post, end)
                early = self.share_statistics(post, max(start, post.created_at))
                window.append({k: late[k] - early[k] for k in late if k != "engagement"})
            stats = self._sum(window) if window else self._sum([])
            elements.append(
                {
                    "timeRange": {"start": epoch_ms(start), "end": epoch_ms(end)},
                    "totalShareStatistics": stats,
                    "organizationalEntity": org.urn,
                }
            )
        return SandboxResponse.json(200, {"paging": _paging(len(elements)), "elements": elements})
