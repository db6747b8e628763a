"""A read-only store reads a private snapshot of the folder (store/embedded/read_snapshot.py):
what a writer in another process compacts away after the open stays readable, and the
snapshots go away once nothing reads them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from policykg.graph.store.embedded import OxigraphStore, read_snapshot

EX = "http://example.org/"
GRAPHS = 40
QUADS_PER_GRAPH = 500
COUNT = "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }"


def written(path: Path) -> Path:
    """A store of several table files, as bulk loads leave it."""
    store = ox.Store(str(path))
    for graph in range(GRAPHS):
        quads = "".join(f'<{EX}s{n}> <{EX}p> "{n}" <{EX}g{graph}> .\n'
                        for n in range(QUADS_PER_GRAPH))
        store.bulk_load(quads.encode(), ox.RdfFormat.N_QUADS)
    del store
    return path


def compact_in_another_process(path: Path) -> None:
    """What a load's compaction does to the files a reader opened on: rewrites and deletes them
    (here the store is rewritten whole, then compacted: only the strings' files stay)."""
    code = ("import sys, pyoxigraph as ox; store = ox.Store(sys.argv[1]); quads = list(store); "
            "store.clear(); store.extend(quads); store.optimize()")
    subprocess.run([sys.executable, "-c", code, str(path)], check=True)


def table_files(path: Path) -> set[str]:
    return {name for name in os.listdir(path) if name.endswith(".sst")}


def test_a_read_only_store_reads_on_after_a_writer_deleted_the_files_it_opened(tmp_path: Path):
    path = written(tmp_path / "store")
    before = table_files(path)
    reader = OxigraphStore(path, read_only=True)
    with reader.snapshot():  # as a query that runs while the writer compacts
        compact_in_another_process(path)
        assert len(before - table_files(path)) > len(before) / 2, "the compaction deleted little"
        rows = list(reader.query("SELECT ?g ?s ?o { GRAPH ?g { ?s ?p ?o } }"))
        assert len(rows) == GRAPHS * QUADS_PER_GRAPH
        assert int(next(iter(reader.query(COUNT)))["n"].value) == GRAPHS * QUADS_PER_GRAPH
    reader.close()


def test_a_snapshot_is_removed_when_its_store_closes(tmp_path: Path):
    path = written(tmp_path / "store")
    reader = OxigraphStore(path, read_only=True)
    assert len(os.listdir(path / read_snapshot.FOLDER)) == 1
    reader.close()
    assert os.listdir(path / read_snapshot.FOLDER) == []


def test_a_superseded_snapshot_is_removed_after_the_grace_period(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = written(tmp_path / "store")
    snapshots = read_snapshot.Snapshots(path)
    first = snapshots.take()
    second = snapshots.take()
    assert first.exists() and second.exists()  # a query may still read the first
    monkeypatch.setattr(read_snapshot, "GRACE_SECONDS", 0.0)
    third = snapshots.take()
    assert not first.exists() and second.exists() and third.exists()  # second: just replaced
    snapshots.remove_expired()  # as the store's next use does
    assert not second.exists() and third.exists()
    snapshots.close()


@pytest.mark.parametrize("opener", ["reader", "writer"])
def test_the_snapshots_of_a_process_that_is_gone_are_removed_by_the_next_open(
        tmp_path: Path, opener: str):
    path = written(tmp_path / "store")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    orphan = path / read_snapshot.FOLDER / f"{gone}-0"
    orphan.mkdir(parents=True)
    mine = read_snapshot.Snapshots(path)
    alive = mine.take()
    store = OxigraphStore(path, read_only=opener == "reader")
    assert not orphan.exists() and alive.exists()
    store.close()
    mine.close()


def test_a_snapshot_is_not_taken_while_the_manifest_changes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = written(tmp_path / "store")
    marks = iter([(1, 1), (2, 2), (2, 2), (2, 2)])  # changed during the first linking only
    monkeypatch.setattr(read_snapshot, "_mark", lambda _: next(marks))
    snapshots = read_snapshot.Snapshots(path)
    taken = snapshots.take()
    assert taken is not None and taken.name.endswith(tuple("0123456789"))
    assert os.listdir(path / read_snapshot.FOLDER) == [taken.name]  # the first was dropped
    snapshots.close()
