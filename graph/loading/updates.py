"""What a SPARQL Update changed, carried into the data derived from the records: the tallies
marked pending (the next load or refresh recounts them), the aggregates of the publications
whose graphs it names computed again, and the text index brought in step. The reference graphs
(the ontology, the vocabularies and their closure) and the store's record of its base are
policykg's: an update that removes or changes them sees them put back as installed.

An update that does not say which graphs it changes (``GRAPH ?g``, ``DROP ALL``, a graph named
by a prefixed name), or changes a vocabulary, has the whole text index rebuilt.
"""

from __future__ import annotations

from urllib.parse import urljoin

import pyoxigraph as ox

from policykg.graph.aggregates import AggregateIndex, update_publications
from policykg.graph.aggregates.terms import RECORD_KIND
from policykg.graph.inference import reference
from policykg.graph.rdf.sparql_text import tokens
from policykg.graph.rdf.uris import Uris
from policykg.graph.search.updates import sync_text_index
from policykg.graph.store import GraphStore
from policykg.graph.store.ledger import record_base, recorded_base

GRAPH_WORDS = ("GRAPH", "WITH", "INTO", "TO", "USING")
EVERY_GRAPH = ("ALL", "NAMED")


def after_update(store: GraphStore, uris: Uris, update: str) -> None:
    """Bring the derived data in step after ``update`` ran on the store; put back the
    reference graphs and the record of the base if it removed or changed them."""
    restored = reference.restore(store, uris)
    if recorded_base(store) is None:
        record_base(store, uris.base)
    store.update(AggregateIndex.pending_update(), base_iri=uris.base)
    graphs = touched_graphs(update, uris.base)
    vocabulary = uris.base + "graph/vocab/"
    if restored or graphs is None or any(g.startswith(vocabulary) for g in graphs):
        sync_text_index(store, uris, None)
        return
    records = records_of(store, uris, graphs)
    present = {g: store.graph_hash(g) or "" for g in sorted(records) if store.has_graph(g)}
    if present:
        update_publications(store, uris, present, total=len(present))
    sync_text_index(store, uris, records)


def touched_graphs(update: str, base: str) -> set[str] | None:
    """The graphs an update names (None: it may change any)."""
    found = tokens(update)
    graphs: set[str] = set()
    for index, token in enumerate(found[:-1]):
        after = found[index + 1]
        if token.word in EVERY_GRAPH and index and found[index - 1].word in ("DROP", "CLEAR"):
            return None
        if token.word not in GRAPH_WORDS:
            continue
        if after.word == "NAMED" and index + 2 < len(found):
            after = found[index + 2]
        if after.kind == "iri":
            graphs.add(urljoin(base, after.raw[1:-1]))
        elif after.word not in ("DEFAULT", "{", "GRAPH"):
            return None  # a variable or a prefixed name: any graph
    return graphs


def records_of(store: GraphStore, uris: Uris, graphs: set[str]) -> set[str]:
    """The record graphs whose publications' derived data the touched graphs may change: those
    graphs themselves (or their entailments'), and the records naming a touched thing."""
    records = str(uris.graph(RECORD_KIND, ""))
    found = set()
    for graph in graphs:
        graph = graph.replace("/graph/inferred/", "/graph/", 1)
        if graph.startswith(records):
            found.add(graph)
            continue
        kind_key = uris.split(graph.replace("/graph/", "/id/", 1))
        if kind_key is None:
            continue
        thing = ox.NamedNode(str(uris.id(*kind_key)))
        text = (f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s ?p {thing} }} "
                f"FILTER(STRSTARTS(STR(?g), {ox.Literal(records)})) }}")
        found.update(row["g"].value for row in store.query(text))
    return found
