"""Loading: records in, validated and inferred graphs out, one batch at a time.

read -> key (the publication it updates: ``identity``) -> (unchanged? skip) -> prepare: map,
validate (SHACL, batched), materialise entailments (``prepare``, in worker processes) ->
quarantine the rejected -> write each record's graphs, replacing what was there.

Three things run at once: worker processes prepare the next batches, the loading process reads
records and settles each prepared batch in order (quarantine, unchanged records, which graphs to
write), and a writer thread writes the previous batch to the store (Oxigraph releases the GIL
while it writes). A killed load leaves every record wholly in or out: a remote store writes each
batch in one transaction; the embedded store writes it with Oxigraph's bulk loader behind a
journal (policykg.graph.store.journal), and the next load first removes what a write cut short had
put in. What the loader knows of the store (content hashes, graphs written) is read once at the
start and kept up to date, so that no batch reads more of the store as it grows; only replacing
or deleting records reads it (their previous graphs).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain, islice
from typing import TypeVar

from policykg.graph import aggregates
from policykg.graph.aggregates.pair_counts import Members
from policykg.graph.config import Settings
from policykg.graph.inference.reference import Reference
from policykg.graph.inference.reference import prepare as prepare_reference
from policykg.graph.loading import labels
from policykg.graph.loading.identity import Identities
from policykg.graph.loading.prepare import RECORD_KIND, Context, Prepared, RecordJob, prepare
from policykg.graph.loading.quarantine import Quarantine
from policykg.graph.loading.summary import LoadSummary
from policykg.graph.loading.workers import Pending, Preparers, default_workers
from policykg.graph.mapping.rules import Mapping, record_key, unmapped_fields
from policykg.graph.rdf.uris import Uris
from policykg.graph.readers.record import NotRecords, ReadError, Record
from policykg.graph.search.document import SearchDocument
from policykg.graph.search.indexing import TextIndexing
from policykg.graph.store import GraphStore, WriteBatch
from policykg.graph.store.ledger import claim_base

Item = Record | ReadError | NotRecords
T = TypeVar("T")


@dataclass
class _Batch:
    """A batch on its way: its items, each record's (key, content hash), what was sent to be
    prepared (by key) and how to get the result."""

    items: list[Item]
    keys: list[tuple[str, str] | None]
    sent: dict[str, RecordJob]
    pending: Pending


@dataclass
class Loader:
    """Loads records into a store under a mapping; one instance per load run.

    ``workers``: processes that prepare batches next to the loading process, which prepares
    some too (None: one per CPU but one, at most 4; 0: none). A load of a single batch never
    starts them.
    """

    store: GraphStore
    uris: Uris
    mapping: Mapping
    quarantine: Quarantine
    batch_size: int = 1000
    reference: Reference | None = None
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    workers: int | None = None

    @classmethod
    def for_settings(cls, store: GraphStore, settings: Settings,
                     mapping: str | None = None) -> Loader:
        """The loader the command line, a harvest and the server use: the settings' base,
        mapping (``mapping``: another mapping file), quarantine and batch size."""
        return cls(store, Uris(settings.base), Mapping.load(mapping or settings.mapping),
                   Quarantine(settings.quarantine_dir), batch_size=settings.batch_size)

    def __post_init__(self) -> None:
        self._undone = self.store.recover()  # before anything reads the store
        claim_base(self.store, self.uris.base)  # raises BaseMismatch: nothing is written
        if self.reference is None:
            self.reference = prepare_reference(self.store, self.uris)
        self._aggregates = aggregates.AggregateIndex(self.store, self.uris)
        hierarchy = self._aggregates.hierarchy
        self._texts = TextIndexing(self.store, self.uris, hierarchy)
        self._context = Context.of(self.mapping, self.uris, self.reference, hierarchy,
                                   self._aggregates.texts)
        self._salt = f"{self.mapping.digest}|{self.uris.base}|{self.reference.digest}"
        self._known = _Known(self.store, self.uris)
        self._labels = labels.EntityLabels(self.store)
        self._identities = Identities(self.store, self.uris, self.mapping,
                                      self.reference.lookups)

    def load(self, items: Iterable[Item],
             progress: Callable[[int], None] | None = None) -> LoadSummary:
        """Load records batch by batch; ``progress`` hears of each batch once it is written."""
        summary = LoadSummary(undone=self._undone)
        self._undone = 0
        self._aggregates.begin(first=self._first_load())
        self._texts.begin()
        iterator = iter(items)
        first = list(islice(iterator, self.batch_size))
        following = list(islice(iterator, 1))
        stream = batches(chain(first, following, iterator), self.batch_size) if following \
            else iter([first] if first else [])
        workers = default_workers() if self.workers is None else self.workers
        preparer = Preparers(self._context, workers if following else 0)
        writer = BatchWriter(self.store, progress, self._aggregates, self._texts)
        failed = True
        try:
            in_flight: deque[_Batch] = deque()
            for batch in stream:
                in_flight.append(self._submit(batch, preparer))
                if len(in_flight) >= preparer.depth:
                    self._settle_next(in_flight, preparer, summary, writer)
            while in_flight:
                self._settle_next(in_flight, preparer, summary, writer)
            writer.wait()
            failed = False
        finally:
            preparer.close()
            writer.close()
            if failed:  # as a process that dies would
                self._aggregates.abandon()
                self._texts.abandon()
                self._texts.close()
        # Every batch is written here: what is computed over the whole store goes after this
        # (also after a load that found a change cut short by a crash: nothing else to do).
        summary.aggregates = self._aggregates.finish()
        try:
            summary.texts = self._texts.finish()
        finally:
            self._texts.close()
        return summary

    def _first_load(self) -> bool:
        """Whether this is the first load of a store in this process: it holds no record
        graph (a look at a few graph names: record graphs are about half of them)."""
        return self.store.in_process and not self.store.any_graph(self._record_graph(""))

    def _submit(self, items: list[Item], preparer: Preparers) -> _Batch:
        """Send a batch's records to be prepared, except those unchanged as far as is known."""
        generated = self.now().isoformat(timespec="seconds")
        keys: list[tuple[str, str] | None] = []
        sent: dict[str, RecordJob] = {}
        for item in items:
            if not isinstance(item, Record) or item.deleted:
                keys.append(None)
                continue
            key = self._identities.key_for(item, record_key(item, self.mapping), self._held)
            digest = item.content_hash(self._salt)
            keys.append((key, digest))
            if self._known.hash_of(self._record_graph(key)) != digest:
                sent[key] = RecordJob(item, key, digest, generated)
        return _Batch(items, keys, sent, preparer.submit(list(sent.values())))

    def _settle_next(self, in_flight: deque[_Batch], preparer: Preparers,
                     summary: LoadSummary, writer: BatchWriter) -> None:
        """Settle the oldest batch in flight, first preparing a later one here if the oldest is
        still with a worker."""
        preparer.work_while_waiting(in_flight[0].pending, (b.pending for b in in_flight))
        self._settle(in_flight.popleft(), summary, writer)

    def _settle(self, batch: _Batch, summary: LoadSummary, writer: BatchWriter) -> None:
        """Take a prepared batch in: count and quarantine, then hand its graphs to the writer.

        Whether a record is unchanged is decided again here, against the hashes of every batch
        settled before (they may have been in flight when this batch was sent)."""
        prepared = {p.key: p for p in batch.pending()}
        candidates: dict[str, tuple[Record, str]] = {}
        for item, keyed in zip(batch.items, batch.keys, strict=True):
            if isinstance(item, NotRecords):
                self._skip(item, summary)
                continue
            summary.read += 1
            if isinstance(item, ReadError):
                self._reject_input(item, summary)
            elif item.deleted:
                writer.wait()
                self._delete(item, summary)
            else:
                self.quarantine.release_input(item.source, item.source_id)
                summary.unmapped.update(unmapped_fields(item, self.mapping))
                assert keyed is not None  # a record read (not deleted) is keyed
                key, digest = keyed
                if key in candidates:  # read twice in the batch: the last one read is loaded
                    self._duplicate(candidates.pop(key)[0], item, key, summary)
                if self._known.hash_of(self._record_graph(key)) == digest:
                    summary.unchanged += 1
                    self.quarantine.release(key)
                    continue
                candidates[key] = (item, digest)
        late = [RecordJob(record, key, digest, self.now().isoformat(timespec="seconds"))
                for key, (record, digest) in candidates.items()
                if key not in batch.sent or batch.sent[key].record is not record]
        prepared.update((p.key, p) for p in prepare(late, self._context))
        accepted = self._accepted(candidates, prepared, summary)
        self._write(accepted, summary, writer, len(batch.items))

    def _accepted(self, candidates: dict[str, tuple[Record, str]],
                  prepared: dict[str, Prepared],
                  summary: LoadSummary) -> list[tuple[Prepared, str]]:
        accepted = []
        for key, (record, digest) in candidates.items():
            result = prepared[key]
            summary.warnings += sum(p.severity != "Violation" for p in result.problems)
            if result.rejected:
                summary.rejected += 1
                rejection = self.quarantine.reject_record(key, record, result.problems)
                summary.messages.extend(rejection.lines())
                continue
            summary.messages.extend(
                f"{record.source} [{key}]: {problem}" for problem in result.problems
            )
            accepted.append((result, digest))
        return accepted

    @staticmethod
    def _duplicate(earlier: Record, later: Record, key: str, summary: LoadSummary) -> None:
        """A record that a later one of the same load has the key of: not loaded, said so."""
        summary.duplicates += 1
        summary.messages.append(
            f"{earlier.source} [{earlier.source_id}]: {key} is read again later in this load "
            f"({later.source} [{later.source_id}]): the last one read is loaded")

    def _skip(self, item: NotRecords, summary: LoadSummary) -> None:
        """A file that holds no records: named, not quarantined (and no longer, if it was)."""
        summary.skipped.append(item)
        summary.messages.append(str(item))
        self.quarantine.release_input(item.source, None)

    def _reject_input(self, error: ReadError, summary: LoadSummary) -> None:
        summary.rejected += 1
        summary.messages.extend(self.quarantine.reject_input(error).lines())

    def _changes(self) -> None:
        """Before the load's first change to the records: the tallies and the text index are
        out of date."""
        self._aggregates.changing()
        self._texts.changing()

    def _delete(self, record: Record, summary: LoadSummary) -> None:
        graphs = self.store.graphs_with_source(record.source_id)
        if not graphs:
            summary.not_held += 1
            return
        self._changes()
        for graph in graphs:
            self._known.hashes[graph] = None
        self._known.removed(remove_records(self.store, self.uris, graphs, self._aggregates,
                                           self._texts))
        summary.deleted += 1

    def _write(self, accepted: list[tuple[Prepared, str]], summary: LoadSummary,
               writer: BatchWriter, count: int) -> None:
        """Write the accepted records' graphs, and the graphs of the things they are the first
        to name. New records only: in the background. Replacements: once the store holds every
        earlier batch, as their previous graphs are read (to drop things no record names)."""
        if accepted:
            self._changes()
        remove: list[str] = []
        texts: list[str] = []
        derived: list[str] = []
        stamps: list[str] = []
        written: list[str] = []
        previous: list[str] = []
        records: list[str] = []
        members: dict[str, Members] = {}
        documents: list[SearchDocument] = []
        undo: list[str] = []  # takes out labels added to graphs the batch does not write whole
        for result, digest in accepted:
            record_graph = self._record_graph(result.key)
            records.append(record_graph)
            members[aggregates.publication_of(record_graph)] = result.members
            if result.document is not None:
                documents.append(result.document)
            aggregate = aggregates.aggregate_graph(record_graph)
            written.append(aggregate)
            if self._known.hash_of(record_graph) is not None:  # its graphs are rewritten
                summary.replaced += 1
                previous.append(record_graph)
                remove += [record_graph, inferred_graph_of(record_graph), aggregate]
            else:  # a record the store lacks has no aggregate graph either (removing a
                # record removes it; a write cut short is undone by the journal)
                summary.loaded += 1
            chunks = []
            for chunk in result.chunks:
                if chunk.entity:
                    if self._known.has_graph(chunk.graph):  # its labels in other languages
                        added = self._labels.missing(chunk.graph, chunk.nquads)
                        if added:
                            chunks.append("".join(f"{quad} .\n" for quad in added))
                            undo.append(labels.undo(added))
                        continue
                    self._known.graphs[chunk.graph] = True
                    self._labels.written(chunk.graph, chunk.nquads)
                chunks.append(chunk.nquads)
                written += [chunk.graph, inferred_graph_of(chunk.graph)]
            texts.append("".join(chunks))
            derived.append(result.aggregates[0])
            stamps.append(result.aggregates[1])
            self._known.hashes[record_graph] = digest
            self.quarantine.release(result.key)
        batch = Written(WriteBatch(
            remove=remove, records=texts, derived=list(zip(derived, stamps, strict=True)),
            graphs=written, undo=undo), members, documents)
        if not previous:
            writer.submit(batch, count)
            return
        writer.wait()
        orphans = linked_entities(self.store, self.uris, previous)
        batch.write(self.store, self._aggregates, self._texts)
        self._known.removed(collect_orphans(self.store, self.uris, orphans))
        writer.written(count)

    def _record_graph(self, key: str) -> str:
        return str(self.uris.graph(RECORD_KIND, key))

    def _held(self, key: str) -> bool:
        """Whether the store holds (or this load has written) the publication of a key."""
        return self._known.hash_of(self._record_graph(key)) is not None


