"""Keeping a store's text index in step with its records, as loads, removals and updates change
them: what ``AggregateIndex`` is to the aggregates, ``TextIndexing`` is to the text index.

The index and the store each hold a token: the index in its last commit, the store in the
graph ``{base}graph/search/state``. They are equal while the two are in step. Before its first
change a run writes CHANGING into the store; at its end it commits the index under a new token
and writes that into the store. A run cut short anywhere leaves the two apart, and the next run
then rebuilds the index from the store (as does ``policykg reindex``).

A store that searches its own literals (``TextIndex.keeps_documents`` false) needs none of
this: the texts are in its aggregate graphs, written with the records.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pyoxigraph as ox

from policykg.graph.aggregates.hierarchy import ConceptHierarchy
from policykg.graph.aggregates.terms import RECORD_KIND, STAMP
from policykg.graph.rdf.uris import Uris
from policykg.graph.search.document import SearchDocument
from policykg.graph.search.engines.engine import TextIndex
from policykg.graph.search.rebuild import record_graph_names, stored_documents
from policykg.graph.store import GraphStore

STATE_GRAPH = "graph/search/state"  # under the base: the token of the index in step
CHANGING = "changing"  # the store's token while a run changes records
BATCH = 1000  # documents written between two looks at the clock of a rebuild's progress


@dataclass
class TextIndexSummary:
    """What a run did to the text index."""

    written: int = 0
    removed: int = 0
    rebuilt: int | None = None  # publications indexed anew from the store, if it was rebuilt
    seconds: float = 0.0

    def line(self) -> str:
        """One line for the load summary."""
        if self.rebuilt is not None:
            what = f"rebuilt from the store ({self.rebuilt} publications)"
        else:
            what = f"{self.written} written, {self.removed} removed"
        return f"text index: {what} in {self.seconds:.1f} s"


def stored_token(store: GraphStore, uris: Uris) -> str | None:
    """The token the store says its text index has (None: none written yet)."""
    graph = ox.NamedNode(uris.base + STATE_GRAPH)
    quad = next(store.quads_matching(graph, STAMP, None, graph), None)
    return quad.object.value if quad is not None and isinstance(quad.object, ox.Literal) else None


def write_token(store: GraphStore, uris: Uris, token: str) -> None:
    """Say in the store which token its text index has."""
    graph = ox.NamedNode(uris.base + STATE_GRAPH)
    store.replace([graph.value], [ox.Quad(graph, STAMP, ox.Literal(token), graph)])


def in_step(store: GraphStore, uris: Uris) -> bool:
    """Whether the store's text index holds what its records say (an index made for no
    record, and no record: in step)."""
    index = store.text_index()
    if not index.keeps_documents:
        return True
    token = index.token()
    if token is None:
        return stored_token(store, uris) is None and not store.any_graph(
            str(uris.graph(RECORD_KIND, "")))
    return token == stored_token(store, uris)


class TextIndexing:
    """The text index of one store, told of the changes a run of loads or removals makes:

        indexing = TextIndexing(store, uris)
        indexing.begin()                    # before the first change
        indexing.changing()                 # before each change
        indexing.write(documents, removed)  # once a batch is in the store
        summary = indexing.finish()         # after the last: commit (or rebuild)
    """

    def __init__(self, store: GraphStore, uris: Uris,
                 hierarchy: ConceptHierarchy | None = None) -> None:
        self.store = store
        self.uris = uris
        self.index = store.text_index()
        self.hierarchy = hierarchy
        self._in_step = True
        self._changing = False
        self._summary = TextIndexSummary()

    @property
    def active(self) -> bool:
        """Whether the index is written here (else the texts go with the records)."""
        return self.index.keeps_documents

    def begin(self) -> None:
        """Start a run: is the index in step with the store, to be told of each change?"""
        self._summary = TextIndexSummary()
        self._changing = False
        self._in_step = in_step(self.store, self.uris) if self.active else True

    def changing(self) -> None:
        """A change to the records follows: until the run's end, index and store disagree."""
        if self.active and not self._changing:
            write_token(self.store, self.uris, CHANGING)
            self._changing = True

    def write(self, documents: Iterable[SearchDocument], removed: Iterable[str] = ()) -> None:
        """Publications written (their documents) and removed (their IRIs), once the store
        holds them (nothing is written for an index to be rebuilt at the end)."""
        if not (self.active and self._in_step):
            return
        documents, removed = list(documents), list(removed)
        self.index.write(documents, removed)
        self._summary.written += len(documents)
        self._summary.removed += len(removed)

    def finish(self, progress: Callable[[int], None] | None = None) -> TextIndexSummary | None:
        """After the last change: commit what was written, or rebuild the index if it was out
        of step; None when there was nothing to do."""
        if not self.active or (self._in_step and not self._changing):
            return None
        started = time.perf_counter()
        if not self._in_step:
            self._summary.rebuilt = rebuild_documents(self.store, self.uris, self.index,
                                                      self.hierarchy, progress)
        token = uuid.uuid4().hex
        self.index.commit(token)
        write_token(self.store, self.uris, token)
        self._summary.seconds = time.perf_counter() - started
        return self._summary

    def abandon(self) -> None:
        """The run failed: forget what was written (the store says CHANGING if anything
        changed, and the next run rebuilds)."""
        if self.active:
            self.index.rollback()

    def close(self) -> None:
        """Release the index's writer."""
        if self.active:
            self.index.close()


def rebuild_documents(store: GraphStore, uris: Uris, index: TextIndex,
                      hierarchy: ConceptHierarchy | None = None,
                      progress: Callable[[int], None] | None = None) -> int:
    """Replace every document of a text index by those read from the store (uncommitted);
    how many publications."""
    index.clear()
    graphs = record_graph_names(store, uris)
    batch: list[SearchDocument] = []
    for found in stored_documents(store, uris, graphs, hierarchy, progress=progress):
        batch.append(found)
        if len(batch) >= BATCH:
            index.write(batch)
            batch = []
    index.write(batch)
    return len(graphs)


def reindex(store: GraphStore, uris: Uris,
            progress: Callable[[int], None] | None = None) -> TextIndexSummary:
    """Rebuild a store's text index from its records (``policykg reindex``)."""
    started = time.perf_counter()
    index = store.text_index()
    summary = TextIndexSummary()
    if not index.keeps_documents:
        summary.seconds = time.perf_counter() - started
        return summary
    write_token(store, uris, CHANGING)
    summary.rebuilt = rebuild_documents(store, uris, index, progress=progress)
    token = uuid.uuid4().hex
    index.commit(token)
    write_token(store, uris, token)
    index.close()
    summary.seconds = time.perf_counter() - started
    return summary
