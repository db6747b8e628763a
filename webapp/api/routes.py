"""The API over HTTP: named queries with typed parameters, search, and their OpenAPI document.

    GET /api/queries                  the catalogue (JSON): name, title, description, tags,
                                      parameters (type, schema, default), URL
    GET /api/queries/{name}?p=v ...   run a query: SPARQL 1.1 Query Results JSON by default,
                                      CSV with ``Accept: text/csv`` or ``format=csv``
    GET /api/search?q=...             search the publications (search.py)
    GET /api/openapi.json             OpenAPI 3.0 document, one path per query and search

A bad parameter value answers 400 with {"error": ..., "parameter": name}, as does a value that
names nothing the graph holds (a region, division, JEL code... is found by its key, code or
name: graph/search/names.py); an unknown query 404.
Parameters are bound with SPARQL substitutions, never pasted into the query (catalogue.py).
Rows beyond the query's ``limit`` (at most the ``max_rows`` setting) are cut; the response
then carries ``X-Result-Truncated: true``.
"""

from __future__ import annotations

import csv
import io
import json
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import orjson
from flask import Blueprint, Response, request, url_for

from policykg.webapp.api.catalogue import (
    NamedQuery,
    Parameter,
    ParameterError,
    Result,
    catalogue,
    catalogue_examples,
    csv_rows,
    run,
    solutions_json,
)
from policykg.webapp.api.search import (
    SEARCH_SCHEMAS,
    app_search,
    search_operation,
    search_response,
)
from policykg.webapp.context import app_settings, app_store, app_uris

__all__ = ["blueprint", "catalogue_examples", "openapi_document"]

blueprint = Blueprint("api", __name__)

JSON_TYPE = "application/sparql-results+json"
CSV_TYPE = "text/csv"
FORMATS = {"json": JSON_TYPE, "csv": CSV_TYPE}
FORMAT_PARAMETER = "format"


def _json(body: Any, status: int = 200, media: str = "application/json",
          compact: bool = False) -> Response:
    """A JSON response; ``compact`` (query results) is written by orjson, unindented, which
    is many times faster than json.dumps."""
    data = (orjson.dumps(body, option=orjson.OPT_APPEND_NEWLINE) if compact
            else (json.dumps(body, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
    return Response(data, status, content_type=f"{media}; charset=utf-8")


def _error(status: int, message: str, **extra: Any) -> Response:
    return _json({"error": message, **extra}, status)




# --- the catalogue ------------------------------------------------------------------------


@blueprint.route("/api/queries")
def list_queries() -> Response:
    """The named queries and their parameters."""
    return _json({"queries": [_describe(query) for query in catalogue().values()]})


def _describe(query: NamedQuery) -> dict[str, Any]:
    return {
        "name": query.name,
        "title": query.title,
        "description": query.description,
        "tags": list(query.tags),
        "parameters": [_parameter(p) for p in query.parameters],
        "url": url_for("api.run_query", name=query.name, _external=True),
    }


def _parameter(parameter: Parameter) -> dict[str, Any]:
    max_rows = app_settings().max_rows
    return {
        "name": parameter.name,
        "type": parameter.type.name,
        "description": _description(parameter, max_rows),
        "required": parameter.required,
        "default": parameter.default,
        "schema": _schema(parameter, max_rows),
    }


def _description(parameter: Parameter, max_rows: int) -> str:
    """The parameter's description; a limit's says its maximum, as its schema does."""
    if parameter.type.name == "limit":
        return f"{parameter.description} (at most {parameter.most(max_rows)})"
    return parameter.description


def _schema(parameter: Parameter, max_rows: int) -> dict[str, Any]:
    """The parameter's OpenAPI schema, with its default (and the row cap for a limit)."""
    schema = dict(parameter.type.schema)
    if parameter.type.name == "limit":
        schema["maximum"] = parameter.most(max_rows)
    if parameter.default is not None:
        is_number = schema.get("type") == "integer"
        schema["default"] = int(parameter.default) if is_number else parameter.default
    return schema


# --- running a query ----------------------------------------------------------------------


@blueprint.route("/api/queries/<name>")
def run_query(name: str) -> Response:
    """Run a named query with the request's parameters."""
    query = catalogue().get(name)
    if query is None:
        return _error(404, f"no query named '{name}'", queries=sorted(catalogue()))
    media = _media_type()
    if media is None:
        return _error(406, "results are available as application/sparql-results+json or "
                      "text/csv (Accept, or format=json|csv)")
    args = {key: value for key, value in request.args.items() if key != FORMAT_PARAMETER}
    repeated = [key for key in request.args if len(request.args.getlist(key)) > 1]
    if repeated:
        return _error(400, f"parameter '{repeated[0]}': given more than once",
                      parameter=repeated[0])
    store = app_store()
    try:
        result = run(query, store, args, app_uris(), app_settings().max_rows,
                     app_search().names.resolve)
    except ParameterError as error:
        return _error(400, str(error), parameter=error.name)
    response = (_csv(result) if media == CSV_TYPE
                else _json(solutions_json(result), media=media, compact=True))
    response.headers["X-Result-Truncated"] = "true" if result.truncated else "false"
    response.headers["Vary"] = "Accept"
    return response


def _media_type() -> str | None:
    chosen = request.args.get(FORMAT_PARAMETER)
    if chosen is not None:
        return FORMATS.get(chosen.lower())
    if not request.accept_mimetypes:
        return JSON_TYPE
    offers = [JSON_TYPE, "application/json", CSV_TYPE]
    best = request.accept_mimetypes.best_match(offers)
    if best is None:
        return None
    return CSV_TYPE if best == CSV_TYPE else JSON_TYPE


def _csv(result: Result) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(csv_rows(result))
    return Response(buffer.getvalue(), 200, content_type=f"{CSV_TYPE}; charset=utf-8")


# --- OpenAPI ------------------------------------------------------------------------------


@blueprint.route("/api/search")
def search() -> Response:
    """Search the publications (webapp/api/search.py says how)."""
    return search_response(_json, _error)


@blueprint.route("/api/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.0 document of the catalogue."""
    return _json(openapi_document(request.host_url.rstrip("/"), app_settings().max_rows))


def openapi_document(server: str, max_rows: int) -> dict[str, Any]:
    """OpenAPI 3.0.3 for the catalogue: the list, then one GET path per named query."""
    paths: dict[str, Any] = {"/api/queries": {"get": {
        "operationId": "listQueries",
        "summary": "The named queries and their parameters",
        "tags": ["catalogue"],
        "responses": {"200": {"description": "The catalogue", "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Catalogue"}}}}},
    }}}
    paths["/api/search"] = {"get": search_operation()}
    for query in catalogue().values():
        paths[f"/api/queries/{query.name}"] = {"get": _operation(query, max_rows)}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "policykg query catalogue",
            "version": _version(),
            "description": "Named SPARQL queries over the policykg knowledge graph. Results "
                           "are SPARQL 1.1 Query Results JSON, or CSV (Accept: text/csv or "
                           "format=csv).",
        },
        "servers": [{"url": server}],
        "paths": paths,
        "components": {"schemas": {**_SCHEMAS, **SEARCH_SCHEMAS}, "responses": _RESPONSES},
    }


