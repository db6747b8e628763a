"""The write journal of an embedded store: what a batch written with Oxigraph's bulk loader is
putting in, so that a write cut short is undone before the next load.

A load writes each batch's graphs (records, entailments, the things they first name,
aggregates and the word index) with the bulk loader: it sorts the quads into files and hands
them to RocksDB, with no write-ahead log, memtable or per-key lock (a load of late batches
25-30% faster than one transaction a batch). RocksDB takes in the files of one hand-over for
every index at once, all or nothing, and Oxigraph hands over every million quads, so a write of
fewer quads (``PART_QUADS``) is whole or absent even after a kill; but Oxigraph promises no
atomicity for its bulk loader. So before a batch is written, the graphs it writes and the
publications whose words it indexes are listed in a file beside the store (written whole,
then renamed), and the file is deleted once the write returns. A load that finds the file
removes what it lists first: those records are then missing, not half there, and that load
writes them again like any record the store does not hold.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from policykg.graph.aggregates import refresh as aggregates
from policykg.graph.store.embedded import GraphStore, embedded_engine

FILE = "policykg-write-journal.json"
PART_QUADS = 500_000  # quads a bulk write takes at most: under Oxigraph's hand-over of 10^6


@dataclass(frozen=True)
class Entry:
    """What one write puts in: whole graphs, and the word index of some record graphs'
    publications (in the default graph)."""

    graphs: list[str]
    records: list[str]


class Journal:
    """The journal file of one embedded store on disk."""

    def __init__(self, store: GraphStore) -> None:
        self._store = store
        self.path = Path(store.path) / FILE  # type: ignore[attr-defined]

    @classmethod
    def of(cls, store: GraphStore) -> Journal | None:
        """The journal of a store that bulk-writes on disk; None for a remote or in-memory one."""
        if embedded_engine(store) is None or getattr(store, "path", None) is None:
            return None
        return cls(store)

    def pending(self) -> Entry | None:
        """The entry of a write that did not finish, if any."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        return Entry(data["graphs"], data["records"])

    @contextmanager
    def writing(self, entry: Entry) -> Iterator[None]:
        """Keep ``entry`` in the journal while the body writes it; clear it once it is written
        (an error leaves it, to be undone by ``recover``)."""
        temporary = self.path.with_suffix(".tmp")
        with open(temporary, "w", encoding="utf-8") as file:
            json.dump({"graphs": entry.graphs, "records": entry.records}, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self.path)
        yield
        self.path.unlink()

    def recover(self) -> int:
        """Undo a write that did not finish: remove the graphs and words it lists, then the
        entry. Returns how many graphs were listed (0: nothing to undo)."""
        entry = self.pending()
        if entry is None:
            return 0
        engine = embedded_engine(self._store)
        for graph in entry.graphs:
            engine.remove_graph(ox.NamedNode(graph))
        aggregates.remove_words(self._store, entry.records)
        self.path.unlink()
        return len(entry.graphs)


def recover(store: GraphStore) -> int:
    """Undo a bulk write of this store that a crash or kill cut short (see the module)."""
    journal = Journal.of(store)
    return journal.recover() if journal else 0


def bulk_write(engine: ox.Store, texts: Iterable[str]) -> None:
    """Add N-Quads texts with the bulk loader, as few writes as fit ``PART_QUADS`` each
    (a text is never split: give one a record)."""
    part: list[str] = []
    size = 0
    for text in texts:
        quads = text.count("\n")
        if part and size + quads > PART_QUADS:
            engine.bulk_load("".join(part).encode("utf-8"), ox.RdfFormat.N_QUADS)
            part, size = [], 0
        part.append(text)
        size += quads
    if part:
        engine.bulk_load("".join(part).encode("utf-8"), ox.RdfFormat.N_QUADS)
