"""The embedded store: Oxigraph (pyoxigraph) on disk or in memory, the union of all graphs as
the default graph of queries.

    store = OxigraphStore("/data/store")                  # read-write: one process at a time
    reader = OxigraphStore("/data/store", read_only=True)  # any number, beside a writer
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import pyoxigraph as ox

from policykg.graph.rdf.terms import value_of
from policykg.graph.store.embedded.folder import (
    READ_ONLY_ATTEMPTS,
    FolderWatch,
    compacted_away,
    open_read_only,
    sync_logs,
)
from policykg.graph.store.embedded.journal import Journal, JournalEntry
from policykg.graph.store.embedded.read_snapshot import Snapshots, remove_orphans
from policykg.graph.store.interface import (
    CONTENT_HASH,
    EXPORT_FORMATS,
    SOURCE_IDENTIFIER,
    StoreBusy,
    Subject,
    Term,
    WriteBatch,
    exchange_update,
)

if TYPE_CHECKING:
    from policykg.graph.store.interface import GraphStore

if TYPE_CHECKING:
    from policykg.graph.search.engines.engine import TextIndex

T = TypeVar("T")
TEXT_INDEX = "text-index"  # the folder of the text index, in the store's folder
PART_QUADS = 500_000  # quads a bulk write takes at most: under Oxigraph's hand-over of 10^6


class OxigraphStore:
    """The embedded store: pyoxigraph on disk, the union of all graphs as default graph.

    Opened read-only, it follows the folder: each open reads a private snapshot of the folder
    (``read_snapshot``: hard links, so that what a writer in another process
    compacts away stays readable), and before each use the folder's fingerprint is compared
    with the one at open; the store is reopened when they differ (once per committed
    write). A failed reopen keeps the previous snapshot. Within ``snapshot()``, a thread reads
    one snapshot: the folder is checked once, on entry (a page's several queries then agree
    with each other, and spare the check).
    """

    in_process = True

    @property
    def folder(self) -> Path | None:
        """The store's folder (None in memory)."""
        return None if self.path is None else Path(self.path)

    def __init__(self, path: Path | str | None, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only and path is not None
        self._seen: tuple = ()
        # read-only implies on disk (path is not None)
        self._watch = FolderWatch(path) if self.read_only and path is not None else None
        self._pinned = threading.local()  # .state: (engine, seen) within snapshot()
        self._snapshots = Snapshots(Path(path)) if self.read_only and path is not None else None
        self._text_index: TextIndex | None = None
        self._store: ox.Store | None  # None once closed
        if path is None:
            self._store = ox.Store()
        else:
            Path(path).mkdir(parents=True, exist_ok=True)
            self._seen = self._watch() if self._watch else ()
            self._store = self._open_read_only() if self.read_only else _open_writer(Path(path))
            if not self.read_only:
                remove_orphans(Path(path))  # what they pin, a writer would compact for nothing

    def bounded(self, timeout: float) -> OxigraphStore:
        """The store itself: a query here is stopped by killing the process that runs it."""
        return self

    def writable(self) -> OxigraphStore:
        """The store itself, if it writes: one process writes an embedded store at a time,
        and a reader never becomes that process."""
        if self.read_only:
            raise OSError("an embedded store opened read-only cannot write")
        return self

    def _open_read_only(self) -> ox.Store:
        """Open a new private snapshot of the folder read-only (in place where none can be
        taken)."""
        assert self._snapshots is not None and self.path is not None  # read-only: on disk
        taken = self._snapshots.take()
        return open_read_only(taken if taken is not None else self.path)

    @property
    def engine(self) -> ox.Store:
        """The pyoxigraph store itself, for callers that need its full API (read-only: as
        of the last write to the folder)."""
        store = self._current()[0]
        assert store is not None, "the store is closed"
        return store

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

    def _current(self) -> tuple[ox.Store | None, tuple]:
        """The engine and the fingerprint it was opened at: the thread's pinned snapshot, else
        the folder's latest (reopened if it changed)."""
        pinned = getattr(self._pinned, "state", None)
        if pinned is not None:
            return pinned
        store, seen = self._store, self._seen
        if self._watch is not None and store is not None:
            assert self._snapshots is not None  # read-only, as the watch
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
            quad.graph_name.value: value_of(quad.object)
            for quad in engine.quads_for_pattern(None, CONTENT_HASH, None, None)
            if isinstance(quad.graph_name, ox.NamedNode)
            and quad.graph_name.value.startswith(prefix)
        })

    def graph_hash(self, graph: str) -> str | None:
        name = ox.NamedNode(graph)  # one index seek, not every graph's hash (graph_hashes)
        found = self._read(lambda engine: next(
            engine.quads_for_pattern(None, CONTENT_HASH, None, name), None))
        return None if found is None else value_of(found.object)

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

    def any_graph(self, prefix: str) -> bool:
        return self._read(lambda engine: any(
            isinstance(graph, ox.NamedNode) and graph.value.startswith(prefix)
            for graph in engine.named_graphs()))

    def replace(self, remove: Iterable[str], add: Iterable[ox.Quad]) -> None:
        for graph in remove:
            self.engine.remove_graph(ox.NamedNode(graph))
        self.engine.extend(add)

    def quads(self, graph: str | None = None) -> Iterator[ox.Quad]:
        name = None if graph is None else ox.NamedNode(graph)
        return self.engine.quads_for_pattern(None, None, None, name)

    def quads_matching(self, subject: Subject | None, predicate: ox.NamedNode | None,
                       object: Term | None, graph: ox.NamedNode | None) -> Iterator[ox.Quad]:
        return self.engine.quads_for_pattern(subject, predicate, object, graph)

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

    def query(self, sparql: str, **options: Any) -> Any:
        options.setdefault("use_default_graph_as_union", True)
        return self.engine.query(sparql, **options)

    def update(self, sparql: str, base_iri: str | None = None,
               timeout: float | None = None) -> None:
        """A SPARQL update (``timeout`` is for remote stores: one in this process is stopped
        by killing the process that runs it)."""
        self.engine.update(sparql, base_iri=base_iri)

    def write_batch(self, batch: WriteBatch) -> None:
        """With the bulk loader (no transaction and no write-ahead log: faster, see
        bench/load_into.py), behind the write journal on disk, so that a write cut short is
        undone by ``recover``."""
        journal = Journal.of(self.folder)
        entry = JournalEntry(batch.graphs, batch.undo)
        with journal.writing(entry) if journal else _nothing():
            engine = self.engine
            for graph in batch.remove:
                engine.remove_graph(ox.NamedNode(graph))
            for cleanup in batch.cleanups:
                engine.update(cleanup)
            # records, then derived graphs: two writes of a kind each are cheaper than one of
            # both (bench/load_into.py)
            self._bulk_load(batch.records)
            self._bulk_load(derived + stamps for derived, stamps in batch.derived)

    def _bulk_load(self, texts: Iterable[str]) -> None:
        """Add N-Quads texts with the bulk loader, in parts of at most ``PART_QUADS`` quads:
        RocksDB takes the files of one hand-over whole or not at all."""
        for part in bulk_parts(texts):
            self.engine.bulk_load(part.encode("utf-8"), ox.RdfFormat.N_QUADS)

    def add_derived(self, quads: Iterable[ox.Quad] | str) -> None:
        """With the bulk loader: derived data, rewritten whole if a refresh fails half-way."""
        if isinstance(quads, str):
            self.engine.bulk_load(quads.encode("utf-8"), ox.RdfFormat.N_QUADS)
        else:
            self.engine.bulk_extend(quads)

    def remove_quads(self, quads: Iterable[ox.Quad]) -> None:
        engine = self.engine
        for quad in quads:
            engine.remove(quad)

    def exchange(self, removed: Iterable[ox.Quad], added: Iterable[ox.Quad],
                 graph: str | None = None) -> None:
        """One SPARQL Update: Oxigraph runs it as one transaction."""
        if text := exchange_update(removed, added, graph):
            self.engine.update(text)

    def recover(self) -> int:
        """Undo the bulk write the journal says was cut short (see ``journal``)."""
        journal = Journal.of(self.folder)
        return journal.recover(self.engine) if journal else 0

    def dump(self, output: IO[bytes], format: str) -> None:
        rdf_format = EXPORT_FORMATS[format]
        if rdf_format.supports_datasets:
            self.engine.dump(output, rdf_format)
        else:
            # Triples formats get the union of the graphs, each triple once.
            triples = {ox.Triple(q.subject, q.predicate, q.object) for q in self.engine}
            ox.serialize(triples, output, rdf_format)

    def text_index(self) -> TextIndex:
        """The tantivy index beside the store (in its folder's TEXT_INDEX; in memory beside a
        store in memory), opened at the first use."""
        if self._text_index is None:
            from policykg.graph.search.engines.tantivy_index import TantivyIndex

            folder = self.folder
            self._text_index = TantivyIndex(folder / TEXT_INDEX if folder else None,
                                            read_only=self.read_only)
        return self._text_index

    def compact(self) -> float | None:
        """Compact the on-disk indexes into their last level; the seconds it took (none when
        they already are). A load leaves its writes in many small files that RocksDB merges
        in the background of a later writer, never of a reader: until then every read looks
        through all of them (bench/store_reads.py measures what that costs)."""
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


