"""Whole-store operations of the steward: removing publications (re-validating everything is
``revalidate``'s)."""

from __future__ import annotations

from collections.abc import Callable

from policykg.graph import aggregates
from policykg.graph.loading.loader import RECORD_KIND, remove_records
from policykg.graph.rdf.uris import Uris
from policykg.graph.search.indexing import TextIndexing
from policykg.graph.store import GraphStore


def remove_publications(store: GraphStore, uris: Uris, identifiers: list[str],
                        progress: Callable[[int], None] | None = None
                        ) -> tuple[list[str], list[str]]:
    """Remove publications named by key, IRI or source identifier: (removed keys, not found);
    ``progress`` hears of each identifier done."""
    removed: list[str] = []
    missing: list[str] = []
    index = aggregates.AggregateIndex(store, uris)
    texts = TextIndexing(store, uris, index.hierarchy)
    index.begin()
    texts.begin()
    try:
        for identifier in identifiers:
            graphs = _record_graphs(store, uris, identifier)
            if graphs:
                index.changing()
                texts.changing()
                remove_records(store, uris, graphs, index, texts)
                removed.extend(graph.rsplit("/", 1)[-1] for graph in graphs)
            else:
                missing.append(identifier)
            if progress is not None:
                progress(1)
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
