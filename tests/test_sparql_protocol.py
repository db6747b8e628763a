"""The SPARQL endpoint with real clients (SPARQLWrapper, rdflib's SPARQLStore) and raw HTTP."""

from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import replace
from urllib.parse import quote, urlencode

import pytest
from conftest import UPDATE_TOKEN, LiveServer, Reply, fetch
from rdflib import Graph, Literal, URIRef
from SPARQLWrapper import CSV, JSON, N3, POST, TURTLE, XML, SPARQLWrapper

BACKENDS = ("oxigraph", "virtuoso")
IRIS = "FILTER(isIRI(?s) && !isBlank(?o))"
# Ordered: Virtuoso's rows without ORDER BY need not come in one order from query to query.
ROWS = f"SELECT ?s ?p ?o WHERE {{ ?s ?p ?o {IRIS} }} ORDER BY ?s ?p ?o LIMIT 5"
CONSTRUCT = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o {IRIS} }} ORDER BY ?s ?p ?o LIMIT 5"
SELECT_TYPES = ("application/sparql-results+json", "application/sparql-results+xml",
                "text/csv", "text/tab-separated-values")


def endpoint(server: LiveServer) -> str:
    return server.url + "/sparql"


def get(server: LiveServer, query: str, **headers: str) -> Reply:
    return fetch(endpoint(server), params={"query": query}, headers=headers)


def media(response: Reply) -> str:
    return response.media


@pytest.fixture(scope="module")
def reference(live_server: LiveServer, remote) -> list[tuple[str, str, str]]:
    """The first rows of the store, as the endpoint gives them in JSON (on Virtuoso, read in
    the state the tests run in: module fixtures are made before the per-test state is set)."""
    if remote:
        remote.ensure("sample")
    data = get(live_server, ROWS).json()
    rows = [tuple(b[v]["value"] for v in ("s", "p", "o")) for b in data["results"]["bindings"]]
    assert len(rows) == 5
    return rows


# --- real clients ------------------------------------------------------------------------------

def wrapper(server: LiveServer, query: str, return_format: str) -> SPARQLWrapper:
    client = SPARQLWrapper(endpoint(server))
    client.setQuery(query)
    client.setReturnFormat(return_format)
    return client


def test_sparqlwrapper_json(live_server, reference):
    result = wrapper(live_server, ROWS, JSON).queryAndConvert()
    rows = [tuple(b[v]["value"] for v in ("s", "p", "o")) for b in result["results"]["bindings"]]
    assert rows == reference


def test_sparqlwrapper_xml_by_post(live_server, reference):
    client = wrapper(live_server, ROWS, XML)
    client.setMethod(POST)
    document = client.queryAndConvert()
    values = [node.firstChild.data if node.firstChild else ""
              for node in document.getElementsByTagName("binding")
              for node in node.childNodes if node.nodeType == node.ELEMENT_NODE]
    assert [tuple(values[i:i + 3]) for i in range(0, len(values), 3)] == reference


def test_sparqlwrapper_csv(live_server, reference):
    text = wrapper(live_server, ROWS, CSV).queryAndConvert().decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["s", "p", "o"]
    assert [tuple(row) for row in rows[1:]] == reference


def test_sparqlwrapper_construct(live_server, reference):
    graph = wrapper(live_server, CONSTRUCT, TURTLE).queryAndConvert()
    if isinstance(graph, bytes):
        graph = Graph().parse(data=graph, format="turtle")
    assert len(graph) == 5
    assert URIRef(reference[0][0]) in set(graph.subjects())


def test_sparqlwrapper_n3_is_answered_in_turtle(live_server, reference):
    """SPARQLWrapper's N3 sends format=n3: Turtle is N3, so the graph comes in Turtle."""
    data = wrapper(live_server, CONSTRUCT, N3).queryAndConvert()
    graph = Graph().parse(data=data, format="turtle")
    assert len(graph) == 5
    assert URIRef(reference[0][0]) in set(graph.subjects())


def test_sparqlwrapper_ask(live_server):
    assert wrapper(live_server, "ASK { ?s ?p ?o }", JSON).queryAndConvert()["boolean"] is True


def test_rdflib_sparqlstore(live_server, reference):
    graph = Graph(store="SPARQLStore")
    graph.open(endpoint(live_server))
    rows = [tuple(str(term) for term in row) for row in graph.query(ROWS)]
    assert rows == reference
    assert graph.query("ASK { ?s ?p ?o }").askAnswer is True
    subject = URIRef(reference[0][0])
    assert len(list(graph.triples((subject, None, None)))) >= 1
    constructed = graph.query(CONSTRUCT).graph
    assert len(constructed) == 5


