"""The embedded store on disk, as other processes see it while it is written."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pyoxigraph as ox
import pytest

from policykg.graph.store.embedded import OxigraphStore
from policykg.graph.store.embedded.folder import FolderWatch, fingerprint

# Like a load, faster: a batch of graphs per transaction, flushed (a new file each time, so
# compactions keep deleting old ones), fifty times a second.
WRITER = textwrap.dedent("""
    import sys, time, pyoxigraph as ox
    store = ox.Store(sys.argv[1])
    print("open", flush=True)
    for batch in range(10_000):
        names = [ox.NamedNode(f"http://example.org/g{batch}-{n}") for n in range(100)]
        store.extend(ox.Quad(g, g, ox.Literal(batch), g) for g in names)
        store.flush()
        time.sleep(0.02)
""")


def test_a_read_only_store_follows_another_process_writing_and_compacting(tmp_path: Path):
    path = tmp_path / "store"
    OxigraphStore(path).close()
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE)
    try:
        assert writer.stdout.readline() == b"open\n"
        reader = OxigraphStore(path, read_only=True)
        counts = [len(reader.graph_names("http://example.org/")) for _ in range(150)]
        reader.close()
        assert writer.poll() is None, "the writer finished before the readers did"
        assert counts == sorted(counts) and counts[-1] > counts[0]
    finally:
        writer.kill()
        writer.wait()


def test_pages_and_named_queries_see_a_load_made_while_the_app_runs(vocab_store, tmp_path):
    from conftest import SAMPLE, policykg

    from policykg.webapp.app import create_app

    client = create_app(vocab_store).test_client()
    page = "/doc/publication/IDB-LM-00577"
    assert client.get(page).status_code == 404
    assert policykg(vocab_store, "load", "--quiet", str(SAMPLE)).returncode == 0
    assert client.get(page).status_code == 200
    listed = client.get("/api/queries/recent-publications",
                        headers={"Accept": "application/sparql-results+json"})
    assert "IDB-LM-00577" in listed.get_data(as_text=True)


def test_a_page_checks_the_store_folder_once_for_all_its_queries(vocab_store, monkeypatch):
    from conftest import SAMPLE, policykg

    from policykg.webapp.app import create_app

    assert policykg(vocab_store, "load", "--quiet", str(SAMPLE)).returncode == 0
    app = create_app(vocab_store)
    client, store = app.test_client(), app.extensions["policykg.store"]
    assert client.get("/doc/publication/IDB-LM-00577.html").status_code == 200  # warm
    checks = []
    watch = store._watch
    monkeypatch.setattr(store, "_watch", lambda: checks.append(1) or watch())
    assert client.get("/doc/publication/IDB-LM-00577.html").status_code == 200
    assert len(checks) == 1


def test_a_folder_watch_sees_every_write_without_listing_a_quiet_folder(tmp_path: Path):
    for name in ("CURRENT", "MANIFEST-000005", "000007.log", "000008.sst"):
        (tmp_path / name).write_text("x")
    hour_ago = time.time_ns() - 3600 * 10**9
    os.utime(tmp_path, ns=(hour_ago, hour_ago))  # quiet for long: its listing is kept
    watch = FolderWatch(tmp_path)
    first = watch()
    assert watch() == first
    assert {mark[0] for mark in first} == {".", "CURRENT", "MANIFEST-000005", "000007.log"}
    with open(tmp_path / "000007.log", "a") as log:  # a commit: appended to the log
        log.write("more")
    appended = watch()
    assert appended != first
    (tmp_path / "000009.log").write_text("x")  # a new log: the folder changes
    created = watch()
    assert created != appended and "000009.log" in {mark[0] for mark in created}
    (tmp_path / "000007.log").unlink()
    assert "000007.log" not in {mark[0] for mark in watch()}
    assert [mark[0] for mark in watch()[1:]] == [mark[0] for mark in fingerprint(tmp_path)]


def _quad(n: int) -> ox.Quad:
    return ox.Quad(ox.NamedNode(f"http://example.org/s{n}"), ox.NamedNode("http://example.org/p"),
                   ox.Literal(str(n)), ox.NamedNode("http://example.org/g"))


def test_within_a_snapshot_a_thread_reads_one_state_of_the_store(tmp_path: Path):
    writer = OxigraphStore(tmp_path / "store")
    reader = OxigraphStore(tmp_path / "store", read_only=True)
    try:
        writer.replace([], [_quad(1)])
        with reader.snapshot():
            before = reader.generation
            writer.replace([], [_quad(2)])
            assert len(reader.engine) == 1 and reader.generation == before
        assert len(reader.engine) == 2 and reader.generation != before
    finally:
        reader.close()
        writer.close()


def test_a_snapshot_is_per_thread(tmp_path: Path):
    writer = OxigraphStore(tmp_path / "store")
    reader = OxigraphStore(tmp_path / "store", read_only=True)
    seen: list[int] = []
    try:
        with reader.snapshot():
            writer.replace([], [_quad(1)])
            other = threading.Thread(target=lambda: seen.append(len(reader.engine)))
            other.start()
            other.join()
            assert len(reader.engine) == 0
        assert seen == [1]
    finally:
        reader.close()
        writer.close()


def flushed_writes(path: Path, times: int = 12) -> None:
    """Writes as a load leaves them: each flushed to files of its own, the writer gone before
    RocksDB merged them."""
    store = OxigraphStore(path)
    for batch in range(times):
        graph = ox.NamedNode(f"http://example.org/g{batch}")
        store.engine.extend(ox.Quad(ox.NamedNode(f"http://example.org/s{batch}-{n}"), graph,
                                    ox.Literal(f"a value long enough to be stored apart {n}"),
                                    graph) for n in range(3000))
        store.engine.flush()
    store.close()


def test_compacting_keeps_every_quad(tmp_path: Path):
    """(What it spares the readers, bench/store_reads.py measures: it depends on how RocksDB
    happened to merge files in the background, not reproducible in a small test.)"""
    path = tmp_path / "store"
    flushed_writes(path)
    store = OxigraphStore(path)
    quads = set(store.engine)
    assert store.compact() >= 0
    assert set(store.engine) == quads and len(quads) == 36_000
    store.close()
    assert set(OxigraphStore(path, read_only=True).engine) == quads


def test_a_store_read_only_is_not_compacted(tmp_path: Path):
    flushed_writes(tmp_path / "store", times=1)
    with pytest.raises(OSError, match="compacted"):
        OxigraphStore(tmp_path / "store", read_only=True).compact()


def test_closing_a_written_store_syncs_its_write_ahead_logs(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "store"
    store = OxigraphStore(path)
    graph = ox.NamedNode("http://example.org/g")
    store.replace([], [ox.Quad(graph, graph, ox.Literal("written"), graph)])
    synced, fsync = [], os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(
        Path(os.readlink(f"/proc/self/fd/{fd}")).name) or fsync(fd))
    store.close()
    logs = {log.name for log in path.glob("*.log")}
    assert logs and logs <= set(synced)  # the commit is on disk in its log, not only cached
    reader = OxigraphStore(path, read_only=True)
    assert reader.has_graph(graph.value)
    reader.close()
