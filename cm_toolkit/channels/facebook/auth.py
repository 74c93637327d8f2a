"""``cm auth`` for a Facebook Page: the user token the code exchange gives leads to the Page's.

Facebook's token endpoint answers a short-lived *user* token; a Page is published with the
Page's own token. So after the exchange: the user token is exchanged for a long-lived one
(``grant_type=fb_exchange_token``), then the Page's token is read with
``GET /{page-id}?fields=access_token``. Both are stored: the long-lived user token lets the
adapter mint a new Page token by itself later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cm_toolkit.channels.facts import OAuthProvider, TokenCalls
from cm_toolkit.errors import ChannelError, UsageError

GRAPH_VERSION = "v24.0"
GRAPH = f"https://graph.facebook.com/{GRAPH_VERSION}"


def page_token(answer: Mapping[str, Any], account: Mapping[str, Any],
               calls: TokenCalls) -> dict[str, str]:
    """Short-lived user token -> long-lived user token -> the Page's own token."""
    page_id = account.get("page_id")
    if not page_id:
        raise UsageError("the channel file has no account.page_id",
                         fix="add the Page's id under account: page_id")
    assert calls.client_secret is not None  # the provider requires it
    long_lived = calls.call(
        "GET", f"{GRAPH}/oauth/access_token",
        params={"grant_type": "fb_exchange_token", "client_id": calls.client_id,
                "client_secret": calls.client_secret, "fb_exchange_token": answer["access_token"]},
    )["access_token"]
    # the app and the login worked: a refusal now is about the Page, not the app
    page = calls.call(
        "GET", f"{GRAPH}/{page_id}",
        params={"fields": "access_token", "access_token": long_lived},
        what=f"Facebook refused the token of Page {page_id} (account.page_id)",
        fix="check the Page id (Page > About > Page ID) and that the account you logged in "
        "with manages that Page, then run `cm auth` again",
    )
    if not page.get("access_token"):
        raise ChannelError(
            f"Facebook gave no token for Page {page_id}",
            network="facebook",
            fix="authorize with an account that manages the Page (pages_manage_posts)",
        )
    return {"page_token": str(page["access_token"]), "user_token": str(long_lived)}


OAUTH = OAuthProvider(
    "facebook",
    f"https://www.facebook.com/{GRAPH_VERSION}/dialog/oauth",
    f"{GRAPH}/oauth/access_token",
    ("pages_show_list", "pages_read_engagement", "pages_manage_posts"),
    scope_separator=",",
    token_method="GET",
    client_env=("CM_FACEBOOK_APP_ID", "CM_FACEBOOK_APP_SECRET"),
    stored={"page_token": "page_token", "user_token": "user_token"},
    finish=page_token,
)
