"""What ``GET /sparql`` without a query answers: the SPARQL service description (Turtle, or
another RDF syntax by Accept, with VoID statistics of the store), or, for a browser, the query
page (YASGUI with the catalogue's examples).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pyoxigraph as ox
from flask import Response, current_app, render_template, url_for
from werkzeug.datastructures import MultiDict

from policykg.graph.rdf.terms import serialized
from policykg.webapp.context import app_settings
from policykg.webapp.sparql.evaluation import QueryJob
from policykg.webapp.sparql.executor import app_executor
from policykg.webapp.sparql.requests import (
    GRAPH_OFFERS,
    MEDIA_TYPES,
    PAGE_OFFERS,
    ProtocolError,
    negotiate,
)

log = logging.getLogger("policykg.sparql")

SD_FORMATS = {"ttl": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES,
              "rdf": ox.RdfFormat.RDF_XML, "jsonld": ox.RdfFormat.JSON_LD}
STATS_TTL = 60.0  # seconds VoID statistics of a store in memory are kept


def describe_service(params: MultiDict) -> Response:
    key = negotiate(params, [*GRAPH_OFFERS[:4], *PAGE_OFFERS], "ttl")
    if key is None:
        raise ProtocolError(406, "the service description is available as Turtle, N-Triples, "
                                 "RDF/XML, JSON-LD, or an HTML page")
    if key == "html":
        return _page()
    text = service_description()
    if key != "ttl":
        triples = [quad.triple for quad in ox.parse(text, ox.RdfFormat.TURTLE)]
        text = serialized(triples, SD_FORMATS[key]).decode("utf-8")
    response = Response(text, content_type=MEDIA_TYPES[key])
    response.headers["Vary"] = "Accept"
    return response


def _endpoint_iri(endpoint: str) -> str:
    iri = url_for(f"sparql.{endpoint}", _external=True)
    try:
        ox.NamedNode(iri)
    except ValueError:
        iri = urljoin(app_settings().base, "sparql" if endpoint == "query" else "sparql/update")
    return iri


def service_description() -> str:
    """The SPARQL service description of this endpoint, as Turtle."""
    settings = app_settings()
    return render_template(
        "sparql_service.ttl", endpoint=_endpoint_iri("query"),
        update_endpoint=_endpoint_iri("update") if settings.update_token else None,
        federation=bool(settings.service_allow), stats=_statistics())


def _statistics() -> dict[str, int] | None:
    """VoID statistics of the default graph, computed once per state of the store."""
    executor = app_executor()
    key = executor.generation()
    cached = current_app.extensions.get("policykg.sparql.stats")
    fresh = key is not None or (cached and time.monotonic() - cached[2] < STATS_TTL)
    if cached and cached[0] == key and fresh:
        return cached[1]
    text = render_template("sparql_void.rq")
    timeout = app_settings().query_timeout
    answer = executor.readers.submit(QueryJob("values", text, timeout=timeout), timeout)
    stats = None
    if answer.status == 200 and answer.value and all(answer.value[0].values()):
        stats = {name: int(str(value)) for name, value in answer.value[0].items()}
    current_app.extensions["policykg.sparql.stats"] = (key, stats, time.monotonic())
    return stats


def _page() -> Response:
    static = Path(current_app.static_folder or "")
    return Response(render_template(
        "sparql_yasgui.html", endpoint=url_for("sparql.query"), examples=examples(),
        yasgui=(static / "yasgui" / "yasgui.min.js").is_file(),
        charts=(static / "charts" / "chart.umd.min.js").is_file()))


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
