"""Google's APIs in the sandbox: YouTube Data v3, Calendar v3 (Google Meet links) and OAuth 2.0.

- ``youtube.YouTubeEmulator`` (network ``youtube``): ``youtube.googleapis.com`` and the
  ``/youtube/v3/`` and ``/upload/youtube/v3/`` paths of ``www.googleapis.com``.
- ``calendar.CalendarEmulator`` (network ``meet``): the ``/calendar/v3/`` paths of
  ``www.googleapis.com``.
- ``oauth.GoogleOAuthEmulator`` (network ``google``): ``oauth2.googleapis.com/token`` and
  ``accounts.google.com/o/oauth2/auth``, shared by both.

Requests are checked against the discovery documents that ship inside google-api-python-client
(``discovery.py``), and errors are Google's ``{"error": {"code", "message", "errors": [...]}}``
bodies (``base.py``). See docs/sandbox/google.md.
"""
