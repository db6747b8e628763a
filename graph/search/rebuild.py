"""Search documents read back from the store, to build a text index anew (``policykg
reindex``, or an index found out of step with its store) or to bring it in step after changes
the loader did not make (SPARQL Update).

A publication's document is made from its record graph and the graphs of the things it names
(people, keywords, subjects), as a load makes it from the record's triples.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping

import pyoxigraph as ox
from rdflib import Graph
from rdflib.term import Node

from policykg.graph.aggregates.hierarchy import ConceptHierarchy
from policykg.graph.aggregates.terms import RECORD_KIND, publication_of
from policykg.graph.rdf.namespaces import SKOS
from policykg.graph.rdf.queries import QueryFolder
from policykg.graph.rdf.terms import to_rdflib
from policykg.graph.rdf.uris import Uris
from policykg.graph.search.document import SearchDocument, Text, document
from policykg.graph.store import GraphStore

QUERIES = QueryFolder("policykg.graph.search", "queries")
JEL_GRAPH = "graph/vocab/jel"
ENTITIES_KEPT = 20_000  # graphs of named things remembered while reading (people recur)

Triple = tuple[Node, Node, Node]


def concept_labels(graphs: Mapping[str, Graph], uris: Uris) -> dict[str, tuple[Text, ...]]:
    """The labels of the JEL concepts, from the vocabulary graphs (graph IRI -> Graph)."""
    jel = graphs.get(str(uris.named(JEL_GRAPH)))
    labels: dict[str, list[Text]] = {}
    if jel is not None:
        for concept, label in jel.subject_objects(SKOS.prefLabel):
            labels.setdefault(str(concept), []).append((str(label), getattr(label, "language",
                                                                             None)))
    return {concept: tuple(found) for concept, found in labels.items()}


def stored_concept_labels(store: GraphStore, uris: Uris) -> dict[str, tuple[Text, ...]]:
    """The labels of the JEL concepts, as the store holds them."""
    labels: dict[str, list[Text]] = {}
    graph = {ox.Variable("graph"): ox.NamedNode(str(uris.named(JEL_GRAPH)))}
    for row in store.query(QUERIES.text("concept-labels.rq"), substitutions=graph):
        label = row["label"]
        labels.setdefault(row["concept"].value, []).append((label.value, label.language))
    return {concept: tuple(found) for concept, found in labels.items()}


def record_graph_names(store: GraphStore, uris: Uris) -> list[str]:
    """The store's record graphs, sorted."""
    return sorted(store.graph_names(str(uris.graph(RECORD_KIND, ""))))


def stored_documents(store: GraphStore, uris: Uris, record_graphs: Iterable[str],
                     hierarchy: ConceptHierarchy | None = None,
                     labels: Mapping[str, tuple[Text, ...]] | None = None,
                     progress: Callable[[int], None] | None = None
                     ) -> Iterator[SearchDocument]:
    """The documents of some record graphs' publications, read from the store."""
    hierarchy = hierarchy or ConceptHierarchy.read(store)
    labels = stored_concept_labels(store, uris) if labels is None else labels
    entities: OrderedDict[str, list[Triple]] = OrderedDict()
    for graph in record_graphs:
        triples = _triples(store.quads(graph))
        for iri in store.objects_of(graph):
            kind_key = uris.split(iri)
            if kind_key and kind_key[0] != RECORD_KIND:
                triples += _entity(store, str(uris.graph(*kind_key)), entities)
        publication = to_rdflib(ox.NamedNode(publication_of(graph)))
        yield document(publication, triples, hierarchy, labels)
        if progress is not None:
            progress(1)


def _entity(store: GraphStore, graph: str,
            entities: OrderedDict[str, list[Triple]]) -> list[Triple]:
    found = entities.get(graph)
    if found is None:
        found = entities[graph] = _triples(store.quads(graph))
        if len(entities) > ENTITIES_KEPT:
            entities.popitem(last=False)
    else:
        entities.move_to_end(graph)
    return found


def _triples(quads: Iterable[ox.Quad]) -> list[Triple]:
    return [(to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object)) for q in quads]
