"""The remote store on a real Virtuoso: terms and semantics as on Oxigraph, the deviations it
absorbs, and writes by both paths (the store in operation: test_remote_store_operation.py).

The behaviour tests of the other modules run on this store too (their ``BACKENDS``); these are
the remote store's own.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace

import pyoxigraph as ox
import pytest
from remote_fixtures import EX, XSD, emptied_virtuoso, node  # noqa: F401 - ``server``
from virtuoso import Virtuoso

from policykg.graph.config import Settings
from policykg.graph.store import StoreError
from policykg.graph.store.embedded import OxigraphStore
from policykg.graph.store.remote import RemoteStore
from policykg.graph.store.remote.virtuoso import virtuoso_profile


@pytest.fixture
def remote_store(server: Virtuoso) -> Iterator[RemoteStore]:
    store = server.store()
    yield store
    store.close()


def both(remote_store: RemoteStore, quads: list[ox.Quad]) -> list:
    """The same quads in the remote store and in an embedded one."""
    embedded = OxigraphStore(None)
    for store in (remote_store, embedded):
        store.replace([], quads)
    return [remote_store, embedded]


def rows(store, query: str, **options) -> list[tuple[str, ...]]:
    result = store.query(query, **options)
    return sorted(tuple("" if s[v] is None else str(s[v]) for v in result.variables)
                  for s in result)


TERMS = [
    ox.Literal("plain"), ox.Literal("Thèmes \"quoted\" \\ back\nline\ttab 😀"),
    ox.Literal("chat", language="fr"), ox.Literal("64", datatype=ox.NamedNode(XSD + "integer")),
    ox.Literal("1.5", datatype=ox.NamedNode(XSD + "decimal")),
    ox.Literal("2023-03-08T00:03:00", datatype=ox.NamedNode(XSD + "dateTime")),
    ox.Literal("2024-01-01", datatype=ox.NamedNode(XSD + "date")),
    ox.Literal("x", datatype=ox.NamedNode(EX + "custom")), node("é-iri"),
]


def test_terms_come_back_as_they_went_in(remote_store):
    quads = [ox.Quad(node("s"), node(f"p{i}"), term, node("g")) for i, term in enumerate(TERMS)]
    remote, embedded = both(remote_store, quads)
    assert sorted(map(str, remote.quads(EX + "g"))) == sorted(map(str, quads))
    query = "SELECT ?p ?o WHERE { ?s ?p ?o }"
    assert rows(remote, query) == rows(embedded, query)


def test_blank_nodes_keep_their_identity_across_graphs(remote_store):
    blank = ox.BlankNode()
    quads = [ox.Quad(node("a"), node("list"), blank, node("g1")),
             ox.Quad(blank, node("first"), node("b"), node("g1")),
             ox.Quad(blank, node("type"), node("List"), node("g2"))]
    remote, _ = both(remote_store, quads)
    query = (f"SELECT ?first ?type WHERE {{ ?a ?list ?x . ?x <{EX}first> ?first . "
             f"?x <{EX}type> ?type }}")
    assert rows(remote, query) == [(f"<{EX}b>", f"<{EX}List>")]
    found = {q.graph_name.value: q for q in remote.quads() if q.predicate == node("type")}
    assert isinstance(found[EX + "g2"].subject, ox.BlankNode)


def test_the_default_graph_is_the_union_as_on_oxigraph(remote_store, server):
    same = [ox.Quad(node("s"), node("p"), node("o"), node(g)) for g in ("g1", "g2")]
    remote, embedded = both(remote_store, same)
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    # a triple in two graphs is seen twice, as Oxigraph does; Virtuoso's own graphs not at all
    assert rows(remote, count) == rows(embedded, count) == [(f'"2"^^<{XSD}integer>',)]
    graphs = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
    assert rows(remote, graphs) == rows(embedded, graphs)
    assert remote.graph_names("") == {EX + "g1", EX + "g2"}


def test_query_options_are_written_into_the_query(remote_store):
    quads = [ox.Quad(node(f"s{i}"), node("p"), node(f"o{i % 2}"), node(f"g{i % 3}"))
             for i in range(12)]
    remote, embedded = both(remote_store, quads)
    bound = {ox.Variable("o"): node("o1")}
    queries = [
        ("SELECT ?o ?s WHERE { { SELECT ?o ?s WHERE { ?s ?p ?o } ORDER BY ?s LIMIT 2 } }",
         {"substitutions": bound}),
        ("SELECT ?o (COUNT(?s) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?o", {"substitutions": bound}),
        ("SELECT ?s WHERE { ?s ?p ?o }",
         {"default_graph": [node("g1")], "use_default_graph_as_union": False}),
        ("SELECT ?s ?g WHERE { GRAPH ?g { ?s ?p ?o } }",
         {"default_graph": [], "named_graphs": [node("g2")], "use_default_graph_as_union": False}),
        ("SELECT ?s FROM <http://example.org/g0> WHERE { ?s ?p ?o }",
         {"use_default_graph_as_union": False}),
        ("SELECT ?x WHERE { ?x ?p <o0> }", {"base_iri": EX}),
        ("SELECT ?x WHERE { ?x ex:p ex:o1 }", {"prefixes": {"ex": EX}}),
    ]
    for query, options in queries:
        assert rows(remote, query, **options) == rows(embedded, query, **options), query
    construct = "CONSTRUCT { ?s <http://example.org/q> ?o } WHERE { ?s ?p ?o }"
    for_remote = sorted(map(str, remote.query(construct, substitutions=bound)))
    assert for_remote == sorted(map(str, embedded.query(construct, substitutions=bound)))
    assert bool(remote.query("ASK { ?s ?p ?o }")) is True


def test_syntax_errors_read_as_on_oxigraph(remote_store):
    with pytest.raises(SyntaxError) as remote:
        remote_store.query("SELECT * WHERE { ?s ?p }")
    with pytest.raises(SyntaxError) as embedded:
        OxigraphStore(None).query("SELECT * WHERE { ?s ?p }")
    assert str(remote.value) == str(embedded.value)
    with pytest.raises(SyntaxError):  # Virtuoso's own syntax never reaches it
        remote_store.query("define input:inference 'x' SELECT * WHERE { ?s ?p ?o }")


def sql_count(server: Virtuoso, pattern: str) -> int:
    """COUNT(*) of a pattern, as dba sees it (private graphs too)."""
    out = server.isql(f"SPARQL SELECT COUNT(*) WHERE {{ {pattern} }};").stdout
    return int(re.search(r"^\s*(\d+)\s*$", out, re.MULTILINE).group(1))


def test_updates_mean_what_sparql_says(remote_store, server):
    system = f"<{virtuoso_profile()['system_graphs'][0]}>"
    before = sql_count(server, f"GRAPH {system} {{ ?s ?p ?o }}")
    remote_store.update(f"INSERT DATA {{ <{EX}a> <{EX}p> 1 . "
                        f"GRAPH <{EX}g> {{ <{EX}a> <{EX}p> 2 }} }}")
    assert bool(remote_store.query(f"ASK {{ <{EX}a> <{EX}p> 1 }}"))  # the default graph
    remote_store.update("CLEAR DEFAULT")
    assert not bool(remote_store.query(f"ASK {{ <{EX}a> <{EX}p> 1 }}"))
    remote_store.update(f"DROP GRAPH <{EX}g>")  # Virtuoso's DROP GRAPH fails on it as is
    assert not remote_store.has_graph(EX + "g")
    remote_store.update(f"INSERT DATA {{ GRAPH <{EX}h> {{ <{EX}a> <{EX}p> 3 }} }} ; CLEAR ALL")
    assert remote_store.graph_names("") == set()
    assert sql_count(server, f"GRAPH {system} {{ ?s ?p ?o }}") == before > 0  # Virtuoso's kept


def test_replace_removes_graphs_then_adds_in_batches(remote_store):
    quads = [ox.Quad(node(f"s{i}"), node("p"), ox.Literal(f"v{i}"), node(f"g{i // 10}"))
             for i in range(1000)]
    remote_store.replace([], quads)
    assert len(remote_store.graph_names(EX)) == 100
    remote_store.replace([EX + f"g{n}" for n in range(50)], quads[:5])  # g0 gets 5 back
    assert len(remote_store.graph_names(EX)) == 51
    assert sum(1 for _ in remote_store.quads()) == 505


def test_exchange_changes_quads_and_rewrites_a_graph_as_the_embedded_store(remote_store):
    """What a tally's refresh writes, each in one update: a few quads changed; a graph
    replaced whole (blank nodes among the new quads)."""
    graph = node("tally")
    old = [ox.Quad(node(f"s{i}"), node("count"), ox.Literal(str(i)), graph) for i in range(3)]
    tally = ox.BlankNode()
    new = [ox.Quad(tally, node("count"), ox.Literal("7"), graph),
           ox.Quad(tally, node("member"), node("m"), graph)]
    stores = both(remote_store, old)
    query = f"SELECT ?o WHERE {{ GRAPH <{graph.value}> {{ ?s ?p ?o }} }}"
    for store in stores:
        store.exchange(old[:1], [ox.Quad(node("s9"), node("count"), ox.Literal("9"), graph)])
    assert rows(stores[0], query) == rows(stores[1], query) == [('"1"',), ('"2"',), ('"9"',)]
    for store in stores:
        store.exchange([], new, graph.value)
    assert rows(stores[0], query) == rows(stores[1], query) == [('"7"',), (f"<{EX}m>",)]


def test_a_graph_replaced_by_more_quads_than_one_update_takes_is_replaced_whole(remote_store):
    """A large tally (thousands of rows, a blank node each): Virtuoso refuses an update whose
    SQL passes 10,000 lines, so the new graph is staged in pieces and put in place at once."""
    graph = node("big-tally")
    remote_store.exchange([], [ox.Quad(node("old"), node("count"), ox.Literal("1"), graph)],
                          graph.value)
    new = []
    for n in range(4000):
        tally = ox.BlankNode()
        new += [ox.Quad(tally, node("dimension"), node(f"d{n}"), graph),
                ox.Quad(tally, node("count"), ox.Literal(str(n)), graph),
                ox.Quad(tally, node("kind"), node("Tally"), graph)]
    remote_store.exchange([], new, graph.value)
    query = (f"SELECT (COUNT(*) AS ?quads) (COUNT(DISTINCT ?s) AS ?tallies) "
             f"WHERE {{ GRAPH <{graph.value}> {{ ?s ?p ?o }} }}")
    assert rows(remote_store, query) == [('"12000"^^<http://www.w3.org/2001/XMLSchema#integer>',
                                          '"4000"^^<http://www.w3.org/2001/XMLSchema#integer>')]
    assert not remote_store.graph_names("urn:x-policykg:staging:")


def test_a_graph_too_big_for_one_request_goes_in_pieces(remote_store, monkeypatch):
    monkeypatch.setitem(virtuoso_profile(), "chunk_bytes", 20_000)
    quads = []
    for n in range(500):  # a tally graph: a blank node per tally, its triples together
        tally = ox.BlankNode()
        quads += [ox.Quad(tally, node("kind"), node("Tally"), node("tallies")),
                  ox.Quad(tally, node("dimension"), node(f"d{n}"), node("tallies")),
                  ox.Quad(tally, node("count"), ox.Literal(str(n)), node("tallies"))]
    remote_store.replace([], quads)
    whole = rows(remote_store, f"SELECT ?d ?c WHERE {{ ?t <{EX}kind> ?k ; <{EX}dimension> ?d ; "
                               f"<{EX}count> ?c }}")
    assert len(whole) == 500 and len({row[0] for row in whole}) == 500


def test_a_write_the_store_fails_part_way_leaves_nothing_of_it(remote_store, monkeypatch):
    """Virtuoso's loader, unless it runs as one transaction, commits in its own threads what it
    read before a fault, after it has answered with the error: half a chunk would stay."""
    monkeypatch.setitem(virtuoso_profile(), "chunk_bytes", 9_000_000)  # one request
    quads = [ox.Quad(node(f"s{i}"), node("p"), ox.Literal(f"v{i}"), node(f"g{i // 30}"))
             for i in range(70_000)]
    refused = ox.Triple(node("a"), node("b"), node("c"))  # Virtuoso 7 reads no triple terms
    with pytest.raises(StoreError):
        remote_store.replace([], [*quads, ox.Quad(node("s"), node("p"), refused, node("g"))])
    for _ in range(10):  # what the loader's threads would still commit
        assert not remote_store.graph_names(EX)
        time.sleep(0.3)


def test_graph_store_protocol_writes(server):
    store = RemoteStore.from_settings(server.location,
                                      replace(server.settings(Settings()), store_write="gsp"))
    quads = [ox.Quad(node("s"), node("p"), term, node(f"g{i % 2}")) for i, term in
             enumerate(TERMS)]
    store.replace([], quads)
    assert sorted(map(str, store.quads())) == sorted(map(str, quads))
    store.close()


def test_one_graph_s_hash_is_what_every_graph_s_hashes_say(remote_store):
    hash_of = ox.NamedNode("https://w3id.org/policykg/ontology#contentHash")
    quads = [ox.Quad(node(f"s{i}"), hash_of, ox.Literal(f"h{i}"), node(f"graph/{i}"))
             for i in range(3)]
    for store in both(remote_store, quads):
        every = store.graph_hashes(EX + "graph/")
        assert [store.graph_hash(EX + f"graph/{i}") for i in range(3)] == [
            every[EX + f"graph/{i}"] for i in range(3)] == ["h0", "h1", "h2"]
        assert store.graph_hash(EX + "graph/none") is None


def test_paged_reads_follow_the_page_size(server):
    store = RemoteStore.from_settings(server.location,
                                      replace(server.settings(Settings()), store_page_size=7))
    quads = [ox.Quad(node(f"s{i}"), ox.NamedNode("https://w3id.org/policykg/ontology#contentHash"),
                     ox.Literal(f"h{i}"), node(f"graph/{i}")) for i in range(30)]
    store.replace([], quads)
    assert len(store.graph_hashes(EX + "graph/")) == 30
    assert len(store.graph_names(EX)) == 30
    assert sum(1 for _ in store.quads()) == 30
    store.close()
