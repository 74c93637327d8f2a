"""YouTube's rules for a video's (or a broadcast's) title and description.

Pure (text in, problems out), so that ``YouTubeChannel`` (its ``validate``, ``plan_problems``
and ``schedule_live``), and through it the plan check and ``cm preview``, apply the same rules.
"""

from __future__ import annotations

TITLE_MAX = 100  # characters
DESCRIPTION_MAX_BYTES = 5000  # UTF-8 bytes


def title_problems(title: str) -> list[str]:
    """What is wrong with a YouTube title (empty list when it is fine): <= 100 chars, no < or >."""
    problems: list[str] = []
    if not title.strip():
        problems.append("the YouTube title is empty")
    if len(title) > TITLE_MAX:
        problems.append(f"the YouTube title has {len(title)} characters, more than {TITLE_MAX}")
    if "<" in title or ">" in title:
        problems.append("the YouTube title contains < or >, which YouTube refuses")
    return problems


def description_length_problems(description: str) -> list[str]:
    size = len(description.encode("utf-8"))
    if size > DESCRIPTION_MAX_BYTES:
        return [f"the YouTube description has {size} bytes, more than {DESCRIPTION_MAX_BYTES}"]
    return []


def description_character_problems(description: str) -> list[str]:
    if "<" in description or ">" in description:
        return ["the YouTube description contains < or >, which YouTube refuses"]
    return []


def description_problems(description: str) -> list[str]:
    """What is wrong with a YouTube description: <= 5,000 UTF-8 bytes, no < or >."""
    return description_length_problems(description) + description_character_problems(description)
