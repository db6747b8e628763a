"""The embedded store is written with Oxigraph's bulk loader behind a journal: a write cut short
is undone by the next load, which then writes those records like any other
(policykg.graph.store.journal). The same promise with a real kill: test_loading.py."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_loading import PKG_WORD, page, write

from policykg.graph.config import Settings
from policykg.graph.loading import loader as pipeline
from policykg.graph.loading.loader import Loader
from policykg.graph.loading.quarantine import Quarantine
from policykg.graph.mapping.rules import Mapping
from policykg.graph.rdf.uris import Uris
from policykg.graph.readers import read
from policykg.graph.store import journal
from policykg.graph.store.embedded import open_store
from policykg.graph.store.journal import Journal

BASE = "http://localhost:8000/"
NUMBERS = [f"IDB-T-{n:03d}" for n in range(6)]


def load(store, home: Path, numbers: list[str]) -> pipeline.LoadSummary:
    """Load the sample page under some publication numbers, in one batch."""
    folder = home / "pages"
    folder.mkdir(exist_ok=True)
    paths = [write(folder, f"{number}.txt", page(number)) for number in numbers]
    loader = Loader(store, Uris(BASE), Mapping.load(), Quarantine(home / "quarantine"),
                    workers=0, now=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    return loader.load(item for path in paths for item in read(str(path)))


def sizes(store, number: str) -> tuple[int, int, int, int]:
    """Quads of a publication's record graph, entailments and aggregates, and its words."""
    graphs = [f"{BASE}graph/{kind}publication/{number}" for kind in ("", "inferred/",
                                                                      "aggregates/")]
    counts = Counter(str(q.graph_name.value) for g in graphs for q in store.quads(g))
    words = store.query(f"SELECT ?w {{ <{BASE}id/publication/{number}> <{PKG_WORD}> ?w }}")
    return (*(counts[g] for g in graphs), len(list(words)))


def test_a_write_cut_short_is_undone_by_the_next_load_which_then_completes_it(
        vocab_store: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    store = open_store(vocab_store.store_location, settings=vocab_store)
    load(store, tmp_path, NUMBERS[:3])
    whole = sizes(store, NUMBERS[0])
    assert all(whole)

    def killed_after_one_record(engine, texts):
        journal.bulk_write(engine, list(texts)[:1])
        raise RuntimeError("killed")

    monkeypatch.setattr(pipeline, "bulk_write", killed_after_one_record)
    with pytest.raises(RuntimeError, match="killed"):
        load(store, tmp_path, NUMBERS[3:])
    assert sizes(store, NUMBERS[3])[0] == whole[0]  # the first record went in, not the rest
    assert sizes(store, NUMBERS[4]) == (0, 0, 0, 0)
    pending = Journal(store).pending()
    assert pending and f"{BASE}graph/publication/{NUMBERS[5]}" in pending.graphs

    monkeypatch.undo()
    summary = load(store, tmp_path, NUMBERS[3:])
    assert summary.undone == len(pending.graphs) and summary.loaded == 3
    assert "write cut short" in summary.lines(tmp_path)[0]
    assert Journal(store).pending() is None
    assert [sizes(store, number) for number in NUMBERS] == [whole] * 6


def test_the_next_load_removes_what_the_journal_lists_before_reading_the_store(
        vocab_store: Settings, tmp_path: Path):
    store = open_store(vocab_store.store_location, settings=vocab_store)
    load(store, tmp_path, NUMBERS[:2])
    record = f"{BASE}graph/publication/{NUMBERS[0]}"
    with pytest.raises(RuntimeError), Journal(store).writing(journal.Entry([record], [record])):
        raise RuntimeError("killed while rewriting the first record")
    summary = load(store, tmp_path, NUMBERS[:2])  # the same input again
    assert (summary.loaded, summary.unchanged) == (1, 1)
    assert sizes(store, NUMBERS[0]) == sizes(store, NUMBERS[1])


def test_a_bulk_write_takes_whole_texts_and_at_most_part_quads(monkeypatch: pytest.MonkeyPatch):
    calls: list[bytes] = []

    class Engine:
        def bulk_load(self, data: bytes, format: object) -> None:
            calls.append(data)

    monkeypatch.setattr(journal, "PART_QUADS", 7)
    texts = [f"<s{n}> <p> <o> <g> .\n" * 3 for n in range(5)]
    journal.bulk_write(Engine(), texts)
    assert [c.count(b"\n") for c in calls] == [6, 6, 3]
    assert b"".join(calls).decode() == "".join(texts)
