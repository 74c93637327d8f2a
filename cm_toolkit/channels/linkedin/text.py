"""LinkedIn's "little" text format: what ``LinkedInChannel.wire_text`` sends as a commentary.

Pure (text in, text out), so that the plan check and ``cm preview`` measure a LinkedIn text
once escaped, exactly as the adapter sends it.
"""

from __future__ import annotations

import re

_LINKEDIN_RESERVED = set("|{}@[]()<>#\\*_~")
# A hashtag: '#' at a word start followed by letters/digits/underscore (accents included).
_HASHTAG = re.compile(r"(?<![\w#])#(\w+)")


# One pass in C over the text (a plan escapes every LinkedIn text): a hashtag, or a reserved
# character alone. Scanning left to right, a '#' that may not start a hashtag (after a letter or
# a '#') is escaped like any reserved character.
_HASHTAG_OR_RESERVED = re.compile(
    _HASHTAG.pattern + "|[" + re.escape("".join(sorted(_LINKEDIN_RESERVED))) + "]"
)


def _escaped(match: re.Match[str]) -> str:
    word = match.group(1)
    if word is None:
        return "\\" + match.group()
    # A hashtag's word (\w+) holds no reserved character but '_'.
    return "{hashtag|\\#|" + word.replace("_", "\\_") + "}"


def linkedin_escape(text: str) -> str:
    """``text`` in LinkedIn's "little" text format, as the ``commentary`` of ``POST /rest/posts``.

    Reserved characters ``| { } @ [ ] ( ) < > # \\ * _ ~`` are backslash-escaped; a hashtag
    ``#word`` becomes ``{hashtag|\\#|word}`` so that LinkedIn links it.

    >>> linkedin_escape("Le (MOOC) #leadership @vous")
    'Le \\\\(MOOC\\\\) {hashtag|\\\\#|leadership} \\\\@vous'
    """
    return _HASHTAG_OR_RESERVED.sub(_escaped, text)
