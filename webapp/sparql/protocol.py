"""The SPARQL 1.1 Protocol: queries at /sparql, updates at /sparql/update, a service description.

Queries run in killable worker processes (see ``executor``) with a time limit and a cap on
result rows; their text is read there, inside the time limit, never here: this module reads
only the request, whose size is capped (``max_request_bytes``, else 413). Nothing a client
sends makes the server call another host (``safety``): SERVICE is refused unless its endpoint
is in ``service_allow``, LOAD is refused, and FROM / FROM NAMED only name graphs of the store
(Oxigraph never fetches them). A web process gives queries at most ``sparql_threads``
of its threads (``sparql_capacity``) and answers one beyond them 503 at once, so that pages
and named queries always find a thread. Updates need ``Authorization: Bearer
<update_token>``. Every query and update is logged as one JSON line (logger ``policykg.sparql``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import threading
import time

from flask import Blueprint, Response, current_app, g, request

from policykg.webapp.context import app_settings, app_uris
from policykg.webapp.sparql.description import describe_service
from policykg.webapp.sparql.evaluation import Answer, QueryJob
from policykg.webapp.sparql.executor import app_executor
from policykg.webapp.sparql.requests import (
    MEDIA_TYPES,
    QUERY_TYPE,
    UPDATE_TYPE,
    ProtocolError,
    dataset_of,
    iris_of,
    read_operation,
    result_formats,
)

blueprint = Blueprint("sparql", __name__)
log = logging.getLogger("policykg.sparql")


@blueprint.errorhandler(ProtocolError)
def _protocol_error(error: ProtocolError) -> Response:
    if "sparql_log" in g:
        _log(*_logged(), error.status)
    return _text(error.status, error.message)


def _text(status: int, message: str) -> Response:
    response = Response(message.rstrip("\n") + "\n", status,
                        content_type="text/plain; charset=utf-8")
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="policykg SPARQL Update"'
    if status == 503:
        response.headers["Retry-After"] = "5"
    return response


@blueprint.route("/sparql", methods=["GET", "POST"])
def query() -> Response:
    """Answer a SPARQL query; without one, describe the service (or show the query page)."""
    text, params = read_operation("query", QUERY_TYPE, other="update")
    if text is None:
        if request.method == "POST":
            raise ProtocolError(400, "no `query` given")
        return describe_service(params)
    g.sparql_log = ("query", text, time.monotonic())
    settings = app_settings()
    default_graph, named_graphs = dataset_of(params)
    job = QueryJob("query", text, base_iri=app_uris().base, default_graph=default_graph,
                   named_graphs=named_graphs, formats=result_formats(params),
                   max_rows=settings.max_rows, timeout=settings.query_timeout,
                   service_allow=settings.service_allow)
    slots = _sparql_slots()
    if not slots.acquire(blocking=False):
        raise ProtocolError(503, "every thread this server process gives to /sparql queries "
                                 "is busy (the others are kept for pages and named queries); "
                                 "try again shortly")
    try:
        response = _respond(app_executor().readers.submit(job, settings.query_timeout), text)
    except BaseException:
        slots.release()
        raise
    response.call_on_close(slots.release)  # held while the results stream
    return response


def sparql_capacity(threads: int, sparql_threads: int) -> int:
    """The /sparql queries one web process serves at once: ``sparql_threads``, but never all
    of its threads (one at least is kept for pages and named queries, when it has two)."""
    return max(min(sparql_threads, threads - 1), 1)


def _sparql_slots() -> threading.BoundedSemaphore:
    """This process's /sparql slots; a query that finds none is refused at once (503), rather
    than waiting on a thread that pages and named queries need."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with _slots_lock:
        slots = app.extensions.get(SLOTS)
        if slots is None:
            settings = app_settings()
            slots = app.extensions[SLOTS] = threading.BoundedSemaphore(
                sparql_capacity(settings.threads, settings.sparql_threads))
    return slots


SLOTS = "policykg.sparql_slots"  # in app.extensions
_slots_lock = threading.Lock()


def _respond(answer: Answer, text: str) -> Response:
    head = answer.head
    if head is None:
        _log(*_logged(), answer.status)
        message = answer.message
        if answer.status == 400 and _looks_like_update(text):
            message += "\n(updates are POSTed to /sparql/update)"
        return _text(answer.status, message)
    body = answer.chunks
    if request.method == "HEAD":  # GET's headers; reading the body to its end frees the worker
        for _ in body:
            pass
        body = iter(())
    response = Response(body, 200, content_type=MEDIA_TYPES[head.format])
    response.headers["Vary"] = "Accept"
    if head.truncated:
        limit = app_settings().max_rows
        response.headers["X-Result-Truncated"] = "true"
        response.headers["X-Result-Limit"] = str(limit)
        response.headers["Warning"] = f'199 policykg "result truncated to {limit} rows"'
    logged = _logged()
    response.call_on_close(lambda: _log(*logged, 200, head.rows, head.truncated, head.format))
    return response


def _looks_like_update(text: str) -> bool:
    return bool(re.search(r"(?i)\b(INSERT|DELETE|LOAD|CLEAR|DROP|CREATE)\b", text))


@blueprint.route("/sparql/update", methods=["POST"])
def update() -> Response:
    """Run a SPARQL Update, for holders of the update token only; LOAD is refused."""
    _authorise()
    text, params = read_operation("update", UPDATE_TYPE, other="query")
    if text is None:
        raise ProtocolError(400, "no `update` given")
    g.sparql_log = ("update", text, time.monotonic())
    using = tuple(iris_of(params, "using-graph-uri"))
    using_named = tuple(iris_of(params, "using-named-graph-uri"))
    writer = app_executor().writer
    if writer is None:
        raise ProtocolError(501, "this store does not support SPARQL Update")
    settings = app_settings()
    job = QueryJob("update", text, base_iri=app_uris().base, timeout=settings.update_timeout,
                   service_allow=settings.service_allow, using=using, using_named=using_named)
    answer = writer.submit(job, settings.update_timeout)
    _log(*_logged(), answer.status if answer.status != 200 else 204)
    if answer.status != 200:
        return _text(answer.status, answer.message)
    response = Response(status=204)
    del response.headers["Content-Type"]
    return response


def _authorise() -> None:
    token = app_settings().update_token
    if not token:
        raise ProtocolError(404, "SPARQL Update is not enabled on this server")
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        raise ProtocolError(401, "SPARQL Update needs `Authorization: Bearer <token>`")
    if not hmac.compare_digest(header[7:].strip().encode(), token.encode()):
        raise ProtocolError(403, "wrong update token")


@blueprint.after_request
def _cors(response: Response) -> Response:
    if request.endpoint == "sparql.query":
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Accept, Content-Type"
        response.headers["Access-Control-Expose-Headers"] = (
            "X-Result-Truncated, X-Result-Limit, Warning")
        response.headers["Access-Control-Max-Age"] = "86400"
    return response


def _logged() -> tuple[str, str, float]:
    """The operation in hand, as _log takes it: g.sparql_log (event, text, start)."""
    return g.sparql_log


def _log(event: str, text: str, start: float, status: int, rows: int | None = None,
         truncated: bool = False, format: str | None = None) -> None:
    log.info(json.dumps({
        "event": event,
        "query_hash": hashlib.sha256(text.encode("utf-8")).hexdigest()[:16],
        "duration_ms": round((time.monotonic() - start) * 1000, 1),
        "rows": rows,
        "status": status,
        "truncated": truncated,
        "format": format,
    }))
