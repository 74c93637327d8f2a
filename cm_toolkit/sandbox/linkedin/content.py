"""Posts and images: ``/rest/posts``, ``/rest/images`` and the ``dms-uploads`` upload URLs."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any
from urllib.parse import unquote

from cm_toolkit.sandbox.audience import Publication
from cm_toolkit.sandbox.core import SandboxRequest, SandboxResponse, Token, route
from cm_toolkit.sandbox.linkedin.base import LinkedInBase
from cm_toolkit.sandbox.linkedin.model import (
    SHARE_ID_BASE,
    Image,
    ImageStatus,
    Post,
    access_denied,
    bad_request,
    duplicate_post,
    epoch_ms,
    linkedin_error,
    not_found_entity,
    opaque_id,
    validation_error,
)
from cm_toolkit.sandbox.linkedin.validation import PostValidator, image_ids, render_little

_TRAILING_HASHTAGS = re.compile(r"(\s*#\w+)+\s*$")


def publication_kind(entity: dict[str, Any], rendered: str) -> str:
    """The audience's kind: article (link post), visual (images), debate (ends with a question)."""
    content = entity.get("content") or {}
    if "article" in content:
        return "article"
    if "media" in content or "multiImage" in content:
        return "visual"
    if _TRAILING_HASHTAGS.sub("", rendered).rstrip().endswith("?"):
        return "debate"
    return "post"


def json_body(request: SandboxRequest) -> Any:
    try:
        return json.loads(request.body or b"")
    except ValueError:
        raise bad_request("Cannot parse request entity") from None


