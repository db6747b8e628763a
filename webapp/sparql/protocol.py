"""The SPARQL 1.1 Protocol: queries at /sparql, updates at /sparql/update, a service description.

Queries run in killable worker processes (see ``query_worker``) with a time limit and a cap on
result rows. Nothing a client sends makes the server call another host: SERVICE is refused
unless its endpoint is in ``service_allow``, LOAD is refused, and FROM / FROM NAMED only name
graphs of the store (Oxigraph never fetches them). Updates need ``Authorization: Bearer
<update_token>``. Every query and update is logged as one JSON line (logger ``policykg.sparql``).
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import json
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urljoin

import pyoxigraph as ox
from flask import Blueprint, Flask, Response, current_app, g, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from policykg.graph.config import Settings
from policykg.graph.rdf.sparql_text import has_dataset_clause, tokens
from policykg.webapp.sparql.query_worker import Answer, Executor, Job, make_executor

blueprint = Blueprint("sparql", __name__)
log = logging.getLogger("policykg.sparql")

QUERY_TYPE = "application/sparql-query"
UPDATE_TYPE = "application/sparql-update"
FORM_TYPE = "application/x-www-form-urlencoded"
MEDIA_TYPES = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
    "ttl": "text/turtle; charset=utf-8",
    "nt": "application/n-triples",
    "rdf": "application/rdf+xml",
    "jsonld": "application/ld+json",
}
RESULT_OFFERS = [
    ("application/sparql-results+json", "json"), ("application/sparql-results+xml", "xml"),
    ("text/csv", "csv"), ("text/tab-separated-values", "tsv"), ("application/json", "json"),
    ("application/xml", "xml"), ("text/xml", "xml"),
]
GRAPH_OFFERS = [
    ("text/turtle", "ttl"), ("application/n-triples", "nt"), ("application/rdf+xml", "rdf"),
    ("application/ld+json", "jsonld"), ("application/x-turtle", "ttl"), ("text/plain", "nt"),
]
PAGE_OFFERS = [("text/html", "html"), ("application/xhtml+xml", "html")]
SD_FORMATS = {"ttl": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES,
              "rdf": ox.RdfFormat.RDF_XML, "jsonld": ox.RdfFormat.JSON_LD}
STATS_TTL = 60.0  # seconds VoID statistics of a store in memory are kept


class ProtocolError(Exception):
    """A request the protocol refuses: an HTTP status and a message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@blueprint.errorhandler(ProtocolError)
def _protocol_error(error: ProtocolError) -> Response:
    if "sparql_log" in g:
        _log(*g.sparql_log, error.status)
    return _text(error.status, error.message)


def _text(status: int, message: str) -> Response:
    response = Response(message.rstrip("\n") + "\n", status,
                        content_type="text/plain; charset=utf-8")
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="policykg SPARQL Update"'
    if status == 503:
        response.headers["Retry-After"] = "5"
    return response


def _settings() -> Settings:
    return current_app.config["POLICYKG"]


# --- the query endpoint -----------------------------------------------------------------------

@blueprint.route("/sparql", methods=["GET", "POST"])
def query() -> Response:
    """Answer a SPARQL query; without one, describe the service (or show the query page)."""
    text, params = _operation("query", QUERY_TYPE, other="update")
    if text is None:
        if request.method == "POST":
            raise ProtocolError(400, "no `query` given")
        return _describe(params)
    g.sparql_log = ("query", text, time.monotonic())
    formats = _result_formats(params)
    _check_safety(text, update=False)
    job = Job("query", text, base_iri=_settings().base, union=not has_dataset_clause(text),
              formats=formats, max_rows=_settings().max_rows,
              timeout=_settings().query_timeout, **_dataset(params))
    answer = _executor().readers.submit(job, _settings().query_timeout)
    return _respond(answer, text)


def _respond(answer: Answer, text: str) -> Response:
    head = answer.head
    if head is None:
        _log(*g.sparql_log, answer.status)
        message = answer.message
        if answer.status == 400 and _looks_like_update(text):
            message += "\n(updates are POSTed to /sparql/update)"
        return _text(answer.status, message)
    response = Response(answer.chunks, 200, content_type=MEDIA_TYPES[head.format])
    response.headers["Vary"] = "Accept"
    if head.truncated:
        limit = _settings().max_rows
        response.headers["X-Result-Truncated"] = "true"
        response.headers["X-Result-Limit"] = str(limit)
        response.headers["Warning"] = f'199 policykg "result truncated to {limit} rows"'
    logged = g.sparql_log
    response.call_on_close(lambda: _log(*logged, 200, head.rows, head.truncated, head.format))
    return response