def bulk_parts(texts: Iterable[str], most: int = PART_QUADS) -> Iterator[str]:
    """N-Quads texts joined into as few parts as hold ``most`` quads each (a text is never
    split: give one a record)."""
    part: list[str] = []
    size = 0
    for text in texts:
        quads = text.count("\n")
        if part and size + quads > most:
            yield "".join(part)
            part, size = [], 0
        part.append(text)
        size += quads
    if part:
        yield "".join(part)


def _open_writer(path: Path) -> ox.Store:
    """The store opened to write; StoreBusy when another process writes it (RocksDB's lock)."""
    try:
        return ox.Store(str(path))
    except OSError as error:
        if "lock" not in str(error).lower():
            raise
        raise StoreBusy(f"the store {path} is being written by another process (a load, "
                        "harvest, remove, reindex or compact, or a server starting): one "
                        "process writes a store at a time") from error


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def open_location(location: str | None, read_only: bool = False,
                  settings: object = None) -> OxigraphStore:
    """The store of an ``oxigraph:PATH`` location (or a plain path; None: in memory)."""
    if location is None:
        return OxigraphStore(None)
    return OxigraphStore(Path(location.removeprefix("oxigraph:")).expanduser(),
                         read_only=read_only)


if TYPE_CHECKING:
    _conforms: type[GraphStore] = OxigraphStore  # mypy: the class implements the interface
