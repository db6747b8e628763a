"""The W3C SPARQL 1.1 Protocol and Service Description test suites, against a live server.

Each ``ht:Request`` of the manifest becomes a real HTTP request (paths ``/sparql/...`` are
rewritten to /sparql, or /sparql/update for the update operations, which carry the token).
The dataset tests get ``data1.nt``..``data3.nt`` loaded as the graphs they name, through the
update endpoint. Every case of both manifests applies; none is skipped.
"""

from __future__ import annotations

import http.client
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import UPDATE_TOKEN, LiveServer, create_store
from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

W3C = Path(__file__).parent / "fixtures" / "w3c"
PROTOCOL = W3C / "sparql11-protocol"
SERVICE_DESCRIPTION = W3C / "sparql11-service-description"
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
RDFS = Namespace("http://www.w3.org/2000/01/rdf-schema#")
BOOLEAN_TYPES = {"application/sparql-results+json", "application/sparql-results+xml"}
TABULAR_TYPES = BOOLEAN_TYPES | {"text/csv", "text/tab-separated-values"}
RDF_TYPES = {"application/rdf+xml": "xml", "text/turtle": "turtle",
             "application/n-triples": "nt"}
BACKENDS = ("oxigraph", "virtuoso")


@dataclass(frozen=True)
class Request:
    """One ht:Request of a test and the response it must get."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None
    statuses: frozenset[int]           # acceptable status classes: 2, 3, 4...
    result_format: str | None          # "boolean", "tabular", "RDF"
    boolean: bool | None


@dataclass(frozen=True)
class Case:
    """A protocol test: its name, the graphs it needs loaded, its requests in order."""

    name: str
    graphs: dict[str, Path]
    requests: tuple[Request, ...]


def _manifest(folder: Path) -> tuple[Graph, list[Node]]:
    graph = Graph()
    path = folder / "manifest.ttl"
    graph.parse(path, format="turtle", publicID=path.as_uri())
    manifest = next(graph.subjects(RDF.type, MF.Manifest))
    return graph, list(Collection(graph, graph.value(manifest, MF.entries)))


def _file(node: Node) -> Path:
    return Path(urlsplit(str(node)).path)


def _name(node: Node) -> str:
    return str(node).rsplit("#", 1)[-1]


def _request(graph: Graph, node: Node) -> Request:
    headers = {}
    header_list = graph.value(node, HT.headers)
    for header in Collection(graph, header_list) if header_list else []:
        headers[str(graph.value(header, HT.fieldName))] = str(graph.value(header, HT.fieldValue))
    body = graph.value(node, HT.body)
    data = None
    if body is not None:
        encoding = str(graph.value(body, CNT.characterEncoding) or "UTF-8")
        data = str(graph.value(body, CNT.chars)).encode(encoding.lower())
    response = graph.value(node, HT.resp)
    statuses = frozenset(int(re.search(r"(\d)xx$", str(s)).group(1))
                         for s in graph.objects(response, MF.expectedStatus))
    result_format = graph.value(response, MF.expectedFormat)
    boolean = graph.value(response, MF.expectedBoolean)
    return Request(str(graph.value(node, HT.methodName)), str(graph.value(node, HT.absolutePath)),
                   headers, data, statuses, None if result_format is None else str(result_format),
                   None if boolean is None else bool(boolean.toPython()))


def protocol_cases() -> list[Case]:
    """Every test of the protocol manifest."""
    graph, entries = _manifest(PROTOCOL)
    cases = []
    for entry in entries:
        graphs = {str(graph.value(data, RDFS.label)): _file(graph.value(data, UT.graph))
                  for data in graph.objects(entry, UT.graphData)}
        action = graph.value(entry, MF.action)
        requests = tuple(_request(graph, node)
                         for node in Collection(graph, graph.value(action, HT.requests)))
        cases.append(Case(_name(entry), graphs, requests))
    return cases


CASES = protocol_cases()


@pytest.fixture(scope="module")
def w3c_server(settings, remote, tmp_path_factory) -> Iterator[LiveServer]:
    """A server over a store of its own (the update tests clear everything), token set; on
    Virtuoso, the shared store emptied (and left in an unknown state)."""
    from conftest import start_server

    home = tmp_path_factory.mktemp("w3c")
    if remote:
        remote.ensure("empty")
        remote.dirty()
        own = replace(settings, home=str(home), update_token=UPDATE_TOKEN)
    else:
        create_store(home / "store")
        own = replace(settings, home=str(home), store=f"oxigraph:{home / 'store'}",
                      update_token=UPDATE_TOKEN)
    server = start_server(own)
    yield server
    server.stop()


def send(server: LiveServer, method: str, path: str, headers: dict[str, str],
         body: bytes | None) -> tuple[int, str, bytes]:
    """One raw HTTP request (http.client sends exactly the headers given)."""
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        content_type = (response.getheader("Content-Type") or "").split(";")[0].strip()
        return response.status, content_type, response.read()
    finally:
        connection.close()


def is_update(case: Case, request: Request) -> bool:
    """Whether a request of the manifest is an update operation (sent to /sparql/update)."""
    if not case.name.startswith(("update_", "bad_update_")):
        return False
    query = "query=" in request.path or (request.body or b"").startswith(b"query=")
    return not query and request.headers.get("content-type") != "application/sparql-query"


def load_graphs(server: LiveServer, graphs: dict[str, Path]) -> None:
    """Replace the store's content by the named graphs, through the update endpoint."""
    inserts = " ".join(f"GRAPH <{name}> {{ {path.read_text('utf-8')} }}"
                       for name, path in graphs.items())
    status, _, body = send(server, "POST", "/sparql/update",
                           {"Content-Type": "application/sparql-update",
                            "Authorization": f"Bearer {UPDATE_TOKEN}"},
                           f"DROP ALL ; INSERT DATA {{ {inserts} }}".encode())
    assert status == 204, body


