"""The write journal of an embedded store: what a batch written with Oxigraph's bulk loader is
putting in, so that a write cut short is undone before the next load.

The bulk loader sorts the quads into files and hands them to RocksDB, with no write-ahead log,
memtable or per-key lock (faster than a transaction: bench/load_into.py). RocksDB takes in the
files of one hand-over for every index at once, all or nothing, and Oxigraph hands over every
million quads, so a write of fewer quads (``PART_QUADS``) is whole or absent even after a
kill; but Oxigraph promises no atomicity for its bulk loader. So before a batch is written,
the graphs it writes and the updates that take out the rest of it are listed in a file beside
the store (written whole, then renamed), and the file is deleted once the write returns. A
load that finds the file undoes what it lists first: those records are then missing, not half
there, and that load writes them again like any record the store does not hold.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

FILE = "policykg-write-journal.json"


@dataclass(frozen=True)
class JournalEntry:
    """What one write puts in: whole graphs, and SPARQL updates that remove the rest."""

    graphs: list[str]
    undo: list[str]


class Journal:
    """The journal file of one embedded store on disk."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / FILE

    @classmethod
    def of(cls, folder: Path | None) -> Journal | None:
        """The journal of the store in ``folder``; None for a store in memory (nothing there
        survives a crash)."""
        return None if folder is None else cls(folder)

    def pending(self) -> JournalEntry | None:
        """The entry of a write that did not finish, if any."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        return JournalEntry(data["graphs"], data.get("undo", []))

    @contextmanager
    def writing(self, entry: JournalEntry) -> Iterator[None]:
        """Keep ``entry`` in the journal while the body writes it; clear it once it is written
        (an error leaves it, to be undone by ``recover``)."""
        temporary = self.path.with_suffix(".tmp")
        with open(temporary, "w", encoding="utf-8") as file:
            json.dump({"graphs": entry.graphs, "undo": entry.undo}, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self.path)
        yield
        self.path.unlink()

    def recover(self, engine: ox.Store) -> int:
        """Undo a write that did not finish: remove the graphs it lists, run its undo
        updates, then drop the entry. Returns how many graphs were listed (0: nothing to
        undo)."""
        entry = self.pending()
        if entry is None:
            return 0
        for graph in entry.graphs:
            engine.remove_graph(ox.NamedNode(graph))
        for update in entry.undo:
            engine.update(update)
        self.path.unlink()
        return len(entry.graphs)