# --- the protocol ------------------------------------------------------------------------------

def test_post_direct_and_form_agree_with_get(live_server):
    by_get = get(live_server, ROWS).json()
    direct = fetch(endpoint(live_server), "POST", data=ROWS.encode(),
                           headers={"Content-Type": "application/sparql-query"})
    form = fetch(endpoint(live_server), "POST", data={"query": ROWS})
    assert direct.json() == form.json() == by_get


def test_default_graph_is_union_unless_dataset_given(live_server, reference):
    subject = reference[0][0]
    query = f"ASK {{ <{subject}> ?p ?o }}"
    assert get(live_server, query).json()["boolean"] is True
    response = fetch(endpoint(live_server), params={
        "query": query, "default-graph-uri": "http://example.org/no-such-graph"})
    assert response.json()["boolean"] is False
    graphs = get(live_server, f"SELECT DISTINCT ?g {{ GRAPH ?g {{ <{subject}> ?p ?o }} }}")
    graph = graphs.json()["results"]["bindings"][0]["g"]["value"]
    response = fetch(endpoint(live_server), params={
        "query": query, "default-graph-uri": graph})
    assert response.json()["boolean"] is True
    named = fetch(endpoint(live_server), params={
        "query": f"ASK {{ GRAPH ?g {{ <{subject}> ?p ?o }} }}", "named-graph-uri": graph})
    assert named.json()["boolean"] is True


def test_from_clause_names_the_default_graph(live_server, reference):
    subject = reference[0][0]
    query = f"ASK FROM <http://example.org/nothing> {{ <{subject}> ?p ?o }}"
    assert get(live_server, query).json()["boolean"] is False


@pytest.mark.parametrize(("accept", "expected"), [
    ("text/csv;q=0.5, application/sparql-results+xml;q=0.9", "application/sparql-results+xml"),
    ("application/sparql-results+json;q=0.1, text/tab-separated-values",
     "text/tab-separated-values"),
    ("text/*", "text/csv"),
    ("*/*", "application/sparql-results+json"),
    ("application/json", "application/sparql-results+json"),
])
def test_select_conneg_with_q_values(live_server, accept, expected):
    assert media(get(live_server, ROWS, Accept=accept)) == expected


@pytest.mark.parametrize(("accept", "expected"), [
    ("application/n-triples;q=0.8, application/ld+json", "application/ld+json"),
    ("application/rdf+xml", "application/rdf+xml"),
    ("application/sparql-results+json, */*;q=0.1", "text/turtle"),
    ("", "text/turtle"),
])
def test_construct_conneg(live_server, accept, expected):
    response = get(live_server, CONSTRUCT, Accept=accept)
    assert media(response) == expected
    graph_format = {"application/ld+json": "json-ld", "application/rdf+xml": "xml",
                    "text/turtle": "turtle"}[expected]
    assert len(Graph().parse(data=response.body, format=graph_format)) == 5


@pytest.mark.parametrize(("value", "expected"), [
    ("json", "application/sparql-results+json"), ("xml", "application/sparql-results+xml"),
    ("csv", "text/csv"), ("tsv", "text/tab-separated-values"),
])
def test_format_parameter_overrides_accept(live_server, value, expected):
    response = fetch(endpoint(live_server), headers={"Accept": "text/csv"},
                            params={"query": ROWS, "format": value})
    assert media(response) == expected


def test_format_parameter_for_graphs(live_server):
    for value, expected in (("ttl", "text/turtle"), ("nt", "application/n-triples"),
                            ("rdf", "application/rdf+xml"), ("jsonld", "application/ld+json")):
        response = fetch(endpoint(live_server),
                                params={"query": CONSTRUCT, "format": value})
        assert media(response) == expected


def test_ask_formats(live_server):
    for accept in SELECT_TYPES:
        response = get(live_server, "ASK {}", Accept=accept)
        assert response.status == 200 and media(response) == accept


@pytest.mark.parametrize(("query", "accept", "params"), [
    (ROWS, "image/png", {}),
    (CONSTRUCT, "text/csv", {}),
    (ROWS, "", {"format": "ttl"}),
    (CONSTRUCT, "", {"format": "csv"}),
])
def test_not_acceptable(live_server, query, accept, params):
    response = fetch(endpoint(live_server), headers={"Accept": accept},
                            params={"query": query, **params})
    assert response.status == 406


