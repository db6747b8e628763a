"""The app keeps the reference vocabularies (labels and broader chains of JEL codes, regions,
units, document types) in memory; a later load that installs other vocabulary files shows on
the next page and in the RDF descriptions, on both backends."""

from __future__ import annotations

from pathlib import Path

from test_linked_data import PUB, SAMPLE

from policykg.graph.config import Settings
from policykg.graph.inference import vocabularies
from policykg.graph.loading.loader import Loader
from policykg.graph.loading.quarantine import Quarantine
from policykg.graph.mapping.rules import Mapping
from policykg.graph.rdf.uris import Uris
from policykg.graph.readers import read
from policykg.graph.store import open_store
from policykg.webapp.app import create_app

BACKENDS = ("oxigraph", "virtuoso")
O31 = "Innovation and Invention: Processes and Incentives"  # linked from the sample
O3 = "Innovation; Research and Development; Technological Change; Intellectual Property Rights"


def _load(store, settings: Settings, home: Path) -> None:
    loader = Loader(store, Uris(settings.base), Mapping.load(), Quarantine(home / "quarantine"),
                    workers=0)
    summary = loader.load(read(SAMPLE))
    assert summary.rejected == 0, summary.messages


def _renamed_jel(tmp_path: Path, monkeypatch) -> None:
    """Vocabulary files as a later release might have them: O31 and its parent O3 renamed."""
    source = vocabularies._source
    jel = tmp_path / "jel.ttl"
    jel.write_text(source("jel.ttl").read_text(encoding="utf-8")
                   .replace(f'"{O31}"@en', '"Renamed invention"@en')
                   .replace(f'"{O3}"@en', '"Renamed innovation"@en'), encoding="utf-8")
    monkeypatch.setattr(vocabularies, "_source",
                        lambda name: jel if name == "jel.ttl" else source(name))


def test_a_later_load_with_other_vocabularies_shows_their_labels(vocab_store, tmp_path,
                                                                  monkeypatch):
    store = open_store(vocab_store.store_location, settings=vocab_store)
    _load(store, vocab_store, tmp_path)
    client = create_app(vocab_store, store).test_client()
    assert f"<strong><a href=\"/doc/jel/O31\" title=\"{vocab_store.base}id/jel/O31\">O31 {O31}" \
        in client.get(PUB + ".html").text
    assert f'"{O31}"@en' in client.get(PUB + ".nt").text

    _renamed_jel(tmp_path, monkeypatch)
    _load(store, vocab_store, tmp_path)
    page = client.get(PUB + ".html").text
    assert "O31 Renamed invention" in page and "O3 Renamed innovation" in page  # and parent
    assert f"O31 {O31}" not in page and f"O3 {O3}" not in page  # (the record keeps "O31 - ...")
    triples = client.get(PUB + ".nt").text
    assert '"Renamed invention"@en' in triples and f'"{O31}"@en' not in triples
