"""The embedded store is written with Oxigraph's bulk loader behind a journal: a write cut short
is undone by the next load, which then writes those records like any other
(store/embedded/journal.py). The same promise with a real kill: test_loading.py."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from load_runs import page, write

from policykg.graph.config import Settings
from policykg.graph.loading.loader import Loader
from policykg.graph.loading.quarantine import Quarantine
from policykg.graph.loading.summary import LoadSummary
from policykg.graph.mapping.rules import Mapping
from policykg.graph.rdf.uris import Uris
from policykg.graph.readers import read
from policykg.graph.store import open_store
from policykg.graph.store.embedded import OxigraphStore, oxigraph
from policykg.graph.store.embedded.journal import Journal, JournalEntry

BASE = "http://localhost:8000/"
NUMBERS = [f"IDB-T-{n:03d}" for n in range(6)]


def load(store, home: Path, numbers: list[str]) -> LoadSummary:
    """Load the sample page under some publication numbers, in one batch."""
    folder = home / "pages"
    folder.mkdir(exist_ok=True)
    paths = [write(folder, f"{number}.txt", page(number)) for number in numbers]
    loader = Loader(store, Uris(BASE), Mapping.load(), Quarantine(home / "quarantine"),
                    workers=0, now=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    return loader.load(item for path in paths for item in read(str(path)))


def sizes(store, number: str) -> tuple[int, int, int]:
    """Quads of a publication's record graph, entailments and aggregates."""
    graphs = [f"{BASE}graph/{kind}publication/{number}" for kind in ("", "inferred/",
                                                                      "aggregates/")]
    counts = Counter(str(q.graph_name.value) for g in graphs for q in store.quads(g))
    return tuple(counts[g] for g in graphs)  # type: ignore[return-value]


def test_a_write_cut_short_is_undone_by_the_next_load_which_then_completes_it(
        vocab_store: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    store = open_store(vocab_store.store_location, settings=vocab_store)
    load(store, tmp_path, NUMBERS[:3])
    whole = sizes(store, NUMBERS[0])
    assert all(whole)

    bulk_load = OxigraphStore._bulk_load

    def killed_after_one_record(self, texts):
        bulk_load(self, list(texts)[:1])
        raise RuntimeError("killed")

    monkeypatch.setattr(OxigraphStore, "_bulk_load", killed_after_one_record)
    with pytest.raises(RuntimeError, match="killed"):
        load(store, tmp_path, NUMBERS[3:])
    assert sizes(store, NUMBERS[3])[0] == whole[0]  # the first record went in, not the rest
    assert sizes(store, NUMBERS[4]) == (0, 0, 0)
    pending = Journal(store.folder).pending()
    assert pending and f"{BASE}graph/publication/{NUMBERS[5]}" in pending.graphs

    monkeypatch.undo()
    summary = load(store, tmp_path, NUMBERS[3:])
    assert summary.undone == len(pending.graphs) and summary.loaded == 3
    assert "write cut short" in summary.lines(tmp_path)[0]
    assert Journal(store.folder).pending() is None
    assert [sizes(store, number) for number in NUMBERS] == [whole] * 6


def test_the_next_load_removes_what_the_journal_lists_before_reading_the_store(
        vocab_store: Settings, tmp_path: Path):
    store = open_store(vocab_store.store_location, settings=vocab_store)
    load(store, tmp_path, NUMBERS[:2])
    record = f"{BASE}graph/publication/{NUMBERS[0]}"
    entry = JournalEntry([record], [])
    with pytest.raises(RuntimeError), Journal(store.folder).writing(entry):
        raise RuntimeError("killed while rewriting the first record")
    summary = load(store, tmp_path, NUMBERS[:2])  # the same input again
    assert (summary.loaded, summary.unchanged) == (1, 1)
    assert sizes(store, NUMBERS[0]) == sizes(store, NUMBERS[1])


def test_a_bulk_write_takes_whole_texts_and_at_most_part_quads():
    texts = [f"<s{n}> <p> <o> <g> .\n" * 3 for n in range(5)]
    parts = list(oxigraph.bulk_parts(texts, most=7))
    assert [part.count("\n") for part in parts] == [6, 6, 3]
    assert "".join(parts) == "".join(texts)
