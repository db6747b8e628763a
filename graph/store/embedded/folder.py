"""The folder of an embedded store on disk, as other processes see it: opening it read-only
while a writer compacts it, telling from a few stat calls whether it was written since, and
making what was written durable.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pyoxigraph as ox

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
    names, sizes and times of CURRENT, MANIFEST-* and the write-ahead logs (the folder listed;
    FolderWatch reads it again in a few stat calls)."""
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


def sync_logs(path: Path) -> None:
    """Make the write-ahead logs of a store folder durable. RocksDB writes each commit to its
    log without fsync; what its memtables hold (the transactions since their last flush: a
    load's removals, marks and tallies) is on disk only there, and a close does not flush them.
    ``Store.flush()`` would, but waits for the compactions a batch left (seconds in a big
    store): syncing the logs keeps the same promise at once, and the next open replays them."""
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