class ContentRoutes(LinkedInBase):
    # -- posts ------------------------------------------------------------------------------

    @route("POST", r"/rest/posts", creates=True)
    def create_post(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        self.spend("posts.create", token, request)
        body = json_body(request)
        validator = PostValidator()
        validator.post(body)
        if validator.errors:
            raise validation_error(validator.message())
        author = body["author"]
        if not self.administers(token, author) or (
            author.startswith("urn:li:organization:") and self.organization(author) is None
        ):
            raise access_denied("/author")
        problems = []
        for path, urn in image_ids(body.get("content")):
            image = self.data.images.get(urn)
            if image is None:
                problems.append(f"ERROR :: {path} :: {urn} does not exist")
            elif image.status is not ImageStatus.AVAILABLE:
                problems.append(f"ERROR :: {path} :: {urn} is not AVAILABLE ({image.status.value})")
        if problems:
            raise validation_error("".join(p + "\n" for p in problems))
        commentary = body.get("commentary", "")
        for post in self.data.posts.values():
            if (
                post.author == author
                and post.deleted_at is None
                and commentary
                and post.commentary == commentary
            ):
                raise duplicate_post(post.urn)
        now = self.ctx.now()
        urn = f"urn:li:share:{SHARE_ID_BASE + self.ctx.next_id('linkedin-share')}"
        rendered, truncated = render_little(commentary)
        post = Post(
            urn,
            author,
            commentary,
            rendered,
            truncated,
            body,
            publication_kind(body, rendered),
            now,
        )
        self.data.posts[urn] = post
        org = self.organization(author)
        if org is not None and body["lifecycleState"] == "PUBLISHED":
            self.ctx.audience.published(Publication(self.network, org.number, urn, post.kind, now))
        return SandboxResponse.empty(201, {"x-restli-id": urn, "x-linkedin-id": urn})

    def _live_post(self, encoded: str) -> Post:
        post = self.data.posts.get(unquote(encoded))
        if post is None or post.deleted_at is not None:
            raise not_found_entity()
        return post

    @route("GET", r"/rest/posts/(?P<urn>[^/]+)")
    def get_post(self, request: SandboxRequest, token: Token, urn: str) -> SandboxResponse:
        self.spend("posts.get", token, request)
        post = self._live_post(urn)
        stamp = epoch_ms(post.created_at)
        entity = {
            **post.entity,
            "id": post.urn,
            "isReshareDisabledByAuthor": post.entity.get("isReshareDisabledByAuthor", False),
            "createdAt": stamp,
            "lastModifiedAt": stamp,
            "publishedAt": stamp,
            "lifecycleStateInfo": {"isEditedByAuthor": False},
        }
        return SandboxResponse.json(200, entity)

    @route("DELETE", r"/rest/posts/(?P<urn>[^/]+)")
    def delete_post(self, request: SandboxRequest, token: Token, urn: str) -> SandboxResponse:
        self.spend("posts.delete", token, request)
        post = self._live_post(urn)
        if not self.administers(token, post.author):
            raise linkedin_error(
                403,
                f"Not enough permissions to access: posts.DELETE.{request.header('linkedin-version')}",
                code="ACCESS_DENIED",
                service_code=100,
            )
        post.deleted_at = self.ctx.now()
        self.ctx.audience.unpublished(self.network, post.urn)
        return SandboxResponse.empty(204)

    # -- images -----------------------------------------------------------------------------

    @route("POST", r"/rest/images")
    def images_action(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        if request.query.get("action") != ["initializeUpload"]:
            raise bad_request(f"Unsupported action {request.arg('action')!r} on resource images")
        self.spend("images.initializeUpload", token, request)
        body = json_body(request)
        validator = PostValidator()
        upload = body.get("initializeUploadRequest") if isinstance(body, dict) else None
        if not isinstance(upload, dict):
            validator.error(
                "/initializeUploadRequest",
                "field is required but not found and has no default value",
            )
        else:
            validator.unknown(upload, {"owner", "mediaLibraryMetadata"}, "/initializeUploadRequest")
            validator.string(upload, "owner", "/initializeUploadRequest", required=True)
        if validator.errors:
            raise validation_error(validator.message())
        assert isinstance(upload, dict)
        owner = upload["owner"]
        if not self.administers(token, owner):
            raise access_denied("/initializeUploadRequest/owner")
        now = self.ctx.now()
        asset = "D4E10AQ" + opaque_id(self.ctx.seed, "image", self.ctx.next_id("linkedin-image"))
        image = Image(
            f"urn:li:image:{asset}", owner, f"/dms-uploads/sp/v2/{asset}/uploaded-image/0", now
        )
        self.data.images[image.urn] = image
        upload_url = (
            f"https://www.linkedin.com{image.upload_path}"
            f"?ca=vector_feedshare&cn=uploads&iri=B01-77&sync=0&v=beta&ut={opaque_id(self.ctx.seed, 'ut', len(self.data.images))}"
        )
        return SandboxResponse.json(
            200,
            {
                "value": {
                    "uploadUrlExpiresAt": epoch_ms(now + timedelta(days=1)),
                    "uploadUrl": upload_url,
                    "image": image.urn,
                }
            },
        )

    @route("PUT", r"/dms-uploads/(?P<rest>.+)")
    def upload_image(self, request: SandboxRequest, token: Token, rest: str) -> SandboxResponse:
        self.spend("images.upload", token, request)
        image = next((i for i in self.data.images.values() if i.upload_path == request.path), None)
        if image is None:
            raise not_found_entity()
        if not self.administers(token, image.owner):
            raise access_denied("/owner")
        if not request.body:
            raise bad_request("The upload is empty")
        image.status, image.size = ImageStatus.AVAILABLE, len(request.body)
        return SandboxResponse(201, b"", {"content-type": "text/plain"})

    @route("GET", r"/rest/images/(?P<urn>[^/]+)")
    def get_image(self, request: SandboxRequest, token: Token, urn: str) -> SandboxResponse:
        self.spend("images.get", token, request)
        image = self.data.images.get(unquote(urn))
        if image is None:
            raise not_found_entity()
        asset = image.urn.rsplit(":", 1)[1]
        payload: dict[str, Any] = {
            "owner": image.owner,
            "status": image.status.value,
            "id": image.urn,
        }
        if image.status is ImageStatus.AVAILABLE:
            payload["downloadUrlExpiresAt"] = epoch_ms(self.ctx.now() + timedelta(days=60))
            payload["downloadUrl"] = (
                f"https://media.licdn.com/dms/image/{asset}/feedshare-shrink_2048_1536/0/"
            )
        return SandboxResponse.json(200, payload)