def _operation(query: NamedQuery, max_rows: int) -> dict[str, Any]:
    parameters = [_openapi_parameter(p, max_rows) for p in query.parameters]
    parameters.append({
        "name": FORMAT_PARAMETER, "in": "query", "required": False,
        "description": "The result format, instead of the Accept header",
        "schema": {"type": "string", "enum": sorted(FORMATS), "default": "json"},
    })
    return {
        "operationId": _operation_id(query.name),
        "summary": query.title,
        "description": query.description,
        "tags": list(query.tags) or ["queries"],
        "parameters": parameters,
        "responses": {
            "200": {"description": "The query's results", "headers": {
                "X-Result-Truncated": {"description": "Whether rows were cut at the limit",
                                       "schema": {"type": "string", "enum": ["true", "false"]}},
            }, "content": {
                JSON_TYPE: {"schema": {"$ref": "#/components/schemas/SparqlResults"}},
                CSV_TYPE: {"schema": {"type": "string"}},
            }},
            "400": {"$ref": "#/components/responses/BadParameter"},
            "406": {"$ref": "#/components/responses/NotAcceptable"},
        },
    }


def _openapi_parameter(parameter: Parameter, max_rows: int) -> dict[str, Any]:
    return {
        "name": parameter.name, "in": "query", "required": parameter.required,
        "description": f"{_description(parameter, max_rows)} ({parameter.type.name}: "
                       f"{parameter.type.description})",
        "schema": _schema(parameter, max_rows),
    }


def _operation_id(name: str) -> str:
    first, *rest = name.split("-")
    return first + "".join(part.capitalize() for part in rest)


def _version() -> str:
    try:
        return version("policykg")
    except PackageNotFoundError:
        return "0"


_TERM = {
    "type": "object",
    "required": ["type", "value"],
    "properties": {
        "type": {"type": "string", "enum": ["uri", "literal", "bnode"]},
        "value": {"type": "string"},
        "datatype": {"type": "string"},
        "xml:lang": {"type": "string"},
    },
}
_SCHEMAS: dict[str, Any] = {
    "SparqlResults": {
        "type": "object",
        "description": "SPARQL 1.1 Query Results JSON Format",
        "required": ["head", "results"],
        "properties": {
            "head": {"type": "object", "required": ["vars"], "properties": {
                "vars": {"type": "array", "items": {"type": "string"}}}},
            "results": {"type": "object", "required": ["bindings"], "properties": {
                "bindings": {"type": "array", "items": {
                    "type": "object", "additionalProperties": {"$ref": "#/components/schemas/Term"},
                }}}},
        },
    },
    "Term": _TERM,
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string"}, "parameter": {"type": "string"}},
    },
    "Catalogue": {
        "type": "object",
        "properties": {"queries": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "title": {"type": "string"},
            "description": {"type": "string"}, "url": {"type": "string", "format": "uri"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "parameters": {"type": "array", "items": {"type": "object"}},
        }}}},
    },
}
_RESPONSES: dict[str, Any] = {
    "BadParameter": {"description": "A parameter value does not fit its type (the error names "
                                    "the parameter)", "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    "NotAcceptable": {"description": "No acceptable result format", "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
}