def test_unknown_format_is_a_bad_request(live_server):
    response = fetch(endpoint(live_server), params={"query": ROWS, "format": "yaml"})
    assert response.status == 400 and "unknown format" in response.text


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_other_methods_are_not_allowed(live_server, method):
    response = fetch(endpoint(live_server), method, params={"query": "ASK {}"})
    assert response.status == 405
    assert "GET" in response.headers["Allow"] and "POST" in response.headers["Allow"]


def test_head_gives_the_headers_of_get_without_a_body(live_server):
    for params in ({"query": ROWS}, {"query": CONSTRUCT}, {}):  # {}: the service description
        got = fetch(endpoint(live_server), params=params)
        head = fetch(endpoint(live_server), "HEAD", params=params)
        assert (head.status, head.body) == (200, b"")
        assert head.headers["Content-Type"] == got.headers["Content-Type"]


def test_a_query_string_that_is_not_utf8_is_a_bad_request(live_server):
    response = fetch(endpoint(live_server) + "?query=ASK%20%7B%7D%FF")
    assert response.status == 400 and "`query`" in response.text and "UTF-8" in response.text


def test_get_on_update_endpoint_is_not_allowed(live_server):
    response = fetch(live_server.url + "/sparql/update", params={"update": "CLEAR ALL"})
    assert response.status == 405


def test_two_query_parameters(live_server):
    url = endpoint(live_server) + "?" + urlencode([("query", "ASK {}"), ("query", ROWS)])
    assert fetch(url).status == 400
    both = fetch(endpoint(live_server) + "?query=" + quote("ASK {}"), "POST",
                         data={"query": "ASK {}"})
    assert both.status == 400 and "2 `query`" in both.text


@pytest.mark.parametrize(("body", "content_type"), [
    ("ASK { FILTER(\"é\" = \"é\") }".encode("latin-1"), "application/sparql-query"),
    ("ASK {}".encode("utf-16"), "application/sparql-query; charset=UTF-16"),
    (b"query=ASK%20%7B%20FILTER(%22%E9%22)%20%7D", "application/x-www-form-urlencoded"),
    (b"query=ASK%20%7B%7D", "application/x-www-form-urlencoded; charset=ISO-8859-1"),
])
def test_non_utf8_bodies(live_server, body, content_type):
    response = fetch(endpoint(live_server), "POST", data=body,
                             headers={"Content-Type": content_type})
    assert response.status == 400 and "UTF-8" in response.text


