"""Limits and safety of the SPARQL endpoint: no outgoing requests, the size of a request, time
limits that cover every reading of a query's text, writes, loads."""

from __future__ import annotations

import gc
import os
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import pyoxigraph as ox
import pytest
from conftest import (
    SAMPLE,
    UPDATE_TOKEN,
    LiveServer,
    Reply,
    create_store,
    fetch,
    policykg,
    store_path,
)

from policykg.graph.rdf.sparql_text import has_dataset_clause, tokens, with_limit
from policykg.graph.store.embedded import OxigraphStore
from policykg.graph.store.remote.syntax import query_form
from policykg.webapp.sparql.safety import Refused, with_using

SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
IN_G = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <http://example.org/g> { ?s ?p ?o } }"  # no mark


@dataclass
class Listener:
    """A TCP port on 127.0.0.1 that records every connection made to it."""

    port: int
    connections: list[tuple[str, int]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def assert_untouched(self) -> None:
        time.sleep(0.3)  # a connection attempt made by the request would have arrived
        assert self.connections == []


@pytest.fixture
def listener() -> Iterator[Listener]:
    """A listening socket; the test decides whether it may be called."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.settimeout(0.05)
    found = Listener(sock.getsockname()[1])
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, address = sock.accept()
            except TimeoutError:
                continue
            found.connections.append(address)
            connection.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield found
    stop.set()
    thread.join(5)
    sock.close()


def query(server: LiveServer, text: str, **params: str) -> Reply:
    return fetch(server.url + "/sparql", params={"query": text, **params})


def update(server: LiveServer, text: str) -> Reply:
    return fetch(server.url + "/sparql/update", "POST", data=text.encode(), headers={
        "Content-Type": "application/sparql-update", "Authorization": f"Bearer {UPDATE_TOKEN}"})


def ready(server: LiveServer) -> None:
    """Wait until the server's query workers are up (their start may take longer than a short
    time limit on a busy machine)."""
    deadline = time.monotonic() + 60
    while query(server, "ASK {}").status != 200:
        assert time.monotonic() < deadline, "the query workers did not start"
        time.sleep(0.2)


def count(server: LiveServer, text: str = COUNT) -> int:
    reply = query(server, text)
    assert reply.status == 200, reply.text
    return int(reply.json()["results"]["bindings"][0]["n"]["value"])


# --- nothing calls out -------------------------------------------------------------------------

SERVICE_QUERIES = [
    "SELECT * WHERE {{ SERVICE <{url}/sparql> {{ ?s ?p ?o }} }}",
    "select * where {{ service silent <{url}/sparql> {{ ?s ?p ?o }} }}",
    "PREFIX remote: <{url}/> SELECT * WHERE {{ SERVICE remote:sparql {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ ?x ?y ?z OPTIONAL {{ SELECT * {{ SERVICE <{url}/sparql> {{ ?s ?p ?o }} }} "
    "}} }}",
    "SELECT * WHERE {{ BIND(<{url}/sparql> AS ?e) SERVICE ?e {{ ?s ?p ?o }} }}",
    "ASK {{ FILTER(?a<?b||'x>'='y') SERVICE <{url}/sparql> {{ ?s ?p 'z' }} }}",
    "SELECT * WHERE {{ SERVICE<{url}/sparql>{{?s ?p ?o}} }}",
]


@pytest.mark.parametrize("template", SERVICE_QUERIES)
def test_service_is_refused_and_never_called(live_server, listener, template):
    reply = query(live_server, template.format(url=listener.url))
    assert reply.status == 400, reply.text
    assert "SERVICE" in reply.text
    listener.assert_untouched()


def test_service_word_in_a_literal_is_fine(live_server):
    reply = query(live_server, 'SELECT ?x WHERE { BIND("customer service" AS ?x) }')
    assert reply.status == 200


def test_from_never_fetches(live_server, listener):
    for text in (f"SELECT * FROM <{listener.url}/x> WHERE {{ ?s ?p ?o }}",
                 f"SELECT * FROM NAMED <{listener.url}/x> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
                 f"DESCRIBE <{listener.url}/x> FROM <{listener.url}/x>"):
        reply = query(live_server, text)
        assert reply.status == 200, reply.text
    assert query(live_server, f"ASK FROM <{listener.url}/x> {{ ?s ?p ?o }}").json()[
        "boolean"] is False
    listener.assert_untouched()


def test_protocol_dataset_never_fetches(live_server, listener):
    reply = query(live_server, "ASK { ?s ?p ?o }", **{"default-graph-uri": listener.url + "/x"})
    assert reply.status == 200 and reply.json()["boolean"] is False
    listener.assert_untouched()


@pytest.mark.parametrize("template", [
    "LOAD <{url}/x>",
    "load silent <{url}/x> into graph <http://example.org/g>",
    "PREFIX r: <{url}/> LOAD r:x",
    "INSERT {{ ?s ?p ?o }} WHERE {{ SERVICE <{url}/sparql> {{ ?s ?p ?o }} }}",
])
def test_load_and_service_updates_are_refused(fresh_server, listener, template):
    reply = update(fresh_server, template.format(url=listener.url))
    assert reply.status == 400, reply.text
    listener.assert_untouched()


def test_an_allowed_service_is_called(settings, loaded_store, server_factory, listener):
    """The control: when the endpoint is allowed, Oxigraph does connect (so the refusals above
    are what kept the listener untouched)."""
    server = server_factory(replace(settings, service_allow=(listener.url + "/sparql",)))
    reply = query(server, f"SELECT * WHERE {{ SERVICE <{listener.url}/sparql> {{ ?s ?p ?o }} }}")
    assert reply.status == 500
    time.sleep(0.3)
    assert listener.connections
    description = fetch(server.url + "/sparql").text
    assert "BasicFederatedQuery" in description


def test_federated_query_to_an_allowed_endpoint(settings, loaded_store, server_factory,
                                                fresh_server):
    update(fresh_server, "INSERT DATA { GRAPH <http://example.org/g> "
                         "{ <http://example.org/a> <http://example.org/p> 'remote' } }")
    remote = fresh_server.url + "/sparql"
    server = server_factory(replace(settings, service_allow=(remote,)))
    reply = query(server, f"SELECT ?o WHERE {{ SERVICE <{remote}> "
                          "{ <http://example.org/a> <http://example.org/p> ?o } }")
    assert reply.status == 200, reply.text
    assert reply.json()["results"]["bindings"] == [{"o": {"type": "literal", "value": "remote"}}]


# --- the size of a request, and where its text is read ------------------------------------------

def _post_query(server: LiveServer, text: str) -> Reply:
    return fetch(server.url + "/sparql", "POST", data=text.encode(),
                 headers={"Content-Type": "application/sparql-query"})


def _padded(size: int) -> str:
    """A query of about ``size`` characters (a long comment after it)."""
    text = "ASK { ?s ?p ?o }\n#"
    return text + "x" * (size - len(text))


def test_a_request_body_over_max_request_bytes_is_refused_with_413(settings, loaded_store,
                                                                     server_factory):
    server = server_factory(replace(settings, max_request_bytes=4000))
    assert _post_query(server, _padded(3900)).status == 200
    refused = _post_query(server, _padded(4100))
    assert refused.status == 413
    assert "4000 bytes" in refused.text and "max_request_bytes" in refused.text
    form = fetch(server.url + "/sparql", "POST", data={"query": _padded(4100)})
    assert form.status == 413


def _service_query(size: int, endpoint: str = "http://127.0.0.1:9/sparql") -> str:
    """A query that calls a SERVICE, about ``size`` characters long (a VALUES block)."""
    values = " ".join(f'"value {i}"' for i in range(size // 12))
    return f"SELECT * WHERE {{ SERVICE <{endpoint}> {{ ?s ?p ?o }} VALUES ?o {{ {values} }} }}"


def test_a_query_s_text_is_read_inside_its_time_limit(settings, loaded_store, server_factory):
    """Reading a long query (its checks, its tokens) is part of the work its time limit stops:
    the answer comes at the limit, not once the text has been read through."""
    server = server_factory(replace(settings, query_timeout=0.25, max_request_bytes=4_000_000))
    ready(server)
    reply = _post_query(server, _service_query(3_000_000))  # seconds of checks, even on a fast CPU
    assert reply.status == 503, reply.text
    assert "limit of 0.25 s" in reply.text


def test_service_is_refused_in_a_long_query_too(live_server):
    reply = _post_query(live_server, _service_query(40_000))
    assert reply.status == 400, reply.text
    assert "SERVICE <http://127.0.0.1:9/sparql> is not allowed" in reply.text


def test_reading_long_query_texts_keeps_nothing_of_them():
    """The server keeps what it computes of its own short queries, never of long ones: each
    distinct long text a client sends would stay in memory for good."""
    text = _service_query(300_000)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tokens(text)
        with_limit(text, 10)
        query_form(text)
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < len(text) // 2


# --- requests too deep for the parsers ----------------------------------------------------------

NESTED = "SELECT * WHERE " + "{" * 5000 + "}" * 5000  # 10 KB: crashes a SPARQL parser
UNIONS = "SELECT * WHERE { " + " UNION ".join(["{}"] * 50_000) + " }"  # no nesting, as deep


def test_a_deeply_nested_query_is_refused_before_any_parser(live_server):
    reply = _post_query(live_server, NESTED)
    assert reply.status == 400, reply.text
    assert "more than 100 levels deep" in reply.text
    assert count(live_server) > 0


def test_a_deeply_nested_update_is_refused_before_any_parser(fresh_server):
    reply = update(fresh_server, "DELETE WHERE " + "{" * 5000 + "}" * 5000)
    assert reply.status == 400, reply.text
    assert "more than 100 levels deep" in reply.text
    assert update(fresh_server, INSERT).status == 204


def test_a_query_that_crashes_its_query_process_is_a_bad_request(live_server):
    """A chain the engine recurses into as deep as a nesting: its process dies, and the
    client is told it was the query; the other workers serve on."""
    reply = _post_query(live_server, UNIONS)
    assert reply.status == 400, reply.text
    assert "crashed on this request" in reply.text
    assert count(live_server) > 0


# --- updates at the query endpoint ------------------------------------------------------------

INSERT = ("INSERT DATA { GRAPH <http://example.org/g> "
          "{ <http://example.org/a> <http://example.org/p> 1 } }")


def test_update_sent_to_the_query_endpoint_is_refused_and_not_run(fresh_server):
    for reply in (query(fresh_server, INSERT),
                  fetch(fresh_server.url + "/sparql", "POST", data={"query": INSERT}),
                  fetch(fresh_server.url + "/sparql", "POST", data=INSERT.encode(),
                        headers={"Content-Type": "application/sparql-query"}),
                  fetch(fresh_server.url + "/sparql", params={"update": INSERT}),
                  fetch(fresh_server.url + "/sparql", "POST", data={"update": INSERT})):
        assert reply.status == 400, reply.text
        assert "/sparql/update" in reply.text
    assert count(fresh_server) == 0


# --- the time limit ----------------------------------------------------------------------------

def test_timeout_stops_the_query_while_others_are_served(settings, loaded_store, server_factory):
    server = server_factory(replace(settings, query_timeout=3.0))
    ready(server)
    readers = server.app.extensions["policykg.sparql"].readers
    _wait(lambda: readers.idle.qsize() == settings.query_workers, "every query worker is up")
    pids = {worker.process.pid for worker in readers.workers}
    slow: dict[str, object] = {}

    def run_slow() -> None:
        start = time.monotonic()
        slow["reply"] = query(server, SLOW)
        slow["seconds"], slow["end"] = time.monotonic() - start, time.monotonic()

    thread = threading.Thread(target=run_slow)
    thread.start()
    _wait(lambda: readers.idle.qsize() < settings.query_workers, "the slow query is running")
    fast = query(server, "ASK { ?s ?p ?o }")
    fast_end = time.monotonic()
    thread.join(30)
    assert fast.status == 200 and fast.json()["boolean"] is True
    assert fast_end < slow["end"]
    assert slow["reply"].status == 503
    assert "limit of 3 s" in slow["reply"].text
    assert slow["seconds"] < 10
    assert any(not _alive(pid) for pid in pids)  # the worker was killed, not left running
    assert count(server) > 0  # a fresh worker took its place


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"not reached: {what}"
        time.sleep(0.02)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_in_memory_store_runs_in_threads(settings, server_factory):
    store = OxigraphStore(None)
    store.engine.extend(ox.Quad(ox.NamedNode(f"http://example.org/{i}"),
                                ox.NamedNode("http://example.org/p"), ox.Literal(i),
                                ox.NamedNode("http://example.org/g")) for i in range(220))
    server = server_factory(replace(settings, query_timeout=1.0), store)
    assert count(server, IN_G) == 220
    assert update(server, INSERT).status == 204
    assert count(server, IN_G) == 221
    start = time.monotonic()
    reply = query(server, SLOW)
    assert reply.status == 503 and time.monotonic() - start < 3


# --- writes and loads --------------------------------------------------------------------------

def test_endpoint_sees_a_load_done_by_policykg_load(settings, server_factory, tmp_path):
    own = replace(settings, home=str(tmp_path), store=f"oxigraph:{tmp_path / 'store'}")
    create_store(store_path(own))
    server = server_factory(own)
    assert count(server) == 0
    done = policykg(own, "load", "--quiet", str(SAMPLE))  # while the server runs
    assert done.returncode in (0, 1), done.stderr
    assert count(server) > 0


def test_endpoint_sees_a_write_by_another_process(fresh_server):
    assert count(fresh_server) == 0
    writer = ox.Store(str(store_path(fresh_server.settings)))
    writer.add(ox.Quad(ox.NamedNode("http://example.org/a"), ox.NamedNode("http://example.org/p"),
                       ox.Literal("x"), ox.NamedNode("http://example.org/g")))
    writer.flush()
    assert count(fresh_server) == 1
    assert update(fresh_server, INSERT).status == 503  # the store is locked by that writer
    del writer
    assert update(fresh_server, INSERT).status == 204
    assert count(fresh_server, IN_G) == 2


# --- the parts -------------------------------------------------------------------------------

def test_with_using_adds_using_clauses_to_each_modify():
    text = ("DELETE { ?s ?p ?o } WHERE { ?s ?p ?o } ; "
            "INSERT { GRAPH <g> { ?s a ?t } } where { ?s a ?t FILTER(?t != 'WHERE') } ; "
            "DELETE WHERE { ?x ?y ?z } ; INSERT DATA { <a> <b> <c> }")
    rewritten = with_using(text, ["http://a"], ["http://b"])
    assert rewritten.count("USING <http://a> USING NAMED <http://b> ") == 2
    assert "DELETE WHERE { ?x ?y ?z }" in rewritten
    assert with_using(text, [], []) == text


@pytest.mark.parametrize("text", [
    "WITH <g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
    "DELETE { ?s ?p ?o } USING <g> WHERE { ?s ?p ?o }",
])
def test_with_using_refuses_a_conflict(text):
    with pytest.raises(Refused):
        with_using(text, ["http://a"], [])


@pytest.mark.parametrize(("text", "expected"), [
    ("SELECT * FROM <g> WHERE { ?s ?p ?o }", True),
    ("select * from named <g> { graph ?g { ?s ?p ?o } }", True),
    ("SELECT * WHERE { ?s <from> 'FROM' } # FROM", False),
    ("PREFIX from: <x:> SELECT * WHERE { ?s from:p ?from }", False),
])
def test_dataset_clause_detection(text, expected):
    assert has_dataset_clause(text) is expected
