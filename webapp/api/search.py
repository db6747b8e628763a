"""Search over HTTP: ``GET /api/search`` (JSON, or CSV of the hits).

    /api/search?q=informal+employment&jel=J&year_from=2015&sort=newest&page=2&size=50

Parameters: ``q`` (the search syntax), a filter per facet (``type``, ``division``, ``jel``,
``region``, ``language``, ``author``, ``keyword``; repeat one to accept any of its values; an
IRI, a key such as ``O31`` or ``ifd-cti``, or a vocabulary label such as ``Jamaica``),
``year_from``/``year_to``, ``sort`` (relevance, newest, oldest, title), ``page``, ``size`` (at
most 100), ``facets`` (false: none counted), ``lang`` (the labels' language) and ``format``
(json; csv; or the page's publications as citations: bibtex, ris, csljson, each made from
their CSL-JSON items, webapp/citations). A bad parameter answers 400 naming it; a text that can
match nothing answers an empty result.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import asdict
from typing import Any

from flask import Response, current_app, request

from policykg.graph.search.names import UnknownName
from policykg.graph.search.request import FACETS, MAX_SIZE, SORTS, RequestError, SearchRequest
from policykg.graph.search.service import FacetValue, FoundPublication, Search, SearchPage
from policykg.webapp.citations.csl import csl_items
from policykg.webapp.citations.variants import MEDIA_TYPES, WRITERS
from policykg.webapp.context import app_store, app_uris

SEARCH = "policykg.search"  # in app.extensions
FILTERS = tuple(name for name in FACETS if name != "year")
INTEGERS = ("page", "size", "year_from", "year_to")
KNOWN = {"q", "sort", "facets", "lang", "format", *FILTERS, *INTEGERS}
# format -> media type of the answer
EXPORTS = {"json": "application/json", "csv": "text/csv",
           **{name: MEDIA_TYPES[name][0] for name in WRITERS}}


def app_search() -> Search:
    """The app's search (made at its first use, in the process that serves: a text index is
    opened after the server's processes fork)."""
    search = current_app.extensions.get(SEARCH)
    if search is None:
        store = app_store()
        search = current_app.extensions[SEARCH] = Search(store, store.text_index(), app_uris())
    return search


def search_request(args: Any) -> SearchRequest:
    """The search a request's parameters ask for (RequestError naming a bad one)."""
    unknown = sorted(set(args) - KNOWN)
    if unknown:
        raise RequestError(unknown[0], "no such parameter (known: " + ", ".join(sorted(KNOWN))
                           + ")")
    for name in ("q", "sort", "facets", "lang", "format", *INTEGERS):
        if len(args.getlist(name)) > 1:
            raise RequestError(name, "given more than once")
    facets = args.get("facets", "true").lower()
    if facets not in ("true", "false"):
        raise RequestError("facets", f"{facets!r}: give true or false")
    filters = {name: tuple(_resolved(name, value) for value in args.getlist(name))
               for name in FILTERS if args.getlist(name)}
    return SearchRequest(q=args.get("q", ""), filters=filters, sort=args.get("sort", "relevance"),
                         facets=facets == "true", page=_given(_integer(args, "page"), 1),
                         size=_given(_integer(args, "size"), 20),
                         year_from=_integer(args, "year_from"),
                         year_to=_integer(args, "year_to"))


def _resolved(name: str, value: str) -> str:
    try:
        return app_search().names.resolve(name, value)
    except UnknownName as error:
        raise RequestError(name, str(error)) from None


def _given(value: int | None, default: int) -> int:
    return default if value is None else value


def _integer(args: Any, name: str) -> int | None:
    text = args.get(name)
    if text is None or text == "":
        return None
    try:
        return int(text)
    except ValueError:
        raise RequestError(name, f"{text!r} is not a whole number") from None