def _looks_like_update(text: str) -> bool:
    return bool(re.search(r"(?i)\b(INSERT|DELETE|LOAD|CLEAR|DROP|CREATE)\b", text))


# --- the update endpoint ----------------------------------------------------------------------

@blueprint.route("/sparql/update", methods=["POST"])
def update() -> Response:
    """Run a SPARQL Update, for holders of the update token only; LOAD is refused."""
    _authorise()
    text, params = _operation("update", UPDATE_TYPE, other="query")
    if text is None:
        raise ProtocolError(400, "no `update` given")
    g.sparql_log = ("update", text, time.monotonic())
    _check_safety(text, update=True)
    text = with_using(text, _iris(params, "using-graph-uri"),
                      _iris(params, "using-named-graph-uri"))
    writer = _executor().writer
    if writer is None:
        raise ProtocolError(501, "this store does not support SPARQL Update")
    timeout = _settings().update_timeout
    answer = writer.submit(Job("update", text, base_iri=_settings().base, timeout=timeout),
                           timeout)
    _log(*g.sparql_log, answer.status if answer.status != 200 else 204)
    if answer.status != 200:
        return _text(answer.status, answer.message)
    response = Response(status=204)
    del response.headers["Content-Type"]
    return response


def _authorise() -> None:
    token = _settings().update_token
    if not token:
        raise ProtocolError(404, "SPARQL Update is not enabled on this server")
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        raise ProtocolError(401, "SPARQL Update needs `Authorization: Bearer <token>`")
    if not hmac.compare_digest(header[7:].strip().encode(), token.encode()):
        raise ProtocolError(403, "wrong update token")


# --- reading a request ------------------------------------------------------------------------

def _operation(name: str, direct_type: str, other: str) -> tuple[str | None, MultiDict]:
    """The query (or update) string of a request and its protocol parameters."""
    if request.method == "GET":
        return _single(_check_other(MultiDict(request.args), other), name), request.args
    mimetype = request.mimetype
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if not mimetype:
        raise ProtocolError(400, f"a POST needs a Content-Type: {FORM_TYPE} or {direct_type}")
    if charset not in ("utf-8", "utf8"):
        raise ProtocolError(400, f"the body must be UTF-8, not {charset}")
    if mimetype == FORM_TYPE:
        params = MultiDict(request.args)
        for key, value in _form(request.get_data()):
            params.add(key, value)
        return _single(_check_other(params, other), name), params
    if mimetype == direct_type:
        if name in request.args:
            raise ProtocolError(400, f"`{name}` given both in the URL and as the body")
        return _utf8(request.get_data()), _check_other(MultiDict(request.args), other)
    raise ProtocolError(400, f"unsupported Content-Type {mimetype}: use {FORM_TYPE} or "
                             f"{direct_type}")


def _check_other(params: MultiDict, other: str) -> MultiDict:
    if other in params:
        raise ProtocolError(400, f"`{other}` does not belong here: updates are POSTed to "
                                 "/sparql/update, queries go to /sparql")
    return params


def _single(params: MultiDict, name: str) -> str | None:
    values = params.getlist(name)
    if len(values) > 1:
        raise ProtocolError(400, f"{len(values)} `{name}` parameters: give exactly one")
    return values[0] if values else None


