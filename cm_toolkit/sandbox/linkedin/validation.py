"""The Posts API's request validation, in LinkedIn's (Rest.li's) own words, and "little" text.

Schema problems are all reported at once, one ``ERROR :: /path :: reason`` line each, in a 422
answer, which is what LinkedIn's Rest.li layer returns (``{"message": "ERROR :: /distribution ::
field is required but not found and has no default value\\n", "status": 422}``). A body that is
not JSON at all is Rest.li's 400 ``Cannot parse request entity``.

``render_little`` shows what a reader would see of a ``commentary`` written in the "little" text
format: escapes removed, hashtag and mention templates resolved, and the text cut at the first
unescaped reserved character, as LinkedIn does with an unescaped "(" or "@".
"""

from __future__ import annotations

import json
import re
from typing import Any

COMMENTARY_MAX = 3000
MULTI_IMAGE_MIN, MULTI_IMAGE_MAX = 2, 20
ALT_TEXT_MAX = 4086

VISIBILITY = ("PUBLIC", "CONNECTIONS", "LOGGED_IN", "CONTAINER")
LIFECYCLE = ("DRAFT", "PUBLISHED", "PUBLISH_REQUESTED", "PUBLISH_FAILED")
FEED_DISTRIBUTION = ("MAIN_FEED", "NONE")
_URN = re.compile(r"urn:li:([A-Za-z]+):[0-9A-Za-z_-]+")
AUTHOR_TYPES = ("organization", "organizationBrand", "person")
IMAGE_TYPES = ("image",)
MEDIA_TYPES = ("document", "image", "video")

_POST_FIELDS = {
    "author",
    "commentary",
    "visibility",
    "distribution",
    "lifecycleState",
    "content",
    "isReshareDisabledByAuthor",
    "contentLandingPage",
    "contentCallToActionLabel",
    "adContext",
    "container",
}
_REQUIRED = ("author", "visibility", "distribution", "lifecycleState")


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


