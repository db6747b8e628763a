"""Where the graph lives: a small store interface and its embedded implementation, Oxigraph on disk.

The pipeline and the web app speak only this interface, so a remote SPARQL store
(``policykg.graph.remote_store``) stands in for the embedded one. Terms cross it as pyoxigraph
terms (Quad, NamedNode, Literal...); query results are pyoxigraph result objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol

import pyoxigraph as ox

if TYPE_CHECKING:
    from policykg.graph.config import Settings

PKG = "https://w3id.org/policykg/ontology#"
CONTENT_HASH = ox.NamedNode(PKG + "contentHash")
SOURCE_IDENTIFIER = ox.NamedNode(PKG + "sourceIdentifier")

EXPORT_FORMATS = {
    "nq": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "ttl": ox.RdfFormat.TURTLE,
    "nt": ox.RdfFormat.N_TRIPLES,
}


class StoreUnavailable(OSError):
    """The store could not be reached, or did not answer in time: try again later (HTTP 503).

    Its message names the store by host only, never with credentials.
    """


class StoreTimeout(StoreUnavailable):
    """The store did not answer within the time limit (or would not, by its own estimate)."""


class StoreError(RuntimeError):
    """The store answered a request with an error (other than being unavailable)."""


class GraphStore(Protocol):
    """What policykg needs of a quad store."""

    def graph_hashes(self, prefix: str) -> dict[str, str]:
        """Content hash of every graph whose IRI starts with ``prefix`` (graph IRI -> hash)."""

    def graphs_with_source(self, source_identifier: str) -> list[str]:
        """The graphs whose provenance names this source record identifier."""

    def graph_names(self, prefix: str) -> set[str]:
        """The IRIs of the named graphs that start with ``prefix``."""

    def has_graph(self, graph: str) -> bool:
        """Whether a named graph exists."""

    def replace(self, remove: Iterable[str], add: Iterable[ox.Quad]) -> None:
        """Remove whole graphs, then add quads; each step all-or-nothing."""

    def quads(self, graph: str | None = None) -> Iterator[ox.Quad]:
        """The quads of one graph, or all of them."""

    def objects_of(self, graph: str) -> set[str]:
        """The IRIs a graph links to (objects that are named nodes)."""

    def is_referenced(self, iri: str, within: str) -> bool:
        """Whether a graph whose IRI starts with ``within`` (the record graphs) links to ``iri``."""

    def query(self, sparql: str, **options: object) -> object:
        """Run a SPARQL query over the union of all graphs (pyoxigraph result types)."""

    def dump(self, output: IO[bytes], format: str) -> None:
        """Write the whole store as nq, trig, ttl or nt."""

    def close(self) -> None:
        """Flush and release the store."""


class OxigraphStore:
    """The embedded store: pyoxigraph on disk, the union of all graphs as default graph."""

    def __init__(self, path: Path | str | None, read_only: bool = False) -> None:
        if path is None:
            self._store = ox.Store()
        else:
            Path(path).mkdir(parents=True, exist_ok=True)
            self._store = ox.Store.read_only(str(path)) if read_only else ox.Store(str(path))
        self.path = path
        self.read_only = read_only

    @property
    def engine(self) -> ox.Store:
        """The pyoxigraph store itself, for callers that need its full API."""
        return self._store

    def graph_hashes(self, prefix: str) -> dict[str, str]:
        hashes = {}
        for quad in self._store.quads_for_pattern(None, CONTENT_HASH, None, None):
            graph = quad.graph_name
            if isinstance(graph, ox.NamedNode) and graph.value.startswith(prefix):
                hashes[graph.value] = quad.object.value
        return hashes

    def graphs_with_source(self, source_identifier: str) -> list[str]:
        literal = ox.Literal(source_identifier)
        return sorted({
            quad.graph_name.value
            for quad in self._store.quads_for_pattern(None, SOURCE_IDENTIFIER, literal, None)
            if isinstance(quad.graph_name, ox.NamedNode)
        })

    def graph_names(self, prefix: str) -> set[str]:
        return {
            graph.value
            for graph in self._store.named_graphs()
            if isinstance(graph, ox.NamedNode) and graph.value.startswith(prefix)
        }

    def has_graph(self, graph: str) -> bool:
        return self._store.contains_named_graph(ox.NamedNode(graph))

    def replace(self, remove: Iterable[str], add: Iterable[ox.Quad]) -> None:
        for graph in remove:
            self._store.remove_graph(ox.NamedNode(graph))
        self._store.extend(add)

    def quads(self, graph: str | None = None) -> Iterator[ox.Quad]:
        name = None if graph is None else ox.NamedNode(graph)
        return self._store.quads_for_pattern(None, None, None, name)

    def objects_of(self, graph: str) -> set[str]:
        return {
            quad.object.value
            for quad in self._store.quads_for_pattern(None, None, None, ox.NamedNode(graph))
            if isinstance(quad.object, ox.NamedNode)
        }

    def is_referenced(self, iri: str, within: str) -> bool:
        for quad in self._store.quads_for_pattern(None, None, ox.NamedNode(iri), None):
            graph = quad.graph_name
            if isinstance(graph, ox.NamedNode) and graph.value.startswith(within):
                return True
        return False

    def query(self, sparql: str, **options: object) -> object:
        options.setdefault("use_default_graph_as_union", True)
        return self._store.query(sparql, **options)

    def dump(self, output: IO[bytes], format: str) -> None:
        rdf_format = EXPORT_FORMATS[format]
        if rdf_format.supports_datasets:
            self._store.dump(output, rdf_format)
        else:
            # Triples formats get the union of the graphs, each triple once.
            triples = {ox.Triple(q.subject, q.predicate, q.object) for q in self._store}
            ox.serialize(triples, output, rdf_format)

    def close(self) -> None:
        """Flush and drop the engine, releasing the on-disk lock for other processes."""
        if self._store is not None:
            if not self.read_only:
                self._store.flush()
            self._store = None

    def __enter__(self) -> OxigraphStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


REMOTE_SCHEMES = ("sparql+http://", "sparql+https://")


def is_remote(location: str | None) -> bool:
    """Whether a store location names a remote SPARQL store (``sparql+http://...``)."""
    return bool(location) and location.startswith(REMOTE_SCHEMES)


def open_store(location: str | None, read_only: bool = False,
               settings: Settings | None = None) -> GraphStore:
    """Open a store: ``oxigraph:PATH`` or a plain path (None: in memory), or a remote SPARQL
    store ``sparql+http://host:8890/sparql`` (its update and Graph Store URLs, credentials and
    timeout come from ``settings``; nothing is requested before the first operation)."""
    if is_remote(location):
        from policykg.graph.remote_store import RemoteStore

        return RemoteStore.from_settings(location, settings, read_only=read_only)
    if location is None:
        return OxigraphStore(None)
    path = location.removeprefix("oxigraph:")
    return OxigraphStore(Path(path).expanduser(), read_only=read_only)