class _Known:
    """What the loader knows of the store: the content hash of each record graph (None: no
    such record), and which graphs exist. Kept up to date by the loader as it settles batches,
    so it is right about every graph of a batch still being written.

    An embedded Oxigraph store is asked graph by graph, as records name them: each look-up is
    an index seek, and what a load costs does not grow with the store. Another store (a remote
    one) is read whole once, at the start: one paged query rather than a request per graph.
    """

    def __init__(self, store: GraphStore, uris: Uris) -> None:
        self._store = store
        self._lazy = store.in_process
        self.hashes: dict[str, str | None] = {}
        self.graphs: dict[str, bool] = {}
        if not self._lazy:
            self.hashes.update(store.graph_hashes(str(uris.graph(RECORD_KIND, ""))))
            self.graphs.update(dict.fromkeys(store.graph_names(uris.base + "graph/"), True))

    def hash_of(self, graph: str) -> str | None:
        """The content hash of a record graph, None if there is no such graph."""
        if graph in self.hashes or not self._lazy:
            return self.hashes.get(graph)
        self.hashes[graph] = digest = self._store.graph_hash(graph)
        return digest

    def has_graph(self, graph: str) -> bool:
        """Whether a graph exists (or is being written)."""
        if graph in self.graphs or not self._lazy:
            return self.graphs.get(graph, False)
        present = self._store.has_graph(graph)
        self.graphs[graph] = present
        return present

    def removed(self, graphs: Iterable[str]) -> None:
        """Some graphs were removed from the store."""
        for graph in graphs:
            self.graphs[graph] = False


