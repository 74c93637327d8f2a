"""What LinkedIn would refuse in a post, found before sending (``LinkedInChannel.validate``)."""

from __future__ import annotations

import re
from pathlib import Path

from cm_toolkit.channels.base import Limits, RenderedPost
from cm_toolkit.errors import Problem

IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif")
ALT_TEXT_MAX = 4086


def post_problems(
    channel_id: str, limits: Limits, post: RenderedPost, length: int
) -> list[Problem]:
    """Every problem of ``post`` at once; ``length`` is its commentary length once escaped."""
    problems: list[Problem] = []

    def problem(message: str, fix: str = "") -> None:
        problems.append(Problem(file=channel_id, line=None, column=None, message=message, fix=fix))

    if length > limits.text_max:
        problem(
            f"the LinkedIn commentary has {length} characters once escaped "
            f"(LinkedIn's little format), more than {limits.text_max}",
            "shorten the text (each reserved character like ( ) # @ _ counts twice)",
        )
    if not post.text.strip() and not post.media and not post.link:
        problem("the LinkedIn post is empty", "give the template some text, a link or an image")
    if post.link and not re.match(r"https?://", post.link):
        problem(f"the link {post.link!r} is not an http(s) URL", "use a full https:// address")
    if post.link and len(post.media) > 1:
        problem(
            f"a LinkedIn link post takes one image (its thumbnail); {len(post.media)} given",
            "keep one image, or drop the link to publish the images as a multi-image post",
        )
    if len(post.media) > limits.media_max:
        problem(
            f"{len(post.media)} images, more than LinkedIn's {limits.media_max}",
            f"keep at most {limits.media_max}",
        )
    for media in post.media:
        path = Path(media.path)
        if media.mime_type not in IMAGE_TYPES:
            problem(
                f"{path}: {media.mime_type} is not supported on LinkedIn pages by this adapter",
                "use a JPEG, PNG or GIF image",
            )
        if not path.is_file():
            problem(f"{path}: the file does not exist", "fix the media path")
        elif limits.media_bytes_max and path.stat().st_size > limits.media_bytes_max:
            problem(
                f"{path}: {path.stat().st_size} bytes, more than {limits.media_bytes_max} (5 MB)",
                "compress or resize the image",
            )
        if media.alt_text and len(media.alt_text) > ALT_TEXT_MAX:
            problem(f"{path}: the alt text is longer than {ALT_TEXT_MAX} characters", "shorten it")
    return problems
