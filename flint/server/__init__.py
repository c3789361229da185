"""``flint serve``: the HTTP API over the operations the CLI runs (optional ``server`` extra).

:func:`flint.server.app.create_app` builds the FastAPI app; every route but
``/api/v1/health`` needs a bearer token (:mod:`flint.server.auth`); backtests and
optimisations run as jobs in child processes (:mod:`flint.server.jobs`). The web
dashboard's static files (``dashboard/``) are served at ``/ui/`` (:mod:`flint.server.ui`).
"""
