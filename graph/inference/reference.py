"""The reference side of the graph: ontology and vocabularies, their OWL RL closure, and the
indexes the mapping, the shapes and the per-record inference read from them."""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox
from rdflib import OWL, RDF, SKOS, Graph, Literal, URIRef

from policykg.graph.inference.entailment import Entailment, closure
from policykg.graph.inference.vocabularies import (
    shipped_closure,
    shipped_closure_quads,
    vocabulary_digest,
    vocabulary_graph_names,
    vocabulary_graphs,
    vocabulary_quads,
)
from policykg.graph.mapping.lookups import Lookups
from policykg.graph.rdf.terms import rdflib_graph, triple_quads
from policykg.graph.rdf.uris import Uris
from policykg.graph.store import GraphStore
from policykg.graph.store.ledger import graph_sizes, record_sizes, recorded_sizes

CLOSURE_GRAPH = "graph/inferred/vocabularies"
CONTENT_HASH = "https://w3id.org/policykg/ontology#contentHash"
# What the shapes look up in the vocabularies (see shapes/policykg-shapes.ttl).
_SHAPES_READ = (SKOS.inScheme, SKOS.notation, OWL.deprecated, RDF.type)
# Closures already computed in this process, by vocabulary digest (a closure takes seconds).
_CLOSURES: dict[str, Graph] = {}


@dataclass
class Reference:
    """Everything records are checked and enriched against, for one base IRI."""

    graphs: dict[str, Graph]
    closure: Graph
    digest: str
    lookups: Lookups
    entailment: Entailment

    def for_shapes(self) -> Graph:
        """The part of the vocabularies the shapes read: scheme membership, notations, types,
        deprecation. Kept small because it is merged into every batch that is validated."""
        return _for_shapes([*self.graphs.values(), self.closure])


def _for_shapes(graphs: list[Graph]) -> Graph:
    slim = Graph(bind_namespaces="none")
    for graph in graphs:
        for predicate in _SHAPES_READ:
            for triple in graph.triples((None, predicate, None)):
                slim.add(triple)
    return slim


def shapes_reference(store: GraphStore, uris: Uris) -> Graph:
    """What ``Reference.for_shapes`` gives, without writing to the store (which may be open
    read-only): the vocabularies and their closure as stored, or computed when the store
    holds another closure than theirs."""
    graphs = vocabulary_graphs(uris.base)
    digest = vocabulary_digest(uris.base)
    closure_iri = uris.named(CLOSURE_GRAPH)
    if store.graph_hash(str(closure_iri)) == digest:
        inferred = rdflib_graph(store.quads(str(closure_iri)))
    else:
        inferred = _CLOSURES.get(digest) or shipped_closure(uris.base) or closure(
            _asserted(graphs))
    return _for_shapes([*graphs.values(), inferred])


def prepare(store: GraphStore, uris: Uris) -> Reference:
    """Load the vocabularies into the store if they changed, computing their closure once."""
    graphs = vocabulary_graphs(uris.base)
    digest = vocabulary_digest(uris.base)
    closure_iri = uris.named(CLOSURE_GRAPH)
    if store.graph_hash(str(closure_iri)) == digest:
        inferred = rdflib_graph(store.quads(str(closure_iri)))
        inferred.remove((closure_iri, None, None))
    else:
        inferred = _install(store, graphs, closure_iri, digest, uris.base)
    ontology = Graph(bind_namespaces="none")
    for triple in (*(t for g in graphs.values() for t in g), *inferred):
        ontology.add(triple)
    return Reference(graphs, inferred, digest, Lookups.from_graphs(graphs),
                     Entailment.from_graph(ontology))


def restore(store: GraphStore, uris: Uris) -> list[str]:
    """Put the reference graphs back as the files hold them when any of them no longer holds
    the triples it was installed with (a SPARQL update dropped or changed it); the graphs that
    had changed (none: nothing was done)."""
    names = [*vocabulary_graph_names(uris.base), str(uris.named(CLOSURE_GRAPH))]
    installed = recorded_sizes(store)
    changed = [name for name, size in graph_sizes(store, names).items()
               if installed.get(name) != size]
    if changed:
        reinstall(store, uris)
    return changed


def reinstall(store: GraphStore, uris: Uris) -> None:
    """Install the reference graphs under the base of ``uris`` as the files hold them: parsed by
    pyoxigraph (a second or so) when the closure is shipped, else as a load installs them."""
    closure_iri = str(uris.named(CLOSURE_GRAPH))
    digest = vocabulary_digest(uris.base)
    closure = shipped_closure_quads(uris.base, closure_iri)
    if closure is None:
        _install(store, vocabulary_graphs(uris.base), uris.named(CLOSURE_GRAPH), digest,
                 uris.base)
        return
    graph = ox.NamedNode(closure_iri)
    stamp = ox.Quad(graph, ox.NamedNode(CONTENT_HASH), ox.Literal(digest), graph)
    names = [*vocabulary_graph_names(uris.base), closure_iri]
    store.replace(names, [*vocabulary_quads(uris.base), *closure, stamp])
    record_sizes(store, names)


def _asserted(graphs: dict[str, Graph]) -> Graph:
    """The vocabularies' triples in one graph."""
    asserted = Graph(bind_namespaces="none")
    for graph in graphs.values():
        for triple in graph:
            asserted.add(triple)
    return asserted


def _install(store: GraphStore, graphs: dict[str, Graph], closure_iri: URIRef,
             digest: str, base: str) -> Graph:
    inferred = _CLOSURES.get(digest)
    if inferred is None:
        inferred = _CLOSURES[digest] = shipped_closure(base) or closure(_asserted(graphs))
    marked = Graph(bind_namespaces="none")
    for triple in inferred:
        marked.add(triple)
    marked.add((closure_iri, URIRef(CONTENT_HASH), Literal(digest)))
    quads = [q for name, graph in graphs.items() for q in triple_quads(graph, name)]
    quads.extend(triple_quads(marked, str(closure_iri)))
    store.replace([*graphs, str(closure_iri)], quads)
    record_sizes(store, [*graphs, str(closure_iri)])
    return inferred