def _form(body: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(_utf8(body), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError as error:
        raise ProtocolError(400, f"the form is not UTF-8: {error}") from error


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ProtocolError(400, f"the body is not UTF-8: {error}") from error


def _iris(params: MultiDict, name: str) -> list[str]:
    iris = params.getlist(name)
    for iri in iris:
        try:
            ox.NamedNode(iri)
        except ValueError as error:
            raise ProtocolError(400, f"`{name}` is not an IRI: {iri!r} ({error})") from error
    return iris


def _dataset(params: MultiDict) -> dict[str, tuple[str, ...] | None]:
    """The protocol's dataset: default-graph-uri and named-graph-uri (None: not given)."""
    default = _iris(params, "default-graph-uri")
    named = _iris(params, "named-graph-uri")
    if not default and not named:
        return {"default_graph": None, "named_graphs": None}
    return {"default_graph": tuple(default), "named_graphs": tuple(named) if named else None}


# --- content negotiation ----------------------------------------------------------------------

FORMAT_NAMES = {
    "json": "json", "xml": "xml", "csv": "csv", "tsv": "tsv", "ttl": "ttl", "turtle": "ttl",
    "nt": "nt", "ntriples": "nt", "n-triples": "nt", "rdf": "rdf", "rdf+xml": "rdf",
    "rdfxml": "rdf", "jsonld": "jsonld", "json-ld": "jsonld", "html": "html",
}
GRAPH_ALIASES = {"xml": "rdf", "json": "jsonld"}  # what clients mean by them for CONSTRUCT


def _result_formats(params: MultiDict) -> dict[str, str]:
    """The format for each query form (select, ask, graph) the client accepts; none: 406."""
    chosen = {
        "select": _negotiate(params, RESULT_OFFERS, "json"),
        "ask": _negotiate(params, RESULT_OFFERS, "json"),
        "graph": _negotiate(params, GRAPH_OFFERS, "ttl", GRAPH_ALIASES),
    }
    return {form: key for form, key in chosen.items() if key}


def _negotiate(params: MultiDict, offers: list[tuple[str, str]], default: str,
               aliases: dict[str, str] | None = None) -> str | None:
    """The ``format`` parameter, else the Accept header (q-values), else the default."""
    wanted = _format_parameter(params)
    keys = {key for _, key in offers}
    if wanted:
        found = [(aliases or {}).get(key, key) for key in wanted]
        return next((key for key in found if key in keys), None)
    accept = request.accept_mimetypes
    if not accept:
        return default
    best = accept.best_match([media for media, _ in offers])
    return dict(offers)[best] if best else None


def _format_parameter(params: MultiDict) -> list[str]:
    """The formats named by ``format`` (short names like json, ttl, or media types)."""
    values = [value.strip().lower() for value in params.getlist("format") if value.strip()]
    if not values:
        return []
    media = dict(RESULT_OFFERS + GRAPH_OFFERS + PAGE_OFFERS)
    known = [FORMAT_NAMES.get(value) or media.get(value.split(";")[0].strip()) for value in values]
    if not any(known):
        raise ProtocolError(400, f"unknown format {values[0]!r}; use one of "
                                 "json, xml, csv, tsv, ttl, nt, rdf, jsonld (or a media type)")
    return [key for key in known if key]


# --- safety -----------------------------------------------------------------------------------

def with_using(text: str, using: list[str], using_named: list[str]) -> str:
    """An update with the protocol's using-graph-uri / using-named-graph-uri as USING clauses.

    They apply to every DELETE/INSERT ... WHERE operation; an update that has its own USING or
    WITH cannot take them (400).
    """
    if not using and not using_named:
        return text
    clauses = "".join(f"USING <{iri}> " for iri in using)
    clauses += "".join(f"USING NAMED <{iri}> " for iri in using_named)
    pieces, last, depth, previous = [], 0, 0, ""
    for token in tokens(text):
        kind, word, offset = token.kind, token.word, token.start
        if kind == "punct" and word in "{}":
            depth += 1 if word == "{" else -1
        elif depth == 0 and kind == "name":
            if word in ("USING", "WITH"):
                raise ProtocolError(400, f"the update has its own {word} clause: it cannot "
                                         "also take using-graph-uri or using-named-graph-uri")
            if word == "WHERE" and previous != "DELETE":
                pieces += [text[last:offset], clauses]
                last = offset
        if depth == 0:
            previous = word
    return "".join([*pieces, text[last:]])


_SERVICE = re.compile(r"(?i)\bservice\b")
_LOAD = re.compile(r"(?i)\bload\b")


def _check_safety(text: str, update: bool) -> None:
    """Refuse SERVICE outside ``service_allow`` and LOAD: no request may make us call out.

    Only a request whose text has the word SERVICE (or LOAD) can do either; such a request is
    parsed with rdflib and refused when it names a SERVICE endpoint that is not allowed (or a
    variable), LOAD, or cannot be parsed.
    """
    words = [w for w, p in (("SERVICE", _SERVICE), ("LOAD", _LOAD)) if p.search(text)]
    if not words or (words == ["LOAD"] and not update):
        return
    try:
        nodes = list(_algebra_nodes(text, update))
    except Exception as error:
        raise ProtocolError(400, f"the request mentions {' and '.join(words)} and could not be "
                                 f"checked, so it is refused: {error}") from error
    allowed = set(_settings().service_allow)
    for node in nodes:
        if node.name == "Load":
            raise ProtocolError(400, "LOAD is not allowed: this server fetches nothing")
        if node.name == "ServiceGraphPattern" and str(node.term) not in allowed:
            raise ProtocolError(400, f"SERVICE {node.term.n3()} is not allowed: federated "
                                     "queries may only call the endpoints in service_allow")


def _algebra_nodes(text: str, update: bool) -> Iterator[Any]:
    from rdflib.plugins.sparql.algebra import translateQuery, translateUpdate
    from rdflib.plugins.sparql.parser import parseQuery, parseUpdate
    from rdflib.plugins.sparql.parserutils import CompValue

    root = translateUpdate(parseUpdate(text)).algebra if update else (
        translateQuery(parseQuery(text)).algebra)
    stack: list[Any] = [root]
    while stack:
        value = stack.pop()
        if isinstance(value, CompValue):
            yield value
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list | tuple):
            stack.extend(value)


# --- service description and the query page ---------------------------------------------------

def _describe(params: MultiDict) -> Response:
    key = _negotiate(params, [*GRAPH_OFFERS[:4], *PAGE_OFFERS], "ttl")
    if key is None:
        raise ProtocolError(406, "the service description is available as Turtle, N-Triples, "
                                 "RDF/XML, JSON-LD, or an HTML page")
    if key == "html":
        return _page()
    text = service_description()
    if key != "ttl":
        triples = [quad.triple for quad in ox.parse(text, ox.RdfFormat.TURTLE)]
        text = ox.serialize(triples, format=SD_FORMATS[key]).decode("utf-8")
    response = Response(text, content_type=MEDIA_TYPES[key])
    response.headers["Vary"] = "Accept"
    return response


def _endpoint_iri(endpoint: str) -> str:
    iri = url_for(f"sparql.{endpoint}", _external=True)
    try:
        ox.NamedNode(iri)
    except ValueError:
        iri = urljoin(_settings().base, "sparql" if endpoint == "query" else "sparql/update")
    return iri


def service_description() -> str:
    """The SPARQL service description of this endpoint, as Turtle."""
    settings = _settings()
    return render_template(
        "sparql_service.ttl", endpoint=_endpoint_iri("query"),
        update_endpoint=_endpoint_iri("update") if settings.update_token else None,
        federation=bool(settings.service_allow), stats=_statistics())


def _statistics() -> dict[str, int] | None:
    """VoID statistics of the default graph, computed once per state of the store."""
    executor = _executor()
    key = executor.generation()
    cached = current_app.extensions.get("policykg.sparql.stats")
    fresh = key is not None or (cached and time.monotonic() - cached[2] < STATS_TTL)
    if cached and cached[0] == key and fresh:
        return cached[1]
    text = render_template("sparql_void.rq")
    timeout = _settings().query_timeout
    answer = executor.readers.submit(Job("values", text, timeout=timeout), timeout)
    stats = None
    if answer.status == 200 and answer.value and all(answer.value[0].values()):
        stats = {name: int(str(value)) for name, value in answer.value[0].items()}
    current_app.extensions["policykg.sparql.stats"] = (key, stats, time.monotonic())
    return stats


def _page() -> Response:
    static = Path(current_app.static_folder or "")
    return Response(render_template(
        "sparql_yasgui.html", endpoint=url_for("sparql.query"), examples=examples(),
        yasgui=(static / "yasgui" / "yasgui.min.js").is_file()))


def examples() -> list[dict[str, str]]:
    """Example queries for the query page, from ``api.catalogue_examples`` when it exists."""
    try:
        from policykg.webapp.api.routes import catalogue_examples
    except ImportError:
        return []
    try:
        found = catalogue_examples()
    except Exception:
        log.exception("catalogue_examples failed")
        return []
    items = found.items() if isinstance(found, dict) else found
    return [_example(item) for item in items]


def _example(item: Any) -> dict[str, str]:
    if isinstance(item, dict):
        name = item.get("title") or item.get("name") or item.get("label") or "example"
        return {"name": str(name), "query": str(item.get("query") or item.get("sparql") or "")}
    name, text = item
    return {"name": str(name), "query": str(text)}


# --- CORS, logging, the executor --------------------------------------------------------------

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


_executor_lock = threading.Lock()


def _executor() -> Executor:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with _executor_lock:
        executor = app.extensions.get("policykg.sparql")
        if executor is None or executor.pid != os.getpid():
            executor = make_executor(app.extensions["policykg.store"],
                                     _settings().query_workers,
                                     writable=bool(_settings().update_token))
            app.extensions["policykg.sparql"] = executor
            atexit.register(executor.close)
    return executor


def close(app: Flask) -> None:
    """Stop the app's query workers (they also stop when the process exits)."""
    executor = app.extensions.pop("policykg.sparql", None)
    if executor is not None:
        executor.close()
