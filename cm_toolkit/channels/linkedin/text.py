"""LinkedIn's "little" text format: what ``LinkedInChannel.wire_text`` sends as a commentary.

Pure (text in, text out), so that the plan check and ``cm preview`` measure a LinkedIn text
once escaped, exactly as the adapter sends it.
"""

from __future__ import annotations

import re

_LINKEDIN_RESERVED = set("|{}@[]()<>#\\*_~")
# A hashtag: '#' at a word start followed by letters/digits/underscore (accents included).
_HASHTAG = re.compile(r"(?<![\w#])#(\w+)")


_LITTLE_ESCAPES = str.maketrans({c: "\\" + c for c in _LINKEDIN_RESERVED})


def _escape_little(text: str) -> str:
    return text.translate(_LITTLE_ESCAPES)  # one pass in C (a plan escapes every LinkedIn text)


def linkedin_escape(text: str) -> str:
    """``text`` in LinkedIn's "little" text format, as the ``commentary`` of ``POST /rest/posts``.

    Reserved characters ``| { } @ [ ] ( ) < > # \\ * _ ~`` are backslash-escaped; a hashtag
    ``#word`` becomes ``{hashtag|\\#|word}`` so that LinkedIn links it.

    >>> linkedin_escape("Le (MOOC) #leadership @vous")
    'Le \\\\(MOOC\\\\) {hashtag|\\\\#|leadership} \\\\@vous'
    """
    out: list[str] = []
    last = 0
    for match in _HASHTAG.finditer(text):
        out.append(_escape_little(text[last : match.start()]))
        out.append("{hashtag|\\#|" + _escape_little(match.group(1)) + "}")
        last = match.end()
    out.append(_escape_little(text[last:]))
    return "".join(out)
