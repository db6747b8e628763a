"""Where the graph lives: a small store interface and its embedded implementation, Oxigraph on disk.

The pipeline and the web app speak only this interface, so a remote SPARQL store
(``policykg.graph.store.remote``) stands in for the embedded one. Terms cross it as pyoxigraph
terms (Quad, NamedNode, Literal...); query results are pyoxigraph result objects.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol, TypeVar

import pyoxigraph as ox

from policykg.graph.store.read_snapshot import Snapshots, remove_orphans

if TYPE_CHECKING:
    from policykg.graph.config import Settings

T = TypeVar("T")
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

    def graph_hash(self, graph: str) -> str | None:
        """The content hash of one graph (None: no such graph, or one without hash)."""

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


READ_ONLY_ATTEMPTS = 10
COMPACTED_AWAY = "No such file"  # in RocksDB's error when a snapshot's file was deleted


def open_read_only(path: Path | str) -> ox.Store:
    """Open an on-disk store read-only, while another process may be writing to it.

    A read-only open reads the list of RocksDB's files, then opens them; a compaction in the
    writer may delete one in between ("No such file or directory"). That is transient: the
    open is tried again with the new list, a few times, before the error is raised.
    """
    for attempt in range(1, READ_ONLY_ATTEMPTS):
        try:
            return ox.Store.read_only(str(path))
        except (OSError, RuntimeError) as error:
            if not compacted_away(error):
                raise
            time.sleep(0.02 * attempt)
    return ox.Store.read_only(str(path))


def compacted_away(error: Exception) -> bool:
    """Whether a read-only store failed because a writer's compaction deleted a file of the
    snapshot it opened (reopening and reading again then succeeds)."""
    return isinstance(error, (OSError, RuntimeError)) and COMPACTED_AWAY in str(error)


def fingerprint(path: str | Path) -> tuple[tuple[str, int, int], ...]:
    """What changes in a RocksDB folder with every write, and not with a read-only open: the
    names, sizes and times of CURRENT, MANIFEST-* and the write-ahead logs (the folder listed:
    ~0.1 ms for a large store; FolderWatch reads it again in a few stat calls)."""
    try:
        entries = list(os.scandir(path))
    except OSError:
        return ()
    marks = []
    for entry in entries:
        if _marked(entry.name):
            try:
                stat = entry.stat()
            except OSError:
                continue  # deleted since the listing: a write, seen in the other files
            marks.append((entry.name, stat.st_size, stat.st_mtime_ns))
    return tuple(sorted(marks))


def _marked(name: str) -> bool:
    return name == "CURRENT" or name.startswith("MANIFEST-") or name.endswith(".log")


class FolderWatch:
    """The fingerprint of one store folder, checked at each use in a few stat calls: the
    folder's own time changes when a file is created, deleted or renamed in it (then it is
    listed again); the files of the last listing are stat'ed for what is appended to them.
    File times are coarse (a few ms), so a folder changed in the last RACY_SECONDS is listed
    at every call, as git does with racy index entries."""

    RACY_SECONDS = 2.0

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._folder: int | None = None
        self._names: tuple[str, ...] = ()

    def __call__(self) -> tuple:
        """The current fingerprint (equal to the last one while nothing was written)."""
        try:
            folder = os.stat(self.path).st_mtime_ns
        except OSError:
            return ()
        if folder != self._folder or time.time_ns() - folder < self.RACY_SECONDS * 1e9:
            listed = fingerprint(self.path)
            self._names = tuple(mark[0] for mark in listed)
            self._folder = folder
            return ((".", folder), *listed)
        marks: list[tuple] = [(".", folder)]
        for name in self._names:
            try:
                stat = os.stat(self.path / name)
            except OSError:
                self._folder = None  # deleted meanwhile: list the folder again next time
                continue
            marks.append((name, stat.st_size, stat.st_mtime_ns))
        return tuple(marks)


class OxigraphStore:
    """The embedded store: pyoxigraph on disk, the union of all graphs as default graph.

    Opened read-only, it follows the folder: each open reads a private snapshot of the folder
    (``policykg.graph.store.read_snapshot``: hard links, so that what a writer in another process
    compacts away stays readable), and before each use the folder's fingerprint is compared
    with the one at open; the store is reopened when they differ (~15 ms, once per committed
    write). A failed reopen keeps the previous snapshot. Within ``snapshot()``, a thread reads
    one snapshot: the folder is checked once, on entry (a page's several queries then agree
    with each other, and spare the check).
    """

    def __init__(self, path: Path | str | None, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only and path is not None
        self._seen: tuple = ()
        self._watch = FolderWatch(path) if self.read_only else None
        self._pinned = threading.local()  # .state: (engine, seen) within snapshot()
        self._snapshots = Snapshots(Path(path)) if self.read_only else None
        if path is None:
            self._store = ox.Store()
        else:
            Path(path).mkdir(parents=True, exist_ok=True)
            self._seen = self._watch() if self._watch else ()
            self._store = self._open_read_only() if self.read_only else ox.Store(str(path))
            if not self.read_only:
                remove_orphans(Path(path))  # what they pin, a writer would compact for nothing

    def _open_read_only(self) -> ox.Store:
        """Open a new private snapshot of the folder read-only (in place where none can be
        taken)."""
        taken = self._snapshots.take()
        return open_read_only(taken if taken is not None else self.path)

    @property
    def engine(self) -> ox.Store:
        """The pyoxigraph store itself, for callers that need its full API (read-only: as
        of the last write to the folder)."""
        return self._current()[0]

    @property
    def generation(self) -> tuple | None:
        """What changes whenever the data this store reads may have changed: read-only, the
        fingerprint of the folder it follows (checked now); None when it writes itself."""
        return self._current()[1] if self._watch is not None else None

    @contextmanager
    def snapshot(self) -> Iterator[OxigraphStore]:
        """Read one snapshot in this thread until the block ends (read-only; a store that
        writes reads its own writes as ever). Blocks do not nest."""
        if self._watch is None:
            yield self
            return
        self._pinned.state = self._current()
        try:
            yield self
        finally:
            self._pinned.state = None

    def _current(self) -> tuple[ox.Store, tuple]:
        """The engine and the fingerprint it was opened at: the thread's pinned snapshot, else
        the folder's latest (reopened if it changed)."""
        pinned = getattr(self._pinned, "state", None)
        if pinned is not None:
            return pinned
        store, seen = self._store, self._seen
        if self._watch is not None and store is not None:
            self._snapshots.remove_expired()
            now = self._watch()
            if now != seen:
                try:
                    store, seen = self._open_read_only(), now
                    self._store, self._seen = store, seen
                except (OSError, RuntimeError):
                    pass  # a write in the middle of the open: the next use tries again
        return store, seen

    def _read(self, read: Callable[[ox.Store], T]) -> T:
        """``read(engine)``, read again on a reopened store if a writer's compaction took a
        file away meanwhile (read-only only; ``read`` must not return a lazy iterator)."""
        for _ in range(1, READ_ONLY_ATTEMPTS):
            try:
                return read(self.engine)
            except (OSError, RuntimeError) as error:
                if not (self.read_only and compacted_away(error)):
                    raise
                self.reopen()
        return read(self.engine)

    def reopen(self) -> None:
        """Read-only: open the store afresh at the next use (within a snapshot: now)."""
        self._seen = ()
        if getattr(self._pinned, "state", None) is not None:
            self._pinned.state = None
            self._pinned.state = self._current()

    def graph_hashes(self, prefix: str) -> dict[str, str]:
        return self._read(lambda engine: {
            quad.graph_name.value: quad.object.value
            for quad in engine.quads_for_pattern(None, CONTENT_HASH, None, None)
            if isinstance(quad.graph_name, ox.NamedNode)
            and quad.graph_name.value.startswith(prefix)
        })

    def graph_hash(self, graph: str) -> str | None:
        name = ox.NamedNode(graph)  # one index seek, not every graph's hash (graph_hashes)
        found = self._read(lambda engine: next(
            engine.quads_for_pattern(None, CONTENT_HASH, None, name), None))
        return None if found is None else found.object.value

    def graphs_with_source(self, source_identifier: str) -> list[str]:
        literal = ox.Literal(source_identifier)
        return self._read(lambda engine: sorted({
            quad.graph_name.value
            for quad in engine.quads_for_pattern(None, SOURCE_IDENTIFIER, literal, None)
            if isinstance(quad.graph_name, ox.NamedNode)
        }))

    def graph_names(self, prefix: str) -> set[str]:
        return self._read(lambda engine: {
            graph.value
            for graph in engine.named_graphs()
            if isinstance(graph, ox.NamedNode) and graph.value.startswith(prefix)
        })

    def has_graph(self, graph: str) -> bool:
        return self._read(lambda engine: engine.contains_named_graph(ox.NamedNode(graph)))

    def replace(self, remove: Iterable[str], add: Iterable[ox.Quad]) -> None:
        for graph in remove:
            self.engine.remove_graph(ox.NamedNode(graph))
        self.engine.extend(add)

    def quads(self, graph: str | None = None) -> Iterator[ox.Quad]:
        name = None if graph is None else ox.NamedNode(graph)
        return self.engine.quads_for_pattern(None, None, None, name)

    def objects_of(self, graph: str) -> set[str]:
        return self._read(lambda engine: {
            quad.object.value
            for quad in engine.quads_for_pattern(None, None, None, ox.NamedNode(graph))
            if isinstance(quad.object, ox.NamedNode)
        })

    def is_referenced(self, iri: str, within: str) -> bool:
        return self._read(lambda engine: any(
            isinstance(quad.graph_name, ox.NamedNode) and quad.graph_name.value.startswith(within)
            for quad in engine.quads_for_pattern(None, None, ox.NamedNode(iri), None)
        ))

    def query(self, sparql: str, **options: object) -> object:
        options.setdefault("use_default_graph_as_union", True)
        return self.engine.query(sparql, **options)

    def dump(self, output: IO[bytes], format: str) -> None:
        rdf_format = EXPORT_FORMATS[format]
        if rdf_format.supports_datasets:
            self.engine.dump(output, rdf_format)
        else:
            # Triples formats get the union of the graphs, each triple once.
            triples = {ox.Triple(q.subject, q.predicate, q.object) for q in self.engine}
            ox.serialize(triples, output, rdf_format)

    def compact(self) -> float:
        """Compact the on-disk indexes into their last level; the seconds it took (none when
        they already are). A load leaves its writes in many small files that RocksDB merges
        in the background of a later writer, never of a reader: until then every read looks
        through all of them (a served page's reads ~2.5x slower at 20k records, ~5x at 100k)."""
        if self.read_only or self.path is None:
            raise OSError("only a store opened for writing on disk can be compacted")
        start = time.perf_counter()
        self.engine.optimize()
        return time.perf_counter() - start

    def close(self) -> None:
        """Drop the engine, releasing the on-disk lock for other processes, with what it wrote
        made durable (``sync_logs``)."""
        if self._store is not None:
            self._store = None
            if not self.read_only and self.path is not None:
                sync_logs(Path(self.path))
        if self._snapshots is not None:
            self._snapshots.close()

    def __enter__(self) -> OxigraphStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def sync_logs(path: Path) -> None:
    """Make the write-ahead logs of a store folder durable. RocksDB writes each commit to its
    log without fsync; what its memtables hold (the transactions since their last flush: a
    load's removals, marks and tallies) is on disk only there, and a close does not flush them.
    ``Store.flush()`` would, but waits for the compactions a batch left (8-10 s after a
    batch of 5k into the 100k store): syncing the logs keeps the same promise in milliseconds,
    and the next open replays them."""
    for entry in os.scandir(path):
        if entry.name.endswith(".log"):
            try:
                _fsync(entry.path)
            except FileNotFoundError:
                continue  # obsolete, deleted by an engine another owner still holds open
    _fsync(path)  # the folder: the logs' names


def _fsync(path: str | Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def embedded_engine(store: GraphStore) -> ox.Store | None:
    """The pyoxigraph Store of an embedded store, else None. Asked for at each use, never kept:
    the store closes when its owner closes it."""
    engine = getattr(store, "engine", None)
    return engine if isinstance(engine, ox.Store) else None


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
        from policykg.graph.store.remote import RemoteStore

        return RemoteStore.from_settings(location, settings, read_only=read_only)
    if location is None:
        return OxigraphStore(None)
    path = location.removeprefix("oxigraph:")
    return OxigraphStore(Path(path).expanduser(), read_only=read_only)
