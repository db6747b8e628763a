"""Whole-store operations of the steward: removing publications, re-validating everything."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

from rdflib import Graph

from policykg.graph import aggregates
from policykg.graph.inference.vocabularies import vocabulary_graphs
from policykg.graph.loading.loader import RECORD_KIND, remove_records
from policykg.graph.mapping.rules import Mapping
from policykg.graph.rdf.terms import rdflib_graph
from policykg.graph.rdf.uris import Uris
from policykg.graph.readers.record import Problem
from policykg.graph.search.indexing import TextIndexing
from policykg.graph.store import GraphStore
from policykg.graph.validation.shacl import Issue, union, validate_with_report


def remove_publications(store: GraphStore, uris: Uris,
                        identifiers: list[str]) -> tuple[list[str], list[str]]:
    """Remove publications named by key, IRI or source identifier: (removed keys, not found)."""
    removed: list[str] = []
    missing: list[str] = []
    index = aggregates.AggregateIndex(store, uris)
    texts = TextIndexing(store, uris, index.hierarchy)
    index.begin()
    texts.begin()
    try:
        for identifier in identifiers:
            graphs = _record_graphs(store, uris, identifier)
            if not graphs:
                missing.append(identifier)
                continue
            index.changing()
            texts.changing()
            remove_records(store, uris, graphs, index, texts)
            removed.extend(graph.rsplit("/", 1)[-1] for graph in graphs)
        if removed:
            index.finish()
            texts.finish()
    finally:
        texts.close()
    return removed, missing


def _record_graphs(store: GraphStore, uris: Uris, identifier: str) -> list[str]:
    kind_key = uris.split(identifier)
    key = kind_key[1] if kind_key and kind_key[0] == RECORD_KIND else identifier
    graph = str(uris.graph(RECORD_KIND, key))
    if store.has_graph(graph):
        return [graph]
    return store.graphs_with_source(identifier)


def record_graphs(store: GraphStore, uris: Uris, batch: int = 500) -> Iterator[dict[str, Graph]]:
    """The store's publications, batch by batch, each with the graphs of the things it links to."""
    names = sorted(store.graph_names(str(uris.graph(RECORD_KIND, ""))))
    iterator = iter(names)
    while chunk := list(islice(iterator, batch)):
        graphs = {}
        for name in chunk:
            graph = rdflib_graph(store.quads(name))
            for iri in store.objects_of(name):
                kind_key = uris.split(iri)
                if kind_key and kind_key[0] != RECORD_KIND:
                    for triple in rdflib_graph(store.quads(str(uris.graph(*kind_key)))):
                        graph.add(triple)
            graphs[name.rsplit("/", 1)[-1]] = graph
        yield graphs


def validate_store(store: GraphStore, uris: Uris,
                   mapping: Mapping) -> tuple[bool, Graph, list[str]]:
    """Validate every publication in the store: (conforms, SHACL report graph, readable lines
    naming the DSpace field of the ``mapping``)."""
    reference = union(vocabulary_graphs(uris.base).values())
    report = Graph()
    lines: list[str] = []
    for graphs in record_graphs(store, uris):
        issues, batch_report = validate_with_report(graphs, reference)
        report += batch_report
        lines.extend(_line(key, issue, uris, mapping) for key, found in issues.items()
                     for issue in found)
    conforms = not any(": Violation: " in line for line in lines)
    return conforms, report, lines


def _line(key: str, issue: Issue, uris: Uris, mapping: Mapping) -> str:
    """An issue as the load tells it: the DSpace field (else the property), and a value the
    mapping minted an IRI from by the name it has (Z99 for id/jel/Z99)."""
    fields = mapping.fields_of(issue.path) if issue.path else []
    minted = issue.value is not None and uris.split(issue.value) is not None
    value = issue.named if minted else issue.value
    problem = Problem(issue.severity, fields[0] if fields else issue.path, value, issue.message)
    return f"{key}: {problem}"