def page_json(page: SearchPage) -> dict[str, Any]:
    """A search page as the API's JSON."""
    asked = page.request
    return {
        "query": {"q": asked.q, "filters": {k: list(v) for k, v in asked.filters.items()},
                  "year_from": asked.year_from, "year_to": asked.year_to, "sort": asked.sort,
                  "page": asked.page, "size": asked.size},
        "total": page.total,
        "pages": page.pages,
        "hits": [_hit_json(hit) for hit in page.hits],
        "facets": {name: [_facet_json(value) for value in values]
                   for name, values in page.facets.items()},
    }


def _hit_json(hit: FoundPublication) -> dict[str, Any]:
    found = asdict(hit)
    found["authors"] = [{"iri": a.iri, "name": a.label} for a in hit.authors]
    found["divisions"] = [{"iri": d.iri, "label": d.label} for d in hit.divisions]
    found["type"] = {"iri": hit.type.iri, "label": hit.type.label} if hit.type else None
    return found


def _facet_json(value: FacetValue) -> dict[str, Any]:
    found = {"value": value.value, "label": value.label, "count": value.count}
    if value.parent is not None:
        found["parent"] = value.parent
    return found


CSV_COLUMNS = ("iri", "key", "number", "title", "authors", "year", "type", "divisions", "score")