def test_utf8_body_is_read(live_server):
    query = 'SELECT ?x WHERE { BIND("Thèmes" AS ?x) }'
    response = fetch(endpoint(live_server), "POST", data=query.encode("utf-8"),
                             headers={"Content-Type": "application/sparql-query"})
    assert response.json()["results"]["bindings"][0]["x"]["value"] == "Thèmes"


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/json"])
def test_missing_or_wrong_content_type(live_server, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = fetch(endpoint(live_server), "POST", data=b"ASK {}", headers=headers)
    assert response.status == 400 and "Content-Type" in response.text


def test_syntax_error_gives_the_parser_message(live_server):
    response = get(live_server, "SELECT * WHERE { ?s ?p }")
    assert response.status == 400
    assert "syntax error" in response.text and "error at 1:" in response.text


def test_truncated_results_say_so(live_server):
    limit = live_server.settings.max_rows
    response = get(live_server, "SELECT * WHERE { ?s ?p ?o }")
    assert response.headers["X-Result-Truncated"] == "true"
    assert response.headers["X-Result-Limit"] == str(limit)
    assert "truncated" in response.headers["Warning"]
    assert len(response.json()["results"]["bindings"]) == limit
    construct = get(live_server, "CONSTRUCT WHERE { ?s ?p ?o }", Accept="application/n-triples")
    assert construct.headers["X-Result-Truncated"] == "true"
    assert len(construct.text.strip().splitlines()) == limit
    whole = get(live_server, ROWS)
    assert "X-Result-Truncated" not in whole.headers


def test_cors_for_reads(live_server):
    response = get(live_server, "ASK {}", Origin="http://elsewhere.example")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "X-Result-Truncated" in response.headers["Access-Control-Expose-Headers"]
    preflight = fetch(endpoint(live_server), "OPTIONS", headers={
        "Origin": "http://elsewhere.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status in (200, 204)
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "content-type" in preflight.headers["Access-Control-Allow-Headers"].lower()
    update = fetch(live_server.url + "/sparql/update", "OPTIONS")
    assert "Access-Control-Allow-Origin" not in update.headers


def test_one_json_log_line_per_query(live_server, caplog):
    with caplog.at_level(logging.INFO, logger="policykg.sparql"):
        assert get(live_server, ROWS).status == 200
        assert get(live_server, "SELECT * {").status == 400
        refused = get(live_server, "SELECT * { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }")
        assert refused.status == 400
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "policykg.sparql"]
    # a streamed answer is logged when its last row is sent, so lines need not come in order
    (ok,) = [line for line in lines[-3:] if line["status"] == 200]
    assert ok["rows"] == 5 and ok["truncated"] is False
    assert len(ok["query_hash"]) == 16 and ok["duration_ms"] >= 0 and ok["format"] == "json"
    refused = [line for line in lines[-3:] if line["status"] == 400]
    assert len(refused) == 2 and all(line["event"] == "query" for line in refused)


# --- service description and page -------------------------------------------------------------

def test_service_description_turtle_by_default(live_server):
    response = fetch(endpoint(live_server))
    assert media(response) == "text/turtle"
    graph = Graph().parse(data=response.text, format="turtle")
    sd = "http://www.w3.org/ns/sparql-service-description#"
    assert (None, URIRef(sd + "endpoint"), URIRef(endpoint(live_server))) in graph
    assert (None, URIRef(sd + "feature"), URIRef(sd + "UnionDefaultGraph")) in graph
    assert (None, URIRef(sd + "feature"), URIRef(sd + "BasicFederatedQuery")) not in graph
    triples = list(graph.objects(None, URIRef("http://rdfs.org/ns/void#triples")))
    count = get(live_server, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }").json()
    assert triples == [Literal(int(count["results"]["bindings"][0]["n"]["value"]))]


@pytest.mark.parametrize(("accept", "expected", "rdflib_format"), [
    ("application/n-triples", "application/n-triples", "nt"),
    ("application/rdf+xml", "application/rdf+xml", "xml"),
    ("application/ld+json", "application/ld+json", "json-ld"),
])
def test_service_description_formats(live_server, accept, expected, rdflib_format):
    response = fetch(endpoint(live_server), headers={"Accept": accept})
    assert media(response) == expected
    assert len(Graph().parse(data=response.text, format=rdflib_format)) > 10


def test_browser_gets_the_query_page(live_server):
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = fetch(endpoint(live_server), headers={"Accept": accept})
    assert media(response) == "text/html"
    assert '<form id="sparql-form"' in response.text


def test_page_loads_yasgui_or_degrades(live_server, tmp_path, monkeypatch):
    from policykg.webapp.sparql import description as sparql
    monkeypatch.setattr(sparql, "examples", lambda: [{"name": "Every graph",
                                                      "query": "SELECT ?g { GRAPH ?g {} }"}])
    client = live_server.app.test_client()
    page = client.get("/sparql", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "Every graph" in page and "GRAPH ?g" in page
    installed = (live_server.app.static_folder and
                 __import__("pathlib").Path(live_server.app.static_folder, "yasgui",
                                            "yasgui.min.js").is_file())
    assert ("/static/yasgui/yasgui.min.js" in page) == bool(installed)
    monkeypatch.setattr(live_server.app, "static_folder", str(tmp_path))
    bare = client.get("/sparql", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "yasgui.min.js" not in bare and '<form id="sparql-form"' in bare


def test_examples_come_from_the_api_when_it_has_them(monkeypatch):
    import sys
    import types

    from policykg.webapp.sparql import description as sparql
    fake = types.ModuleType("policykg.webapp.api.routes")
    text = "SELECT ?t { ?p <http://purl.org/dc/terms/title> ?t }"
    fake.catalogue_examples = lambda: [("Titles", text)]
    monkeypatch.setitem(sys.modules, "policykg.webapp.api.routes", fake)
    assert sparql.examples() == [{"name": "Titles", "query": text}]
    del fake.catalogue_examples
    assert sparql.examples() == []


# --- updates -----------------------------------------------------------------------------------

def post_update(server: LiveServer, text: str, token: str | None = UPDATE_TOKEN,
                form: bool = False) -> Reply:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if form:
        return fetch(server.url + "/sparql/update", "POST", data={"update": text},
                             headers=headers)
    headers["Content-Type"] = "application/sparql-update"
    return fetch(server.url + "/sparql/update", "POST", data=text.encode(), headers=headers)


INSERT = ("INSERT DATA { GRAPH <http://example.org/g> "
          "{ <http://example.org/a> <http://example.org/p> 1 } }")
ASK_INSERTED = "ASK { <http://example.org/a> <http://example.org/p> 1 }"


def test_update_needs_the_token(fresh_server):
    missing = post_update(fresh_server, INSERT, token=None)
    assert missing.status == 401 and "Bearer" in missing.headers["WWW-Authenticate"]
    assert post_update(fresh_server, INSERT, token="wrong").status == 403
    assert get(fresh_server, ASK_INSERTED).json()["boolean"] is False
    assert post_update(fresh_server, INSERT).status == 204
    assert get(fresh_server, ASK_INSERTED).json()["boolean"] is True
    assert post_update(fresh_server, "DROP GRAPH <http://example.org/g>", form=True).status == 204
    assert get(fresh_server, ASK_INSERTED).json()["boolean"] is False


def test_update_resolves_relative_iris_against_the_base(fresh_server):
    assert post_update(fresh_server, "INSERT DATA { GRAPH <g> { <a> <p> <b> } }").status == 204
    base = fresh_server.settings.base
    ask = f"ASK {{ GRAPH <{base}g> {{ <{base}a> <{base}p> <{base}b> }} }}"
    assert get(fresh_server, ask).json()["boolean"] is True


def test_an_update_leaves_the_tallies_to_be_recounted_by_the_next_load(fresh_server):
    """An update may change records behind the load-time aggregates: it marks them pending,
    as a load does before its first change (a refused update changes nothing, marks nothing)."""
    base = fresh_server.settings.base
    pending = f"ASK {{ GRAPH <{base}graph/aggregates/pending> {{ ?s ?p ?o }} }}"
    assert post_update(fresh_server, "INSERT DATA { <a> }").status == 400
    assert get(fresh_server, pending).json()["boolean"] is False
    assert post_update(fresh_server, INSERT).status == 204
    assert get(fresh_server, pending).json()["boolean"] is True


def test_update_syntax_error(fresh_server):
    response = post_update(fresh_server, "INSERT DATA { <a> }")
    assert response.status == 400 and "syntax error" in response.text


def test_updates_off_without_a_token(settings, server_factory, loaded_store):
    server = server_factory(replace(settings, update_token=None))
    assert post_update(server, INSERT).status == 404
    description = fetch(endpoint(server)).text
    assert "/sparql/update" not in description


def _serialised(store, text: str, key: str) -> bytes:
    from policykg.webapp.sparql.evaluation import QueryJob, execute

    messages: list[tuple] = []
    execute(store, QueryJob("query", text, formats={"select": key}), messages.append)
    return b"".join(m[1] for m in messages if m[0] == "data")


def test_capped_rows_serialise_like_pyoxigraph_itself():
    """The rows kept under max_rows go back through pyoxigraph unchanged (every kind of term)."""
    import pyoxigraph as ox

    from policykg.graph.store.embedded import OxigraphStore

    store = OxigraphStore(None)
    query = """SELECT ?x WHERE { VALUES ?x { <http://example.org/a> "tab\\there\\nline \\"q\\""
        "chat"@fr "a"@en--ltr 42 "2024-01-01"^^<http://www.w3.org/2001/XMLSchema#date> UNDEF } }
        """
    for key, result_format in (("json", ox.QueryResultsFormat.JSON),
                               ("xml", ox.QueryResultsFormat.XML),
                               ("csv", ox.QueryResultsFormat.CSV),
                               ("tsv", ox.QueryResultsFormat.TSV)):
        expected = store.query(query).serialize(format=result_format)
        assert _serialised(store, query, key) == expected
    blank = "SELECT ?b ?t { BIND(BNODE() AS ?b) BIND(<<( ?b <http://example.org/p> 1 )>> AS ?t) }"
    row = json.loads(_serialised(store, blank, "json"))["results"]["bindings"][0]
    assert row["b"]["type"] == "bnode" and row["t"]["type"] == "triple"
    assert row["t"]["value"]["subject"] == row["b"]


def test_drop_all_leaves_the_ontology_and_vocabularies_as_installed(vocab_store, server_factory):
    """The reference graphs are policykg's: an update that drops them sees them put back, so
    pages and named queries keep working."""
    server = server_factory(vocab_store)
    base = vocab_store.base
    jel = f"ASK {{ GRAPH <{base}graph/vocab/jel> {{ <{base}id/jel/O31> ?p ?o }} }}"
    ontology = f"ASK {{ GRAPH <{base}graph/ontology> {{ ?s ?p ?o }} }}"
    assert post_update(server, INSERT).status == 204
    assert post_update(server, "DROP ALL").status == 204
    assert get(server, ASK_INSERTED).json()["boolean"] is False  # the update did its work
    assert get(server, jel).json()["boolean"] is True
    assert get(server, ontology).json()["boolean"] is True
    page = fetch(server.url + "/doc/jel/O31.ttl")
    assert page.status == 200 and "O31" in page.text
