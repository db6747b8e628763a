"""Reading a SPARQL Protocol request: the query or update and its parameters (GET, POST form,
POST direct), the dataset it names, and the result format it accepts (``format``, else the
Accept header); what the protocol refuses raises ``ProtocolError`` with its HTTP status.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import pyoxigraph as ox
from flask import request
from werkzeug.datastructures import MultiDict

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
    ("text/n3", "ttl"), ("text/rdf+n3", "ttl"),  # Turtle is N3 (SPARQLWrapper's N3)
]
PAGE_OFFERS = [("text/html", "html"), ("application/xhtml+xml", "html")]


class ProtocolError(Exception):
    """A request the protocol refuses: an HTTP status and a message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def read_operation(name: str, direct_type: str, other: str) -> tuple[str | None, MultiDict]:
    """The query (or update) string of a request and its protocol parameters."""
    if request.method in ("GET", "HEAD"):  # HEAD: GET's headers, without the body
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


def iris_of(params: MultiDict, name: str) -> list[str]:
    iris = params.getlist(name)
    for iri in iris:
        try:
            ox.NamedNode(iri)
        except ValueError as error:
            raise ProtocolError(400, f"`{name}` is not an IRI: {iri!r} ({error})") from error
    return iris


def dataset_of(params: MultiDict) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    """The protocol's dataset: default-graph-uri and named-graph-uri (None: not given)."""
    default = iris_of(params, "default-graph-uri")
    named = iris_of(params, "named-graph-uri")
    if not default and not named:
        return None, None
    return tuple(default), tuple(named) if named else None


FORMAT_NAMES = {
    "json": "json", "xml": "xml", "csv": "csv", "tsv": "tsv", "ttl": "ttl", "turtle": "ttl",
    "n3": "ttl",
    "nt": "nt", "ntriples": "nt", "n-triples": "nt", "rdf": "rdf", "rdf+xml": "rdf",
    "rdfxml": "rdf", "jsonld": "jsonld", "json-ld": "jsonld", "html": "html",
}
GRAPH_ALIASES = {"xml": "rdf", "json": "jsonld"}  # what clients mean by them for CONSTRUCT


def result_formats(params: MultiDict) -> dict[str, str]:
    """The format for each query form (select, ask, graph) the client accepts; none: 406."""
    chosen = {
        "select": negotiate(params, RESULT_OFFERS, "json"),
        "ask": negotiate(params, RESULT_OFFERS, "json"),
        "graph": negotiate(params, GRAPH_OFFERS, "ttl", GRAPH_ALIASES),
    }
    return {form: key for form, key in chosen.items() if key}


def negotiate(params: MultiDict, offers: list[tuple[str, str]], default: str,
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