RAMP = (8, 4, 2)  # the first batches of a long run: 1/8, 1/4 and 1/2 of the batch size


def batches(items: Iterator[T], size: int) -> Iterator[list[T]]:
    """Lists of ``size`` items, the first ones smaller (RAMP): a long run's progress shows
    within seconds of its start, not after a whole batch."""
    for divisor in RAMP:
        if size // divisor:
            batch = list(islice(items, size // divisor))
            if not batch:
                return
            yield batch
    while batch := list(islice(items, size)):
        yield batch


class BatchWriter:
    """Writes batches to the store in a background thread, one at a time, in order, and tells
    ``progress`` of each once it is written."""

    def __init__(self, store: GraphStore, progress: Callable[[int], None] | None,
                 index: aggregates.AggregateIndex | None = None,
                 texts: TextIndexing | None = None) -> None:
        self._store = store
        self._progress = progress
        self._aggregates = index  # told of each batch's publications
        self._texts = texts  # given each batch's search documents
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="policykg-writer")
        self._pending: tuple[Future[None], int] | None = None

    def submit(self, batch: Written, count: int) -> None:
        """Write a batch once the previous one is written."""
        self.wait()
        future = self._executor.submit(batch.write, self._store, self._aggregates, self._texts)
        self._pending = (future, count)

    def wait(self) -> None:
        """Return once every batch handed over is written (raise what writing one raised)."""
        if self._pending is not None:
            future, count = self._pending
            self._pending = None
            future.result()
            self.written(count)

    def written(self, count: int) -> None:
        """A batch of ``count`` items is in the store."""
        if self._progress:
            self._progress(count)

    def close(self) -> None:
        """Stop the thread once what it is writing is written (even after an error)."""
        self._executor.shutdown(wait=True)


@dataclass(frozen=True)
class Written:
    """What a batch writes to the store, what its publications' members are (told to the pair
    counts file once the batch is in) and their search documents (given to the text index)."""

    batch: WriteBatch
    members: dict[str, Members] = field(default_factory=dict)  # publication -> its members
    documents: list[SearchDocument] = field(default_factory=list)

    def write(self, store: GraphStore, index: aggregates.AggregateIndex | None = None,
              texts: TextIndexing | None = None) -> None:
        """Write it to a store, then tell the aggregate ``index`` and the text index."""
        store.write_batch(self.batch)
        if index is not None:
            index.tell(self.members)
        if texts is not None:
            texts.write(self.documents)


def inferred_graph_of(graph: str) -> str:
    """The graph of the entailments of a graph: {base}graph/K/X -> {base}graph/inferred/K/X."""
    return graph.replace("/graph/", "/graph/inferred/", 1)


def linked_entities(store: GraphStore, uris: Uris, record_graphs: list[str]) -> set[str]:
    """The things (other than publications) that some record graphs link to."""
    entities = set()
    for graph in record_graphs:
        for iri in store.objects_of(graph):
            kind_key = uris.split(iri)
            if kind_key and kind_key[0] != RECORD_KIND:
                entities.add(iri)
    return entities


def collect_orphans(store: GraphStore, uris: Uris, candidates: set[str]) -> set[str]:
    """Remove the graphs of things no record links to any more; return the graphs removed."""
    orphaned = set()
    for iri in candidates:
        kind_key = uris.split(iri)
        assert kind_key is not None  # things under {base}id/ (linked_entities)
        kind, key = kind_key
        graph = str(uris.graph(kind, key))
        records = str(uris.graph(RECORD_KIND, ""))
        if store.has_graph(graph) and not store.is_referenced(iri, within=records):
            orphaned.add(graph)
    if orphaned:
        store.replace([name for g in orphaned for name in (g, inferred_graph_of(g))], [])
    return orphaned


def remove_records(store: GraphStore, uris: Uris, record_graphs: list[str],
                   index: aggregates.AggregateIndex | None = None,
                   texts: TextIndexing | None = None) -> set[str]:
    """Remove record graphs, their entailments and aggregates, and the things only they
    linked to; tell the aggregate ``index`` and the text index (when the caller keeps them)
    that their publications are gone."""
    orphans = linked_entities(store, uris, record_graphs)
    store.replace([name for g in record_graphs
                   for name in (g, inferred_graph_of(g), aggregates.aggregate_graph(g))], [])
    publications = [aggregates.publication_of(g) for g in record_graphs]
    if index is not None:
        index.tell({publication: {} for publication in publications})
    if texts is not None:
        texts.write([], publications)
    return collect_orphans(store, uris, orphans)
