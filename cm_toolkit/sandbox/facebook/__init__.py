"""The Facebook Pages (Graph API) emulator of the sandbox; see docs/sandbox/facebook.md.

``FacebookEmulator`` (``emulator.py``) serves graph.facebook.com and the login dialog on
www.facebook.com. Its parts: ``specs.py`` (Graph node specs, field expansion), ``errors.py``
(Graph error bodies), ``state.py`` (Pages, posts, usage windows), ``reads.py``, ``writes.py``,
``oauth.py`` (Facebook Login and the Page-token exchange).
"""

from __future__ import annotations

from cm_toolkit.sandbox.facebook.emulator import FacebookEmulator

__all__ = ["FacebookEmulator"]