class PostValidator:
    """Collects every problem of one ``POST /rest/posts`` body (Rest.li reports them all)."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def error(self, path: str, reason: str) -> None:
        self.errors.append(f"ERROR :: {path} :: {reason}")

    def message(self) -> str:
        return "".join(line + "\n" for line in self.errors)

    # -- typed field checks -------------------------------------------------------------

    def string(self, data: dict[str, Any], key: str, path: str, *, required: bool) -> str | None:
        if key not in data:
            if required:
                self.error(
                    f"{path}/{key}", "field is required but not found and has no default value"
                )
            return None
        value = data[key]
        if not isinstance(value, str):
            self.error(f"{path}/{key}", f"{_show(value)} cannot be coerced to String")
            return None
        return value

    def enum(self, data: dict[str, Any], key: str, path: str, symbols: tuple[str, ...]) -> None:
        value = self.string(data, key, path, required=True)
        if value is not None and value not in symbols:
            self.error(f"{path}/{key}", f"{_show(value)} is not an enum symbol")

    def urn(
        self, data: dict[str, Any], key: str, path: str, types: tuple[str, ...], *, required: bool
    ) -> None:
        value = self.string(data, key, path, required=required)
        if value is None:
            return
        match = _URN.fullmatch(value)
        if match is None:
            self.error(f"{path}/{key}", f"{_show(value)} cannot be coerced to Urn")
        elif match.group(1) not in types:
            self.error(
                f"{path}/{key}",
                f"reference value {value} is of type {match.group(1)}. "
                f"Allowed URN types are {', '.join(types)}",
            )

    def record(
        self, data: dict[str, Any], key: str, path: str, *, required: bool
    ) -> dict[str, Any] | None:
        if key not in data:
            if required:
                self.error(
                    f"{path}/{key}", "field is required but not found and has no default value"
                )
            return None
        value = data[key]
        if not isinstance(value, dict):
            self.error(f"{path}/{key}", f"{_show(value)} is not backed by a DataMap")
            return None
        return value

    def array(self, data: dict[str, Any], key: str, path: str) -> list[Any] | None:
        if key not in data:
            return None
        value = data[key]
        if not isinstance(value, list):
            self.error(f"{path}/{key}", f"{_show(value)} is not backed by a DataList")
            return None
        return value

    def unknown(self, data: dict[str, Any], allowed: set[str], path: str) -> None:
        for key in data:
            if key not in allowed:
                self.error(f"{path}/{key}", "unrecognized field found but not allowed")

    # -- the post -----------------------------------------------------------------------

    def post(self, body: Any) -> None:
        if not isinstance(body, dict):
            self.error("", f"{_show(body)} is not backed by a DataMap")
            return
        self.unknown(body, _POST_FIELDS, "")
        for key in _REQUIRED:
            if key not in body:
                self.error(f"/{key}", "field is required but not found and has no default value")
        if "author" in body:
            self.urn(body, "author", "", AUTHOR_TYPES, required=True)
        commentary = self.string(body, "commentary", "", required=False)
        if commentary is not None and len(commentary) > COMMENTARY_MAX:
            self.error(
                "/commentary", f"length of {_show(commentary)} is out of range 0...{COMMENTARY_MAX}"
            )
        if "visibility" in body:
            self.enum(body, "visibility", "", VISIBILITY)
        if "lifecycleState" in body:
            self.enum(body, "lifecycleState", "", LIFECYCLE)
        if "isReshareDisabledByAuthor" in body and not isinstance(
            body["isReshareDisabledByAuthor"], bool
        ):
            self.error(
                "/isReshareDisabledByAuthor",
                f"{_show(body['isReshareDisabledByAuthor'])} cannot be coerced to Boolean",
            )
        distribution = self.record(body, "distribution", "", required=False)
        if distribution is not None:
            self.unknown(
                distribution,
                {"feedDistribution", "targetEntities", "thirdPartyDistributionChannels"},
                "/distribution",
            )
            self.enum(distribution, "feedDistribution", "/distribution", FEED_DISTRIBUTION)
            self.array(distribution, "targetEntities", "/distribution")
            self.array(distribution, "thirdPartyDistributionChannels", "/distribution")
        content = self.record(body, "content", "", required=False)
        if content is not None:
            self.content(content)

    def content(self, content: dict[str, Any]) -> None:
        kinds = [
            k
            for k in content
            if k in ("article", "media", "multiImage", "poll", "reference", "carousel")
        ]
        self.unknown(
            content, {"article", "media", "multiImage", "poll", "reference", "carousel"}, "/content"
        )
        if len(kinds) > 1:
            self.error("/content", f"only one content type is allowed, found {', '.join(kinds)}")
        article = self.record(content, "article", "/content", required=False)
        if article is not None:
            path = "/content/article"
            self.unknown(
                article, {"source", "title", "description", "thumbnail", "thumbnailAltText"}, path
            )
            source = self.string(article, "source", path, required=True)
            if source is not None and not re.match(r"https?://", source):
                self.error(f"{path}/source", f"{_show(source)} is not a valid URL")
            self.string(article, "title", path, required=True)
            self.string(article, "description", path, required=False)
            self.urn(article, "thumbnail", path, IMAGE_TYPES, required=False)
            self.string(article, "thumbnailAltText", path, required=False)
        media = self.record(content, "media", "/content", required=False)
        if media is not None:
            path = "/content/media"
            self.unknown(media, {"id", "title", "altText"}, path)
            self.urn(media, "id", path, MEDIA_TYPES, required=True)
            self.string(media, "title", path, required=False)
            self._alt_text(media, path)
        multi = self.record(content, "multiImage", "/content", required=False)
        if multi is not None:
            path = "/content/multiImage"
            self.unknown(multi, {"images", "altText"}, path)
            if "images" not in multi:
                self.error(
                    f"{path}/images", "field is required but not found and has no default value"
                )
            images = self.array(multi, "images", path)
            if images is not None:
                if not MULTI_IMAGE_MIN <= len(images) <= MULTI_IMAGE_MAX:
                    self.error(
                        f"{path}/images",
                        f"size of the array ({len(images)}) is out of range {MULTI_IMAGE_MIN}...{MULTI_IMAGE_MAX}",
                    )
                for index, image in enumerate(images):
                    item = f"{path}/images/{index}"
                    if not isinstance(image, dict):
                        self.error(item, f"{_show(image)} is not backed by a DataMap")
                        continue
                    self.unknown(image, {"id", "altText"}, item)
                    self.urn(image, "id", item, IMAGE_TYPES, required=True)
                    self._alt_text(image, item)

    def _alt_text(self, data: dict[str, Any], path: str) -> None:
        alt = self.string(data, "altText", path, required=False)
        if alt is not None and len(alt) > ALT_TEXT_MAX:
            self.error(
                f"{path}/altText", f"length of {_show(alt)} is out of range 0...{ALT_TEXT_MAX}"
            )


def image_ids(content: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(json path, image URN) of every image a valid ``content`` refers to."""
    if not content:
        return []
    found: list[tuple[str, str]] = []
    article = content.get("article") or {}
    if article.get("thumbnail"):
        found.append(("/content/article/thumbnail", article["thumbnail"]))
    media = content.get("media") or {}
    if str(media.get("id", "")).startswith("urn:li:image:"):
        found.append(("/content/media/id", media["id"]))
    for index, image in enumerate((content.get("multiImage") or {}).get("images") or []):
        found.append((f"/content/multiImage/images/{index}/id", image["id"]))
    return found


# -- the "little" text format -------------------------------------------------------------

_RESERVED = set("|{}@[]()<>#\\*_~")
_HASHTAG = re.compile(r"\{hashtag\|\\#\|([^{}|]*)\}")
_MENTION = re.compile(r"@\[([^\]]*)\]\((urn:li:[a-zA-Z]+:[0-9A-Za-z_-]+)\)")


def render_little(commentary: str) -> tuple[str, bool]:
    """(what readers see, whether LinkedIn cut the text at an unescaped reserved character)."""
    out: list[str] = []
    index = 0
    while index < len(commentary):
        char = commentary[index]
        if char == "\\" and index + 1 < len(commentary):
            out.append(commentary[index + 1])
            index += 2
            continue
        hashtag = _HASHTAG.match(commentary, index)
        if hashtag:
            out.append("#" + hashtag.group(1).replace("\\", ""))
            index = hashtag.end()
            continue
        mention = _MENTION.match(commentary, index)
        if mention:
            out.append(mention.group(1))
            index = mention.end()
            continue
        if char in _RESERVED:
            return "".join(out), True
        out.append(char)
        index += 1
    return "".join(out), False
