"""Health: whether the store answers and how much it holds; and the answer when it does not.

``GET /healthz``: 200 when the store answers, 503 when it does not (for load balancers and
orchestrators), with a JSON body::

    {"status": "ok", "store": {"kind": "sparql", "reachable": true, "latency_ms": 2.1},
     "counts": {"records": 1, "triples": 14500}, "counts_age_s": 12.0}

Reachability is checked on every call (``ASK {}``, with a short time limit); counts are cached
for ``COUNTS_TTL`` seconds, since counting every triple of a large store is not free. The body
names the kind of store, never its address or credentials.

Every page of the app shares the handler of ``StoreUnavailable`` registered here: 503 with a
clear message (HTML for browsers, text otherwise) and ``Retry-After``; nothing is cached about
the failure, so the app recovers by itself when the store is back.
"""

from __future__ import annotations

import threading
import time

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from policykg.graph.store import StoreError, StoreUnavailable, compacted_away

blueprint = Blueprint("health", __name__, template_folder="templates")

CHECK_TIMEOUT = 5.0   # seconds the store may take to answer the health check
COUNTS_TTL = 60.0     # seconds counts are kept
RETRY_AFTER = "5"
COUNT_RECORDS = ("SELECT (COUNT(?time) AS ?n) "
                 "WHERE { ?graph <http://www.w3.org/ns/prov#generatedAtTime> ?time }")
COUNT_TRIPLES = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
_lock = threading.Lock()


def _store():
    store = current_app.extensions["policykg.store"]
    return store.bounded(CHECK_TIMEOUT) if hasattr(store, "bounded") else store


def _number(store, query: str) -> int:
    rows = list(store.query(query))
    return int(rows[0]["n"].value) if rows and rows[0]["n"] is not None else 0


def _counts(store) -> tuple[dict[str, int], float]:
    """The counts, from the cache when fresh enough; and their age in seconds."""
    cache = current_app.extensions.setdefault("policykg.health", {})
    now = time.monotonic()
    with _lock:
        if cache and now - cache["at"] < COUNTS_TTL:
            return cache["counts"], now - cache["at"]
    counts = {"records": _number(store, COUNT_RECORDS), "triples": _number(store, COUNT_TRIPLES)}
    with _lock:
        cache.update(counts=counts, at=time.monotonic())
    return counts, 0.0


@blueprint.get("/healthz")
def healthz() -> Response:
    """The store's reachability and counts: 200 when it answers, else 503."""
    store = _store()
    kind = "sparql" if getattr(store, "remote", False) else "oxigraph"
    start = time.monotonic()
    try:
        bool(store.query("ASK {}"))
        latency = (time.monotonic() - start) * 1000
        counts, age = _counts(store)
    except (StoreUnavailable, StoreError) as error:
        body = {"status": "unavailable",
                "store": {"kind": kind, "reachable": False, "error": str(error)}}
        response = jsonify(body)
        response.status_code = 503
        response.headers["Retry-After"] = RETRY_AFTER
        return _no_store(response)
    body = {"status": "ok", "store": {"kind": kind, "reachable": True,
                                      "latency_ms": round(latency, 1)},
            "counts": counts, "counts_age_s": round(age, 1)}
    return _no_store(jsonify(body))


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.app_errorhandler(StoreUnavailable)
def store_unavailable(error: StoreUnavailable) -> Response:
    """Any page whose store did not answer: 503, try again shortly."""
    return _failure(503, "The knowledge graph's store is not available right now", str(error))


@blueprint.app_errorhandler(OSError)
@blueprint.app_errorhandler(RuntimeError)
def store_moved_on(error: Exception) -> Response:
    """Any page whose embedded store was compacted under it by a load: 503, try again (the
    next read reopens the store). Any other such error is a fault of the app's: 500."""
    if not compacted_away(error):
        raise error
    return _failure(503, "The knowledge graph is being updated", "a load changed the store "
                    "while it was read")


@blueprint.app_errorhandler(StoreError)
def store_failed(error: StoreError) -> Response:
    """Any page whose store answered with an error: 502."""
    return _failure(502, "The knowledge graph's store failed to answer", str(error))


def _failure(status: int, title: str, detail: str) -> Response:
    wants_html = request.accept_mimetypes.best_match(["text/plain", "text/html"]) == "text/html"
    if wants_html and request.accept_mimetypes["text/html"]:
        body = render_template("store_unavailable.html", title=title, detail=detail,
                               status=status)
        response = Response(body, status, content_type="text/html; charset=utf-8")
    else:
        response = Response(f"{title}: {detail}. Try again in a few seconds.\n", status,
                            content_type="text/plain; charset=utf-8")
    response.headers["Retry-After"] = RETRY_AFTER
    response.headers["Cache-Control"] = "no-store"
    return response
