"""What a store records about itself, in a graph of its own (LEDGER, an IRI that depends on no
base): the base its IRIs were minted under, and how many triples each reference graph held when
it was installed.

    <https://w3id.org/policykg/store> a void:Dataset ;
        void:uriSpace "http://localhost:8000/id/" .      # the base, + "id/"
    <http://localhost:8000/graph/vocab/jel> void:triples 7039 .

The first load records the base; every later load, the server and ``policykg rebase`` read it.
A store that records no base but holds the ontology graph (a store loaded without the record,
or restored from an export of one) is taken to be under the base of that graph.
"""

from __future__ import annotations

import pyoxigraph as ox

from policykg.graph.rdf.namespaces import OWL, RDF, VOID
from policykg.graph.rdf.terms import value_of
from policykg.graph.store.interface import GraphStore

LEDGER = "https://w3id.org/policykg/store"
URI_SPACE = VOID + "uriSpace"
TRIPLES = VOID + "triples"
ONTOLOGY = "https://w3id.org/policykg/ontology"
ONTOLOGY_GRAPH = "graph/ontology"  # under the base, as ontology/vocabularies.toml names it


class BaseMismatch(ValueError):
    """The store's IRIs are under another base than the one asked for."""

    def __init__(self, stored: str, asked: str) -> None:
        super().__init__(
            f"the store's IRIs are under {stored} (recorded at its first load), not under "
            f"{asked}: give --base {stored} (or base = \"{stored}\" in the settings), or run "
            f"`policykg rebase {asked}` to move the store's IRIs under {asked}")
        self.stored = stored
        self.asked = asked


def stored_base(store: GraphStore) -> str | None:
    """The base the store's IRIs are under (None: an empty store)."""
    return recorded_base(store) or _ontology_base(store)


def recorded_base(store: GraphStore) -> str | None:
    """The base the store records (None: it records none)."""
    ledger = ox.NamedNode(LEDGER)
    for quad in store.quads_matching(ledger, ox.NamedNode(URI_SPACE), None, ledger):
        space = value_of(quad.object)
        if space.endswith("id/"):
            return space[:-len("id/")]
    return None


def _ontology_base(store: GraphStore) -> str | None:
    """The base of the one graph holding the ontology (None: none, or several)."""
    quads = store.quads_matching(ox.NamedNode(ONTOLOGY), ox.NamedNode(RDF + "type"),
                                 ox.NamedNode(OWL + "Ontology"), None)
    bases = {quad.graph_name.value.removesuffix(ONTOLOGY_GRAPH) for quad in quads
             if isinstance(quad.graph_name, ox.NamedNode)
             and quad.graph_name.value.endswith("/" + ONTOLOGY_GRAPH)}
    return bases.pop() if len(bases) == 1 else None


def record_base(store: GraphStore, base: str) -> None:
    """Record the base of the store's IRIs (replacing any other)."""
    ledger = f"<{LEDGER}>"
    store.update(
        f"DELETE {{ GRAPH {ledger} {{ {ledger} <{URI_SPACE}> ?space }} }} "
        f"WHERE {{ GRAPH {ledger} {{ {ledger} <{URI_SPACE}> ?space }} }} ;\n"
        f"INSERT DATA {{ GRAPH {ledger} {{ {ledger} a <{VOID}Dataset> ; "
        f"<{URI_SPACE}> {ox.Literal(base + 'id/')} }} }}")


def claim_base(store: GraphStore, base: str) -> None:
    """Check that a load's base is the store's, recording it in a store that has none.

    Raises BaseMismatch when the store's IRIs are under another base."""
    recorded = recorded_base(store)
    stored = recorded or _ontology_base(store)
    if stored is not None and stored != base:
        raise BaseMismatch(stored, base)
    if recorded is None:
        record_base(store, base)


def graph_sizes(store: GraphStore, graphs: list[str]) -> dict[str, int]:
    """How many triples each of these graphs holds now (0: none, or no such graph)."""
    values = " ".join(f"<{graph}>" for graph in graphs)
    rows = store.query(f"SELECT ?g (COUNT(*) AS ?n) WHERE {{ VALUES ?g {{ {values} }} "
                       f"GRAPH ?g {{ ?s ?p ?o }} }} GROUP BY ?g")
    found = {row["g"].value: int(row["n"].value) for row in rows}
    return {graph: found.get(graph, 0) for graph in graphs}


def recorded_sizes(store: GraphStore) -> dict[str, int]:
    """The triples each reference graph held when it was installed, as recorded."""
    ledger = ox.NamedNode(LEDGER)
    return {quad.subject.value: int(value_of(quad.object))
            for quad in store.quads_matching(None, ox.NamedNode(TRIPLES), None, ledger)
            if isinstance(quad.subject, ox.NamedNode)}


def record_sizes(store: GraphStore, graphs: list[str]) -> dict[str, int]:
    """Count the triples of these graphs in the store and record the counts (replacing those
    recorded before)."""
    sizes = graph_sizes(store, graphs)
    ledger = f"<{LEDGER}>"
    counts = " ".join(f"<{graph}> <{TRIPLES}> {size} ." for graph, size in sizes.items())
    store.update(
        f"DELETE {{ GRAPH {ledger} {{ ?graph <{TRIPLES}> ?n }} }} "
        f"WHERE {{ GRAPH {ledger} {{ ?graph <{TRIPLES}> ?n }} }} ;\n"
        f"INSERT DATA {{ GRAPH {ledger} {{ {counts} }} }}")
    return sizes
