"""Health: whether the store answers and how much it holds; and the answer when it does not.

``GET /healthz``: 200 when the store answers, 503 when it does not (for load balancers and
orchestrators), with a JSON body::

    {"status": "ok", "store": {"kind": "sparql", "reachable": true, "latency_ms": 2.1},
     "counts": {"records": 1, "triples": 14500}, "counts_age_s": 12.0,
     "text_index": {"engine": "tantivy", "publications": 1, "bytes": 52000, "in_step": true}}

Reachability is checked on every call (``ASK {}``, with a short time limit). Counting every
triple of a large store takes seconds, so counts are made in the
background, and only again when the store has changed: at most every ``COUNTS_TTL`` seconds a
check looks at the store's version (the embedded store's generation, which every write changes;
else the records' count and newest load time, one small query) and recounts if it moved. A
check answers with the last counts (``null`` until the first count ends, for which the first
check waits at most a second). The text index is looked at with the counts: its engine (the
embedded store's tantivy index, or the remote store's own), how many publications it holds,
its bytes beside the store, and whether it is in step with the store (``policykg reindex``
rebuilds it when not). The body names the kind of store, never its address or
credentials. It names the base of the IRIs: the store's, the one served, the configured one
and the address the check came to; when they disagree (site/bases.py), the status is
"warning" and ``warnings`` says what to do (still 200: the store answers).

Every page of the app shares the handler of ``StoreUnavailable`` registered here: 503 with a
clear message (HTML for browsers, text otherwise) and ``Retry-After``; nothing is cached about
the failure, so the app recovers by itself when the store is back.
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from policykg.graph.rdf.uris import Uris
from policykg.graph.search.indexing import in_step
from policykg.graph.store import StoreError, StoreUnavailable
from policykg.graph.store.embedded.folder import compacted_away
from policykg.graph.store.ledger import stored_base
from policykg.webapp.context import answering_root, app_settings, app_store, app_uris
from policykg.webapp.site.bases import base_warnings
from policykg.webapp.site.dataset import marker

blueprint = Blueprint("health", __name__)

CHECK_TIMEOUT = 5.0   # seconds the store may take to answer the health check
COUNTS_TTL = 60.0     # seconds counts are kept
FIRST_COUNT_WAIT = 1.0  # seconds the first check waits for the first count
COUNT_TIMEOUT = 120.0   # seconds a count may take on a remote store
RETRY_AFTER = "5"
COUNT_RECORDS = ("SELECT (COUNT(?time) AS ?n) "
                 "WHERE { ?graph <http://www.w3.org/ns/prov#generatedAtTime> ?time }")
COUNT_TRIPLES = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
_lock = threading.Lock()


def _store():
    store = app_store()
    return store.bounded(CHECK_TIMEOUT)


def _number(store, query: str) -> int:
    rows = list(store.query(query))
    return int(rows[0]["n"].value) if rows and rows[0]["n"] is not None else 0


class _Counts:
    """The counts of one app's store, counted in a background thread: a health check never
    waits for a count of every triple (seconds in a large store), only for the store's answer
    to ``ASK {}``."""

    def __init__(self) -> None:
        self.counts: dict[str, int] | None = None
        self.text_index: dict[str, object] | None = None
        self.at = 0.0
        self.version: object = None
        self._running: threading.Thread | None = None

    def get(self, store, base: str) -> tuple[dict[str, int] | None, float]:
        """The last counts (None before the first count ends) and how many seconds ago the
        store last held them; when that is over COUNTS_TTL, the store's version is checked and
        a recount starts if it changed. The first call waits up to FIRST_COUNT_WAIT seconds for
        the first count."""
        with _lock:
            stale = self.counts is None or time.monotonic() - self.at >= COUNTS_TTL
            if stale and self._running is None:
                self._running = threading.Thread(target=self._count, args=(store, base),
                                                 name="policykg-health-counts", daemon=True)
                self._running.start()
            running = self._running
        if self.counts is None and running is not None:
            running.join(FIRST_COUNT_WAIT)
        return self.counts, time.monotonic() - self.at

    def _count(self, store, base: str) -> None:
        try:
            version = _version(store, base)
            counts, text_index = self.counts, self.text_index
            if counts is None or version != self.version:
                counts = {"records": _number(store, COUNT_RECORDS),
                          "triples": _number(store, COUNT_TRIPLES)}
                text_index = _text_index(store, base)
            with _lock:
                self.counts, self.text_index = counts, text_index
                self.at, self.version = time.monotonic(), version
        except (StoreUnavailable, StoreError, OSError, RuntimeError) as error:
            logging.getLogger(__name__).warning("counting the store failed: %s", error)
        finally:
            with _lock:
                self._running = None


def _text_index(store, base: str) -> dict[str, object]:
    """What the store's text index holds, and whether it is in step with the store."""
    index = store.text_index()
    return {"engine": "tantivy" if index.keeps_documents else "store",
            "publications": index.count(), "bytes": index.size(),
            "in_step": in_step(store, Uris(base))}


def _version(store, base: str) -> object:
    """What changes whenever the store's content may have: the embedded store's generation
    (no query), else the records' count and newest load time (dataset.marker)."""
    generation = store.generation
    return generation if generation is not None else marker(store, base)


def _counts() -> tuple[dict[str, int] | None, float, dict[str, object] | None]:
    """The counts of the app's store, how old they are, and its text index (see _Counts)."""
    store = app_store()
    store = store.bounded(COUNT_TIMEOUT)
    counter = current_app.extensions.setdefault("policykg.health", _Counts())
    counts, age = counter.get(store, app_uris().base)
    return counts, age, counter.text_index


@blueprint.get("/healthz")
def healthz() -> Response:
    """The store's reachability and counts: 200 when it answers, else 503."""
    store = _store()
    kind = "oxigraph" if store.in_process else "sparql"
    start = time.monotonic()
    try:
        bool(store.query("ASK {}"))
        latency = (time.monotonic() - start) * 1000
        counts, age, text_index = _counts()
    except (StoreUnavailable, StoreError) as error:
        body: dict[str, object] = {
            "status": "unavailable",
            "store": {"kind": kind, "reachable": False, "error": str(error)}}
        response = jsonify(body)
        response.status_code = 503
        response.headers["Retry-After"] = RETRY_AFTER
        return _no_store(response)
    iris, warnings = _addresses(store)
    body = {"status": "warning" if warnings else "ok",
            "store": {"kind": kind, "reachable": True, "latency_ms": round(latency, 1)},
            "counts": counts, "counts_age_s": round(age, 1) if counts is not None else None,
            "text_index": text_index, "iris": iris, "warnings": warnings}
    return _no_store(jsonify(body))


def _addresses(store) -> tuple[dict[str, str | None], list[str]]:
    """The bases in play (site/bases.py), and what disagrees among them."""
    iris = {"store_base": stored_base(store), "served_base": app_uris().base,
            "configured_base": app_settings().base, "answering_at": answering_root()}
    return iris, base_warnings(iris["store_base"], app_uris().base, app_settings().base,
                               iris["answering_at"])


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
