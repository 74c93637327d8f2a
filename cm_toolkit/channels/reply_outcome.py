"""A reply whose answer was lost says so in the inbox's words (not a post's); a reply the
network would refuse is refused before it is sent.

The adapters' error mappings were written for publishing ("the post may exist", "check the
account before publishing again"); a reply sent without an answer is the same situation for
another object, and the person reading ``cm review`` must look in another place.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from cm_toolkit.errors import OutcomeUnknown, Rejected

if TYPE_CHECKING:
    from cm_toolkit.channels.base import Channel, ReplyRequest


def refuse_invalid(channel: Channel, request: ReplyRequest, prefix: str = "") -> None:
    """Raise ``Rejected`` (every problem, the first one's fix) when ``validate_reply`` finds
    any: an adapter's ``reply`` never sends what the network would refuse."""
    Rejected.raise_for(channel.validate_reply(request), network=channel.network, prefix=prefix)


@contextmanager
def reply_outcome(display_name: str, where: str) -> Iterator[None]:
    """Re-raise ``OutcomeUnknown`` inside as one about a reply ``where`` (e.g. "under the
    comment on the Page")."""
    try:
        yield
    except OutcomeUnknown as exc:
        raise OutcomeUnknown(
            f"{display_name} did not answer after the reply was sent: it may be online "
            f"({exc.message})",
            network=exc.info.network,
            status=exc.info.status,
            code=exc.info.code,
            network_message=exc.info.network_message,
            fix=f"look {where}; `cm review` records what you find, the reply is never sent twice",
        ) from exc
