"""What policykg needs of a quad store: the ``GraphStore`` protocol, the batch a load writes,
and the errors a store raises. Terms cross it as pyoxigraph terms (Quad, NamedNode,
Literal...); query results are pyoxigraph result objects, whatever the backend.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

import pyoxigraph as ox

from policykg.graph.rdf.namespaces import PKG

if TYPE_CHECKING:
    from policykg.graph.search.engines.engine import TextIndex

CONTENT_HASH = ox.NamedNode(PKG + "contentHash")
SOURCE_IDENTIFIER = ox.NamedNode(PKG + "sourceIdentifier")

EXPORT_FORMATS = {
    "nq": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "ttl": ox.RdfFormat.TURTLE,
    "nt": ox.RdfFormat.N_TRIPLES,
}

Term = ox.NamedNode | ox.BlankNode | ox.Literal
Subject = ox.NamedNode | ox.BlankNode | ox.Triple  # what a quad's subject may be (never a literal)
GraphName = ox.NamedNode | ox.BlankNode | ox.DefaultGraph


class StoreUnavailable(OSError):
    """The store could not be reached, or did not answer in time: try again later (HTTP 503).

    Its message names the store by host only, never with credentials.
    """


class StoreTimeout(StoreUnavailable):
    """The store did not answer within the time limit (or would not, by its own estimate)."""


class StoreBusy(OSError):
    """Another process writes the store: an embedded store has one writer at a time."""


class StoreError(RuntimeError):
    """The store answered a request with an error (other than being unavailable)."""


@dataclass(frozen=True)
class WriteBatch:
    """What one batch of a load writes, as one step a crash leaves wholly done or undone.

    ``remove``: graphs removed first; ``cleanups``: SPARQL updates run after them (what the
    removed graphs' records left outside any graph); ``records``: N-Quads texts, one a
    record; ``derived``: (N-Quads of a record's derived graphs, the lines that stamp them)
    pairs, the stamps written last; ``graphs``: every graph the batch writes and ``undo``:
    the updates that take out the rest of it, for a store that must undo a write cut short.
    """

    remove: list[str] = field(default_factory=list)
    cleanups: list[str] = field(default_factory=list)
    records: list[str] = field(default_factory=list)
    derived: list[tuple[str, str]] = field(default_factory=list)
    graphs: list[str] = field(default_factory=list)
    undo: list[str] = field(default_factory=list)


class GraphStore(Protocol):
    """A quad store whose default graph, for queries, is the union of its named graphs."""

    read_only: bool
    in_process: bool  # evaluates in this process: a look-up is an index seek, not a request

    @property
    def folder(self) -> Path | None:
        """The folder on this machine that holds the store and the files kept beside it
        (the pair counts, the write journal); None for a store in memory or elsewhere."""

    @property
    def generation(self) -> object:
        """What changes whenever the data this store reads may have changed (None: unknown,
        not to be cached on)."""

    def bounded(self, timeout: float) -> GraphStore:
        """The same store, each request limited to ``timeout`` seconds where the store is
        reached by requests (a store in this process is stopped by killing its process)."""

    def writable(self) -> GraphStore:
        """The same store, allowed to write (a store elsewhere, opened read-only for the
        readers of a web app, writes its updates through this)."""

    def snapshot(self) -> AbstractContextManager[Any]:
        """Read one state of the store in this thread until the block ends (where the
        backend can; else a block that changes nothing)."""

    def graph_hashes(self, prefix: str) -> dict[str, str]:
        """Content hash of every graph whose IRI starts with ``prefix`` (graph IRI -> hash)."""

    def graph_hash(self, graph: str) -> str | None:
        """The content hash of one graph (None: no such graph, or one without hash)."""

    def graphs_with_source(self, source_identifier: str) -> list[str]:
        """The graphs whose provenance names this source record identifier."""

    def graph_names(self, prefix: str) -> set[str]:
        """The IRIs of the named graphs that start with ``prefix``."""

    def any_graph(self, prefix: str) -> bool:
        """Whether some named graph's IRI starts with ``prefix``."""

    def has_graph(self, graph: str) -> bool:
        """Whether a named graph exists."""

    def quads(self, graph: str | None = None) -> Iterator[ox.Quad]:
        """The quads of one graph, or all of them."""

    def quads_matching(self, subject: Subject | None, predicate: ox.NamedNode | None,
                       object: Term | None, graph: ox.NamedNode | None) -> Iterator[ox.Quad]:
        """The quads that match a pattern; None matches anything."""

    def objects_of(self, graph: str) -> set[str]:
        """The IRIs a graph links to (objects that are named nodes)."""

    def is_referenced(self, iri: str, within: str) -> bool:
        """Whether a graph whose IRI starts with ``within`` (the record graphs) links to ``iri``."""

    def query(self, sparql: str, *, base_iri: str | None = None,
              prefixes: dict[str, str] | None = None,
              use_default_graph_as_union: bool = True,
              default_graph: GraphName | list[GraphName] | None = None,
              named_graphs: list[ox.NamedNode | ox.BlankNode] | None = None,
              substitutions: dict[ox.Variable, Any] | None = None) -> Any:
        """Run a SPARQL query over the union of all graphs (pyoxigraph result types), with
        pyoxigraph's query options (the union unless ``use_default_graph_as_union=False``)."""

    def update(self, sparql: str, base_iri: str | None = None,
               timeout: float | None = None) -> None:
        """Run a SPARQL update."""

    def replace(self, remove: Iterable[str], add: Iterable[ox.Quad]) -> None:
        """Remove whole graphs, then add quads; each step all-or-nothing."""

    def write_batch(self, batch: WriteBatch) -> None:
        """Write what a batch of a load writes (``WriteBatch``)."""

    def add_derived(self, quads: Iterable[ox.Quad] | str) -> None:
        """Add derived quads (or N-Quads text), as fast as the store allows: not always in a
        transaction, so what is added this way must be stamped last and checked by its
        stamp."""

    def remove_quads(self, quads: Iterable[ox.Quad]) -> None:
        """Remove some quads."""

    def exchange(self, removed: Iterable[ox.Quad], added: Iterable[ox.Quad],
                 graph: str | None = None) -> None:
        """Remove quads (and, given ``graph``, that whole graph) and add others in one
        transaction: a reader sees the store as it was or as it is after, never between."""

    def recover(self) -> int:
        """Undo a write that a crash or a kill cut short, before anything reads the store;
        the number of graphs it removed (0: nothing to undo)."""

    def text_index(self) -> TextIndex:
        """The index that searches this store's publications' texts (one object a store)."""

    def compact(self) -> float | None:
        """Compact the store's indexes; the seconds it took (None: the store does that
        itself)."""

    def dump(self, output: IO[bytes], format: str) -> None:
        """Write the whole store as nq, trig, ttl or nt."""

    def close(self) -> None:
        """Release the store, with what was written made durable."""

    def __enter__(self) -> GraphStore: ...

    def __exit__(self, *exc_info: object) -> None: ...


def exchange_update(removed: Iterable[ox.Quad], added: Iterable[ox.Quad],
                    graph: str | None = None) -> str:
    """The SPARQL Update, one request, that ``exchange`` runs (quads of named graphs; the
    removed ones without blank nodes, which DELETE DATA cannot name; the added ones in a
    template, where blank nodes are fresh nodes, as Virtuoso reads them)."""
    def data(quads: Iterable[ox.Quad]) -> str:  # one GRAPH block a graph (Virtuoso wants it)
        graphs: dict[str, list[str]] = {}
        for q in quads:
            triple = f"{q.subject} {q.predicate} {q.object} ."
            graphs.setdefault(str(q.graph_name), []).append(triple)
        return " ".join(f"GRAPH {name} {{ {' '.join(triples)} }}"
                        for name, triples in graphs.items())

    removing, adding = data(removed), data(added)
    steps = [f"DROP SILENT GRAPH <{graph}>"] if graph else []
    steps += [f"DELETE DATA {{ {removing} }}"] if removing else []
    steps += [f"INSERT {{ {adding} }} WHERE {{}}"] if adding else []  # DATA takes no _:b
    return " ;\n".join(steps)
