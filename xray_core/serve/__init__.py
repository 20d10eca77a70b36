"""``xray serve``: the run history in a browser, from a read-only local server.

An ASGI application (FastAPI on uvicorn, the ``serve`` extra) with a read-only JSON API over the
run database (:mod:`.api`), and pages that reuse the HTML report's front-end (:mod:`.pages`).
Nothing here is imported unless ``xray serve`` runs: the extra is optional.
"""
