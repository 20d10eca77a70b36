"""The ASGI application of ``xray serve``: URLs, parameters and errors, onto :mod:`.api`.

Read-only by construction: every route is a GET, and the database is opened read-only. A bad
parameter is a 400 and an unknown run or trace a 404, each with a JSON body ``{"error": ...}``
that names the parameter and its value; no error sends a traceback to the client.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from .. import __version__
from ..exceptions import XRayError
from ..models import RunStatus, Status
from ..runref import MAX_ID_LENGTH, id_problem
from . import api, pages
from .api import DEFAULT_LIMIT, MAX_LIMIT, ApiError, JsonText, as_json_text
from .cache import ResultCache
from .database import ServedDatabase
from .history import DEFAULT_LAST, item_history

logger = logging.getLogger("xray_core.serve")

#: the host names a server bound to a loopback address answers to (a page of another site that
#: rebinds its own name to 127.0.0.1 cannot read the traces through the visitor's browser)
LOOPBACK_NAMES = ["127.0.0.1", "localhost", "::1", "[::1]"]
MAX_STABILITY_RUNS = 100
MAX_HISTORY_RUNS = 1000
MAX_TEXT = 1000
MAX_IGNORES = 100

Ref = Annotated[str, Query(min_length=1, max_length=MAX_ID_LENGTH,
                           description="a run: id or unique prefix, latest, latest~N, or a git "
                                       "commit")]  # fmt: skip
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="entries per page")]
Cursor = Annotated[str | None, Query(max_length=MAX_TEXT,
                                     description="the `next` value of the previous page")]  # fmt: skip
TestPattern = Annotated[str | None, Query(max_length=MAX_ID_LENGTH,
                                          description="tests whose node id contains it, or "
                                                      "matches it as a glob")]  # fmt: skip


class ErrorBody(BaseModel):
    """What every failed request answers."""

    error: str


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "a bad parameter (the message names it)"},
    404: {"model": ErrorBody, "description": "no such run, trace, test or item"},
}


def json_response(data: Any, status: int = 200) -> Response:
    """JSON as the report embeds it: NaN as text, ``<>&`` escaped (inert even if sniffed)."""
    text = data if isinstance(data, JsonText) else as_json_text(data)
    return Response(text, status_code=status, media_type="application/json")


def error_response(status: int, message: str) -> Response:
    """The JSON error body, with the message on one line."""
    return json_response({"error": " ".join(message.split()) or "error"}, status)


def create_app(path: Path, *, allowed_hosts: list[str] | None = None) -> FastAPI:
    """The application serving the database at ``path`` (read-only).

    :param allowed_hosts: the ``Host`` header values answered (the default: the loopback names);
        ``["*"]`` answers any, as when serving on a network address.
    """
    db = ServedDatabase(path)
    cache = ResultCache()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        db.close()

    app = FastAPI(
        title="X-Ray run history", version=__version__, redoc_url=None, lifespan=lifespan,
        description=f"Read-only access to the run database {path.name}: runs, traces, "
                    "decision diffs, one item's history, stability.",
    )  # fmt: skip
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts or LOOPBACK_NAMES)
    app.state.db = db
    _add_error_handlers(app)

    @app.middleware("http")
    async def _headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    # -- pages --
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> Response:
        return html(pages.index_page(path.name))

    @app.get("/runs/{ref:path}", response_class=HTMLResponse, include_in_schema=False)
    def run_page(ref: str) -> Response:
        return html(pages.report_shell(f"run {ref}", {"run": ref}))

    @app.get("/compare", response_class=HTMLResponse, include_in_schema=False)
    def compare_page(a: Ref, b: Ref) -> Response:
        return html(pages.report_shell(f"{b} compared with {a}", {"run": b, "base": a},
                                       view="compare"))  # fmt: skip

    # -- API --
    @app.get("/api/runs", responses=ERRORS, summary="Runs, most recent first")
    def runs(limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None,
             status: RunStatus | None = None) -> Response:  # fmt: skip
        return json_response(api.runs_page(db, limit=limit, cursor=cursor, status=status))

    @app.get("/api/runs/{ref:path}", responses=ERRORS, summary="One run: tests, counts, status")
    def run(ref: str) -> Response:
        return json_response(api.run_detail(db, _ref(ref)))

    @app.get("/api/traces", responses=ERRORS, summary="Trace summaries, oldest first")
    def traces(
        run: Annotated[str | None, Query(max_length=MAX_ID_LENGTH,
                                         description="only this run's traces")] = None,
        test: TestPattern = None,
        name: Annotated[str | None, Query(max_length=MAX_ID_LENGTH,
                                          description="trace name")] = None,
        status: Status | None = None,
        q: Annotated[str | None, Query(max_length=MAX_TEXT,
                                       description="text in the trace name, test id or trace "
                                                   "id (case-insensitive)")] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Response:  # fmt: skip
        return json_response(api.traces_page(db, run=run, test=test, name=name, status=status,
                                             q=q, limit=limit, cursor=cursor))  # fmt: skip

    @app.get("/api/traces/{trace_id:path}", responses=ERRORS, summary="One trace, whole")
    def trace(trace_id: str) -> Response:
        return json_response(api.trace_detail(db, _ref(trace_id)))

    @app.get("/api/diff", responses=ERRORS, summary="What changed from run A to run B",
             description="The document `xray diff A B --json` prints (same run references: "
                         "latest and latest~N count completed runs only).")  # fmt: skip
    def diff(
        a: Ref, b: Ref, test: TestPattern = None,
        ignore: Annotated[list[str], Query(description="ignore changes at paths matching this "
                                                       "glob (repeatable)")] = [],  # noqa: B006
        tolerance: Annotated[float, Query(ge=0, allow_inf_nan=False)] = 0.0,
        include_llm: bool = False, include_reasoning: bool = False, partial: bool = False,
    ) -> Response:  # fmt: skip
        if len(ignore) > MAX_IGNORES:
            raise ApiError(400, f"ignore: at most {MAX_IGNORES} patterns, got {len(ignore)}")
        for pattern in ignore:
            problem = id_problem(pattern)
            if problem is not None:
                raise ApiError(400, f"ignore {pattern[:60]!r} {problem}")
        return json_response(api.diff_page(
            db, cache, a, b, test=test, ignore=ignore, tolerance=tolerance,
            include_llm=include_llm, include_reasoning=include_reasoning, partial=partial,
        ))  # fmt: skip

    @app.get("/api/history", responses=ERRORS, summary="One item's verdict, run by run")
    def history(
        test: Annotated[str, Query(min_length=1, max_length=MAX_ID_LENGTH,
                                   description="the test (node id, part of it, or a glob)")],
        item: Annotated[str, Query(max_length=MAX_ID_LENGTH, description="the item id")],
        step: Annotated[str | None, Query(max_length=MAX_ID_LENGTH,
                                          description="only its evaluations in this step")] = None,
        last: Annotated[int, Query(ge=1, le=MAX_HISTORY_RUNS)] = DEFAULT_LAST,
    ) -> Response:  # fmt: skip
        return json_response(item_history(db, test=test, item=item, step=step, last=last))

    @app.get("/api/stability", responses=ERRORS, summary="Decision flips over the last runs")
    def stability(last: Annotated[int, Query(ge=1, le=MAX_STABILITY_RUNS)] = 10,
                  test: TestPattern = None) -> Response:  # fmt: skip
        return json_response(api.stability_page(db, cache, last=last, test=test))

    @app.get("/api/report", responses=ERRORS, summary="The HTML report's data for a run",
             description="What the run and comparison pages render (the report's own document).")
    def report(run: Ref, base: Annotated[str | None, Query(max_length=MAX_ID_LENGTH)] = None
               ) -> Response:  # fmt: skip
        return json_response(api.report_page(db, cache, run, base or None))

    return app


def html(text: str) -> Response:
    """A page, with the policy that lets it load data from this server only."""
    return HTMLResponse(text, headers={"Content-Security-Policy": pages.CSP})


def _ref(text: str) -> str:
    if not text or len(text) > MAX_ID_LENGTH:
        raise ApiError(400, f"id {text[:60]!r}: expected 1 to {MAX_ID_LENGTH} characters")
    return text


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return error_response(exc.status, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _bad_parameter(request: Request, exc: RequestValidationError) -> Response:
        messages = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error.get("loc", ()) if part != "query")
            value = error.get("input")
            shown = f" (got {str(value)[:60]!r})" if isinstance(value, (str, int, float)) else ""
            messages.append(f"{where or 'request'}: {error.get('msg', 'invalid')}{shown}")
        return error_response(400, "; ".join(messages) or "bad request")

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        return error_response(exc.status_code, str(exc.detail))

    @app.exception_handler(XRayError)
    async def _store_error(request: Request, exc: XRayError) -> Response:
        logger.error("xray serve: %s %s: %s", request.method, request.url.path, exc)
        return error_response(500, f"the database could not be read: {exc}")

    @app.exception_handler(Exception)
    async def _internal_error(request: Request, exc: Exception) -> Response:
        logger.exception("xray serve: %s %s failed", request.method, request.url.path)
        return error_response(500, f"internal error: {type(exc).__name__} (see the server's "
                                   "output; please report it)")  # fmt: skip