def page_csv(page: SearchPage) -> str:
    """A search page's hits as CSV (one row a publication)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for hit in page.hits:
        writer.writerow([hit.iri, hit.key or "", hit.number or "", hit.title,
                         "; ".join(a.label for a in hit.authors), hit.year or "",
                         hit.type.label if hit.type else "",
                         "; ".join(d.label for d in hit.divisions), f"{hit.score:.4g}"])
    return out.getvalue()


def search_response(json_response: Any, error_response: Any) -> Response:
    """Answer ``GET /api/search`` (JSON or CSV)."""
    try:
        asked = search_request(request.args)
    except RequestError as error:
        return error_response(400, str(error), parameter=error.parameter)
    by_media = {media: name for name, media in EXPORTS.items()}
    wanted = request.args.get("format") or by_media.get(
        request.accept_mimetypes.best_match(list(by_media), "application/json") or "", "json")
    if wanted not in EXPORTS:
        return error_response(400, f"format: {wanted!r}: give " + ", ".join(EXPORTS),
                              parameter="format")
    started = time.perf_counter()
    page = app_search().search(asked, language=request.args.get("lang", "en")[:8])
    elapsed = (time.perf_counter() - started) * 1000
    if wanted == "csv":
        response = Response(page_csv(page), content_type="text/csv; charset=utf-8")
    elif wanted in WRITERS:
        items = csl_items(app_store(), [hit.iri for hit in page.hits])
        response = Response(WRITERS[wanted](items),
                            content_type=f"{EXPORTS[wanted]}; charset=utf-8")
    else:
        response = json_response(page_json(page), compact=True)
    response.headers["Vary"] = "Accept"
    response.headers["Server-Timing"] = f"search;dur={elapsed:.1f}"
    return response


_FILTER_DESCRIPTIONS = {
    "type": "A document type: its IRI, key (working-papers) or label (Working Papers)",
    "division": "An IDB division, department or unit: IRI, key (ifd-cti), acronym (IFD) or "
                "name; a department finds its divisions' publications",
    "jel": "A JEL code at any level (O, O3, O31) or its IRI; a code finds those under it",
    "region": "A region or country: IRI, key (caribbean), ISO code (JM) or name (Jamaica); a "
              "region finds its countries' publications",
    "language": "A language: ISO 639 code (es) or name (Spanish), or its IRI",
    "author": "A person: IRI, key (perez-javier) or name (Pérez, Javier)",
    "keyword": "A keyword: IRI, key or label",
}


def search_operation() -> dict[str, Any]:
    """The OpenAPI operation of ``GET /api/search``."""
    def parameter(name: str, description: str, schema: dict[str, Any],
                  repeated: bool = False) -> dict[str, Any]:
        found = {"name": name, "in": "query", "required": False, "description": description,
                 "schema": {"type": "array", "items": schema} if repeated else schema}
        if repeated:
            found.update(style="form", explode=True)
        return found

    parameters = [
        parameter("q", "What to find, in the search syntax: every word by default; OR, -word, "
                  '"a phrase", prefix*, title: abstract: author: keyword:',
                  {"type": "string", "maxLength": 1000}),
        *[parameter(name, f"{text} (repeat to accept any of several)", {"type": "string"},
                    repeated=True) for name, text in _FILTER_DESCRIPTIONS.items()],
        parameter("year_from", "The earliest year of issue", {"type": "integer",
                                                              "minimum": 1000,
                                                              "maximum": 2999}),
        parameter("year_to", "The latest year of issue", {"type": "integer", "minimum": 1000,
                                                          "maximum": 2999}),
        parameter("sort", "The order of the hits", {"type": "string", "enum": list(SORTS),
                                                    "default": "relevance"}),
        parameter("page", "The page of hits, from 1", {"type": "integer", "minimum": 1,
                                                       "default": 1}),
        parameter("size", f"Hits a page, {MAX_SIZE} at most",
                  {"type": "integer", "minimum": 1, "maximum": MAX_SIZE, "default": 20}),
        parameter("facets", "Whether to count the facets", {"type": "boolean",
                                                             "default": True}),
        parameter("lang", "The language of labels (en, es, pt, fr)",
                  {"type": "string", "default": "en"}),
        parameter("format", "json; csv for the hits as CSV; bibtex, ris or csljson for the "
                  "page's publications as citations (BibTeX, RIS, CSL-JSON). Accept may ask "
                  "for the same by media type",
                  {"type": "string", "enum": list(EXPORTS), "default": "json"}),
    ]
    return {
        "operationId": "search",
        "summary": "Search the publications",
        "description": "Publications that match a text, within facet filters and years, "
                       "ranked or sorted, a page at a time, with highlighted passages and "
                       "the counts of every facet's values among all the results.",
        "tags": ["search"],
        "parameters": parameters,
        "responses": {
            "200": {"description": "The page of results", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/SearchPage"}},
                "text/csv": {"schema": {"type": "string"}},
                **{EXPORTS[name]: {"schema": {"type": "array", "items": {"type": "object"}}
                                   if name == "csljson" else {"type": "string"}}
                   for name in WRITERS},
            }},
            "400": {"$ref": "#/components/responses/BadParameter"},
        },
    }


_NAMED = {"type": "object", "properties": {"iri": {"type": "string"},
                                           "label": {"type": "string"}}}
SEARCH_SCHEMAS: dict[str, Any] = {
    "SearchPage": {
        "type": "object",
        "required": ["query", "total", "pages", "hits", "facets"],
        "properties": {
            "query": {"type": "object"},
            "total": {"type": "integer"},
            "pages": {"type": "integer"},
            "hits": {"type": "array", "items": {"$ref": "#/components/schemas/SearchHit"}},
            "facets": {"type": "object", "additionalProperties": {
                "type": "array", "items": {"$ref": "#/components/schemas/FacetValue"}}},
        },
    },
    "SearchHit": {
        "type": "object",
        "required": ["iri", "score", "title"],
        "properties": {
            "iri": {"type": "string"}, "key": {"type": "string", "nullable": True},
            "number": {"type": "string", "nullable": True},
            "score": {"type": "number"}, "title": {"type": "string"},
            "title_html": {"type": "string"}, "snippet_html": {"type": "string"},
            "authors": {"type": "array", "items": {
                "type": "object", "properties": {"iri": {"type": "string"},
                                                 "name": {"type": "string"}}}},
            "year": {"type": "integer", "nullable": True},
            "issued": {"type": "string", "nullable": True},
            "type": {**_NAMED, "nullable": True},
            "divisions": {"type": "array", "items": _NAMED},
        },
    },
    "FacetValue": {
        "type": "object",
        "required": ["value", "label", "count"],
        "properties": {"value": {"type": "string"}, "label": {"type": "string"},
                       "count": {"type": "integer"}, "parent": {"type": "string"}},
    },
}

__all__ = ["SEARCH_SCHEMAS", "app_search", "page_json", "search_operation", "search_request",
           "search_response"]
