"""Private snapshots of an embedded store's folder, for reading it while another process writes.

A read-only RocksDB open reads the list of the store's files (the MANIFEST) and opens most of
them only when a query first needs them. A writer in another process (a load) compacts
meanwhile and deletes files that list still names; a query that then reaches one gets "No such
file", or, inside some of Oxigraph's operators (COUNT, GROUP BY), no error at all but an
evaluation that never ends and allocates without bound (seen with a test polling the store
during a load).

So a read-only store opens a snapshot of its own: a folder under ``readers/`` in the store
folder where every table file and write-ahead log is a hard link (nothing is copied but
CURRENT, the MANIFEST and the small OPTIONS files). What the writer deletes afterwards stays
readable through the links. The snapshot is consistent when the MANIFEST did not change while
the links were made: the writer deletes a file only after a MANIFEST edit that drops it, and
names a new one only once it is written. A changed MANIFEST means taking the snapshot again.

A snapshot is removed by the store that took it at its first use once a newer one has
replaced it for ``GRACE_SECONDS`` (a query still reading it meanwhile keeps working), or when
the store is closed; snapshots of processes that are gone are removed by the next snapshot
taken, or by the next writer's open. Where links cannot be made (another user's store, a file
system without them), the store is opened in place.
"""

from __future__ import annotations

import itertools
import os
import shutil
import threading
import time
from pathlib import Path

FOLDER = "readers"
GRACE_SECONDS = 120.0  # a superseded snapshot is kept this long: 4 times a query's time limit
ATTEMPTS = 20
LINKED = (".sst", ".log", ".blob")  # table files, write-ahead logs, blob files
COPIED = ("CURRENT", "IDENTITY", "OPTIONS-")  # and the MANIFEST that CURRENT names

_numbers = itertools.count()


class Snapshots:
    """The snapshots one read-only store takes of its folder, and their removal."""

    def __init__(self, store: Path) -> None:
        self.store = Path(store)
        self.folder = self.store / FOLDER
        self._superseded: list[tuple[float, Path]] = []
        self._current: Path | None = None
        self._lock = threading.Lock()  # the threads of a server share one store

    def take(self) -> Path | None:
        """A new consistent snapshot of the store folder (the one before it superseded); None
        where hard links cannot be made or the folder never held still long enough."""
        self.remove_expired()
        try:
            self.folder.mkdir(exist_ok=True)
        except OSError:
            return None
        remove_orphans(self.store)
        for _ in range(ATTEMPTS):
            target = self.folder / f"{os.getpid()}-{next(_numbers)}"
            try:
                consistent = link_folder(self.store, target)
            except OSError:
                shutil.rmtree(target, ignore_errors=True)
                return None
            if consistent:
                with self._lock:
                    if self._current is not None:
                        self._superseded.append((time.monotonic(), self._current))
                    self._current = target
                return target
            shutil.rmtree(target, ignore_errors=True)
        return None

    def close(self) -> None:
        """Remove every snapshot this store took (its reads are over)."""
        with self._lock:
            paths = [path for _, path in self._superseded] + [self._current]
            self._superseded, self._current = [], None
        for path in paths:
            if path is not None:
                shutil.rmtree(path, ignore_errors=True)

    def remove_expired(self) -> None:
        """Remove the snapshots replaced at least ``GRACE_SECONDS`` ago (cheap when none)."""
        if not self._superseded:
            return
        now = time.monotonic()
        with self._lock:
            expired = [path for since, path in self._superseded if now - since >= GRACE_SECONDS]
            self._superseded = [(since, path) for since, path in self._superseded
                                if now - since < GRACE_SECONDS]
        for path in expired:
            shutil.rmtree(path, ignore_errors=True)


def link_folder(store: Path, target: Path) -> bool:
    """Hard-link the store's files into ``target`` (copying the small ones); whether the
    MANIFEST stayed the same meanwhile, so that every file it names was linked."""
    current = (store / "CURRENT").read_bytes()
    manifest = current.decode("ascii").strip()
    before = _mark(store / manifest)
    target.mkdir()
    if before is None:
        return False  # replaced by a newer MANIFEST since CURRENT was read
    for name in os.listdir(store):
        source = store / name
        try:
            if name.endswith(LINKED):
                os.link(source, target / name)
            elif name.startswith(COPIED) or name == manifest:
                shutil.copyfile(source, target / name)
        except FileNotFoundError:
            continue  # deleted since the listing: the MANIFEST changed, seen below
    return (store / "CURRENT").read_bytes() == current and _mark(store / manifest) == before


def _mark(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_size, stat.st_mtime_ns


def remove_orphans(store: Path) -> None:
    """Remove the snapshots of a store folder taken by processes that are no longer running
    (a server's workers stopped without closing their store, a killed query)."""
    try:
        entries = list(os.scandir(store / FOLDER))
    except OSError:
        return
    for entry in entries:
        pid = entry.name.partition("-")[0]
        if pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(entry.path, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
