"""The marketing dashboard: a small read-only WSGI app over the ledger (docs/dashboard.md).

``app.Dashboard`` is the WSGI application (router, access control, read-only methods),
``views`` builds each page and JSON chart, ``server`` serves it with the standard library's
``wsgiref`` on a threading server. No framework: a handful of GET routes do not need one.
"""
