"""YouTube comments: ``commentThreads.list`` and ``comments.insert``, checked against the
discovery document (live chat: ``youtube_chat.py``).

Comments come from the simulated audience (and the channel's own replies). Threads are listed
newest activity first (a thread's last reply counts: the sandbox's reading of ``order=time``,
unconfirmed on YouTube), ``maxResults`` per page (1-100, default 20) with ``nextPageToken``;
``part=replies`` gives up to five replies, oldest first, whose ids are ``PARENT.SUFFIX`` as on
YouTube. A reply (``comments.insert``, ``snippet.parentId`` + ``snippet.textOriginal``) costs 50
units; its parent must be a top-level comment.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from cm_toolkit.sandbox.core import SandboxRequest, SandboxResponse, Token, route
from cm_toolkit.sandbox.google.base import google_error
from cm_toolkit.sandbox.google.youtube_base import V3, YouTubeBase, page_offset, page_token
from cm_toolkit.sandbox.google.youtube_state import Video, etag, rfc3339

REPLIES_SHOWN = 5  # commentThreads.list part=replies shows at most five replies


def _token(offset: int) -> str:
    return page_token("CAE", offset)


def _offset(token: str | None) -> int:
    return page_offset("CAE", token, "invalidPageToken", "youtube.parameter")


def _author(name: str) -> dict[str, Any]:
    channel = "UC" + etag(name)[:22]
    return {
        "authorDisplayName": name,
        "authorProfileImageUrl": "https://yt3.ggpht.com/ytc/default-user=s48",
        "authorChannelUrl": f"http://www.youtube.com/channel/{channel}",
        "authorChannelId": {"value": channel},
    }


class CommentRoutes(YouTubeBase):
    # -- comment threads -------------------------------------------------------------------

    def video_since(self, video: Video) -> datetime:
        if video.live is not None:
            return video.live.actual_start or video.live.scheduled_start
        return video.publish_at or video.published_at

    def comments_of(self, video: Video) -> list[dict[str, Any]]:
        """Every comment on a video up to now, oldest first: learners' and the channel's."""
        now = self.ctx.now()
        since = self.video_since(video)
        learners = self.ctx.audience.comments("youtube", video.id, since, max(now, since))
        tops = {c["id"] for c in learners if not c.get("reply_to")}
        out = []
        for item in learners:
            parent = item.get("reply_to")
            while parent and parent not in tops:  # YouTube has one level: attach to the top
                parent = next((c.get("reply_to") for c in learners if c["id"] == parent), None)
            comment_id = f"{parent}.{item['id']}" if parent else item["id"]
            out.append({**item, "id": comment_id, "parent": parent, **_author(item["author"])})
        for parent, written in self.store.replies.items():
            if any(c["id"] == parent for c in out):
                out.extend(written)
        return sorted(out, key=lambda c: (c["created_at"], c["id"]))

    def comment_resource(self, video: Video, item: dict[str, Any], plain: bool) -> dict[str, Any]:
        published = rfc3339(datetime.fromisoformat(item["created_at"]))
        text = item["text"]
        snippet: dict[str, Any] = {
            "channelId": video.channel_id,
            "videoId": video.id,
            "textDisplay": text if plain else html.escape(text),
            "textOriginal": text,
            **{k: item[k] for k in ("authorDisplayName", "authorProfileImageUrl",
                                    "authorChannelUrl", "authorChannelId")},
            "canRate": True,
            "viewerRating": "none",
            "likeCount": 0,
            "publishedAt": published,
            "updatedAt": published,
        }
        if item.get("parent"):
            snippet["parentId"] = item["parent"]
        out: dict[str, Any] = {"kind": "youtube#comment", "id": item["id"], "snippet": snippet}
        out["etag"] = etag(out)
        return out

    @route("GET", V3 + "/commentThreads")
    def comment_threads_list(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        method = "youtube.commentThreads.list"

        def check() -> tuple[list[str], dict[str, str], list[Video]]:
            query = self.doc.check_query(request, method)
            parts = self.doc.check_part(query["part"], "CommentThread")
            used = self.one_filter(query, ("allThreadsRelatedToChannelId", "id", "videoId"))
            _offset(query.get("pageToken"))
            if used == "videoId":
                video = self.store.videos.get(query["videoId"])
                if video is None:
                    raise google_error(
                        404,
                        'The video identified by the <code><a href="/youtube/v3/docs/'
                        'commentThreads/list#videoId">videoId</a></code> parameter could not '
                        "be found.",
                        reason="videoNotFound", domain="youtube.commentThread",
                        location="videoId",
                    )
                return parts, query, [video]
            if used == "allThreadsRelatedToChannelId":
                channel = query["allThreadsRelatedToChannelId"]
                if channel not in self.store.accounts:
                    raise google_error(
                        404, "The channel could not be found.", reason="channelNotFound",
                        domain="youtube.commentThread", location="allThreadsRelatedToChannelId",
                    )
                return parts, query, [v for v in self.store.videos.values()
                                      if v.channel_id == channel]
            return parts, query, []

        parts, query, videos = self.metered(method, check)
        plain = query.get("textFormat") == "plainText"
        threads = []
        for video in videos:
            comments = self.comments_of(video)
            for top in (c for c in comments if not c.get("parent")):
                replies = [c for c in comments if c.get("parent") == top["id"]]
                last = max([top["created_at"], *(r["created_at"] for r in replies)])
                threads.append((last, top["id"], self._thread(video, top, replies, parts, plain)))
        threads.sort(key=lambda t: (t[0], t[1]), reverse=True)
        per_page = int(query.get("maxResults", "20"))
        offset = _offset(query.get("pageToken"))
        items = [t[2] for t in threads]
        answer = self.list_response("youtube#commentThreadListResponse",
                                    items[offset:], per_page)
        answer["pageInfo"]["totalResults"] = len(items)
        if offset + per_page < len(items):
            answer["nextPageToken"] = _token(offset + per_page)
        return SandboxResponse.json(200, answer)

    def _thread(
        self, video: Video, top: dict[str, Any], replies: list[dict[str, Any]],
        parts: list[str], plain: bool,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": "youtube#commentThread", "id": top["id"]}
        if "snippet" in parts:
            out["snippet"] = {
                "channelId": video.channel_id,
                "videoId": video.id,
                "topLevelComment": self.comment_resource(video, top, plain),
                "canReply": True,
                "totalReplyCount": len(replies),
                "isPublic": True,
            }
        if "replies" in parts and replies:
            shown = replies[-REPLIES_SHOWN:]
            out["replies"] = {"comments": [self.comment_resource(video, r, plain) for r in shown]}
        out["etag"] = etag(out)
        return out

    @route("POST", V3 + "/comments", creates=True)
    def comments_insert(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        method = "youtube.comments.insert"
        account = self.account(token)

        def check() -> tuple[dict[str, Any], Video, dict[str, Any]]:
            query = self.doc.check_query(request, method)
            self.doc.check_part(query["part"], "Comment")
            body = self.json_body(request)
            self.doc.check_body(body, "Comment", method)
            snippet = body.get("snippet") or {}
            text = str(snippet.get("textOriginal") or "")
            if not text.strip():
                raise google_error(400, "The comment is empty.", reason="commentTextRequired",
                                   domain="youtube.comment")
            if len(text) > 10_000:
                raise google_error(400, "The comment is too long.", reason="commentTextTooLong",
                                   domain="youtube.comment")
            for video in self.store.videos.values():
                for comment in self.comments_of(video):
                    if comment["id"] == snippet.get("parentId"):
                        if comment.get("parent"):
                            raise google_error(
                                400, "The comment's parent must be a top-level comment.",
                                reason="operationNotSupported", domain="youtube.comment")
                        return snippet, video, comment
            raise google_error(404, "The specified parent comment could not be found.",
                               reason="parentCommentNotFound", domain="youtube.comment",
                               location="snippet.parentId")

        snippet, video, parent = self.metered(method, check)
        number = self.ctx.next_id("youtube-reply")
        item = {
            "id": f"{parent['id']}.{etag([parent['id'], number])[:22]}",
            "parent": parent["id"],
            "author": account.title,
            "text": snippet["textOriginal"],
            "created_at": self.ctx.now().isoformat(),
            **_author(account.title),
            "authorChannelId": {"value": account.channel_id},
        }
        self.store.replies.setdefault(parent["id"], []).append(item)
        return SandboxResponse.json(200, self.comment_resource(video, item, False))
