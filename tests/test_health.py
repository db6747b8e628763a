"""/healthz: the store's reachability at once, its counts as last counted in the background."""

from __future__ import annotations

import threading
import time

import pyoxigraph as ox
from conftest import fetch

from policykg.graph.config import Settings
from policykg.graph.store.embedded import OxigraphStore
from policykg.webapp.app import create_app
from policykg.webapp.site import health

RECORD = ox.Quad(ox.NamedNode("http://example.org/graph/1"),
                 ox.NamedNode("http://www.w3.org/ns/prov#generatedAtTime"),
                 ox.Literal("2026-12-04T00:00:00", datatype=ox.NamedNode(
                     "http://www.w3.org/2001/XMLSchema#dateTime")),
                 ox.NamedNode("http://example.org/graph/1"))
OTHER = ox.Quad(ox.NamedNode("http://example.org/a"), ox.NamedNode("http://example.org/p"),
                ox.Literal("b"), ox.NamedNode("http://example.org/graph/2"))


class SlowCounts(OxigraphStore):
    """An in-memory store whose count of every triple takes a while (as at 100k records)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(None)
        self.seconds = seconds
        self.counting = threading.Event()
        self.counted = 0

    def query(self, sparql: str, **options: object) -> object:
        if "COUNT(*)" in sparql:
            self.counting.set()
            self.counted += 1
            time.sleep(self.seconds)
        return super().query(sparql, **options)


def _count(counter: health._Counts, store) -> dict | None:
    """Ask for the counts, wait for the count that starts, if any; its counts."""
    counter.get(store, "http://localhost:8000/")
    running = counter._running
    if running is not None:
        running.join(10)
    return counter.counts


def test_a_slow_count_does_not_hold_up_the_health_check(tmp_path):
    store = SlowCounts(seconds=3.0)
    client = create_app(Settings(home=str(tmp_path)), store=store).test_client()
    started = time.monotonic()
    first = client.get("/healthz")
    assert first.status_code == 200 and time.monotonic() - started < 2.5
    assert first.json["store"]["reachable"] is True and first.json["counts"] is None
    assert store.counting.is_set()
    time.sleep(3.0)
    later = client.get("/healthz").json
    assert later["counts"] == {"records": 0, "triples": 0} and later["counts_age_s"] < 60


def test_counts_are_ready_at_the_first_check_when_counting_is_quick(tmp_path):
    client = create_app(Settings(home=str(tmp_path)), store=OxigraphStore(None)).test_client()
    assert client.get("/healthz").json["counts"] == {"records": 0, "triples": 0}


def test_every_triple_is_counted_again_only_when_the_store_has_changed(monkeypatch):
    monkeypatch.setattr(health, "COUNTS_TTL", 0.0)  # every check looks at the store's version
    store, counter = SlowCounts(seconds=0.0), health._Counts()
    assert _count(counter, store) == {"records": 0, "triples": 0}
    for _ in range(5):
        _count(counter, store)
    assert store.counted == 1  # a health check polled often does not recount a still store
    store.replace([], [RECORD])
    assert _count(counter, store) == {"records": 1, "triples": 1}
    assert store.counted == 2


def test_a_read_only_store_is_counted_again_after_a_write_to_its_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(health, "COUNTS_TTL", 0.0)
    writer = OxigraphStore(tmp_path / "store")
    reader, counter = OxigraphStore(tmp_path / "store", read_only=True), health._Counts()
    try:
        assert _count(counter, reader) == {"records": 0, "triples": 0}
        writer.replace([], [OTHER])  # no record's load time changes: the generation does
        assert _count(counter, reader) == {"records": 0, "triples": 1}
    finally:
        reader.close()
        writer.close()


def test_the_health_check_warns_when_the_iris_do_not_resolve_where_it_answers(live_server):
    """The store was loaded under http://localhost:8000/; this server answers on another port,
    so the links in its RDF lead elsewhere: the check says so, and what to do."""
    body = fetch(live_server.url + "/healthz").json()
    assert body["status"] == "warning"
    assert body["iris"]["store_base"] == "http://localhost:8000/"
    assert any(live_server.url in warning and "policykg rebase" in warning
               for warning in body["warnings"])