def check_result(request: Request, content_type: str, body: bytes) -> None:
    """The response is of the expected kind (boolean, tabular, RDF) and value."""
    if request.result_format == "boolean":
        assert content_type in BOOLEAN_TYPES, content_type
        if request.boolean is not None:
            assert parse_boolean(content_type, body) is request.boolean
    elif request.result_format == "tabular":
        assert content_type in TABULAR_TYPES, content_type
    elif request.result_format == "RDF":
        assert content_type in RDF_TYPES, content_type
        Graph().parse(data=body, format=RDF_TYPES[content_type])


def parse_boolean(content_type: str, body: bytes) -> bool:
    """The value of a SPARQL boolean result, JSON or XML."""
    if content_type.endswith("json"):
        return json.loads(body)["boolean"]
    element = ET.fromstring(body).find("{http://www.w3.org/2005/sparql-results#}boolean")
    return element.text.strip() == "true"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_protocol(case: Case, w3c_server: LiveServer) -> None:
    """Run every request of a W3C protocol test in order and check each response."""
    if case.graphs:
        load_graphs(w3c_server, case.graphs)
    for request in case.requests:
        headers = dict(request.headers)
        endpoint = "/sparql"
        if is_update(case, request):
            endpoint = "/sparql/update"
            headers["Authorization"] = f"Bearer {UPDATE_TOKEN}"
        path = re.sub(r"^/sparql/?", endpoint, request.path)
        status, content_type, body = send(w3c_server, request.method, path, headers, request.body)
        assert status // 100 in request.statuses, (status, body[:500])
        check_result(request, content_type, body)


def test_every_protocol_case_collected() -> None:
    """The manifest has 34 tests and all of them run."""
    assert len(CASES) == 34


# --- service description ----------------------------------------------------------------------

SD_LANGUAGES = {SD.SPARQL10Query, SD.SPARQL11Query, SD.SPARQL11Update}
SD_FEATURES = {SD.DereferencesURIs, SD.UnionDefaultGraph, SD.RequiresDataset,
               SD.EmptyGraphs, SD.BasicFederatedQuery}


def description(server: LiveServer) -> tuple[int, str, Graph]:
    """GET the endpoint without a query, as an RDF client would."""
    status, content_type, body = send(server, "GET", "/sparql", {}, None)
    graph = Graph()
    if content_type in RDF_TYPES:
        graph.parse(data=body, format=RDF_TYPES[content_type])
    return status, content_type, graph


def returns_rdf(server: LiveServer) -> None:
    status, content_type, graph = description(server)
    assert status == 200 and content_type in RDF_TYPES and len(graph) > 0


def has_endpoint_triple(server: LiveServer) -> None:
    _, _, graph = description(server)
    assert (None, SD.endpoint, URIRef(server.url + "/sparql")) in graph


def conforms_to_schema(server: LiveServer) -> None:
    _, _, graph = description(server)
    services = set(graph.subjects(RDF.type, SD.Service))
    assert services
    for service in services:
        assert len(list(graph.objects(service, SD.endpoint))) == 1
        assert set(graph.objects(service, SD.supportedLanguage)) <= SD_LANGUAGES
        assert set(graph.objects(service, SD.feature)) <= SD_FEATURES
        assert all(isinstance(f, URIRef) for f in graph.objects(service, SD.resultFormat))
        for dataset in graph.objects(service, SD.defaultDataset):
            assert (dataset, RDF.type, SD.Dataset) in graph
            for default in graph.objects(dataset, SD.defaultGraph):
                assert (default, RDF.type, SD.Graph) in graph
                for count in graph.objects(default, Namespace("http://rdfs.org/ns/void#").triples):
                    assert isinstance(count, Literal) and int(count) >= 0


SD_CHECKS = {"returns-rdf": returns_rdf, "has-endpoint-triple": has_endpoint_triple,
             "conforms-to-schema": conforms_to_schema}
SD_CASES = [_name(entry) for entry in _manifest(SERVICE_DESCRIPTION)[1]]


@pytest.mark.parametrize("name", SD_CASES)
def test_service_description(name: str, w3c_server: LiveServer) -> None:
    """Every test of the service-description manifest."""
    SD_CHECKS[name](w3c_server)
