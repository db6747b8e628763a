"""An app over the embedded store keeps the labels of what its descriptions link to (people,
keywords, subjects, classes) until the store changes: pages and RDF read the same as without
the cache, and a label changed in the store shows on the next page."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from conftest import SAMPLE, policykg

from policykg.graph.store import open_store
from policykg.webapp.app import create_app
from policykg.webapp.linked_data.labels import LabelCache

PUB = "/doc/publication/IDB-LM-00577"
RENAME = """PREFIX foaf: <http://xmlns.com/foaf/0.1/>
DELETE { GRAPH ?g { <PERSON> foaf:name ?name } }
INSERT { GRAPH ?g { <PERSON> foaf:name "Elisa Conz-Ortiz" } }
WHERE { GRAPH ?g { <PERSON> foaf:name ?name } }"""


def _load(settings, source: Path) -> None:
    done = policykg(settings, "load", "--quiet", str(source))
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_label_changed_in_the_store_shows_on_the_next_page(vocab_store):
    _load(vocab_store, SAMPLE)
    app = create_app(vocab_store)  # read-only over the folder: the cache is on
    client = app.test_client()
    person = f"{vocab_store.base}id/person/conz-elisa"
    assert ">Elisa Conz</a>" in client.get(PUB + ".html").text
    assert any(t.value == person for t in app.extensions["policykg.labels"].current(
        app.extensions["policykg.store"]))

    renamed = client.post("/sparql/update", data={"update": RENAME.replace("PERSON", person)},
                          headers={"Authorization": f"Bearer {vocab_store.update_token}"})
    assert renamed.status_code == 204, renamed.text
    assert ">Elisa Conz-Ortiz</a>" in client.get(PUB + ".html").text
    names = [line for line in client.get(PUB + ".nt").text.splitlines()
             if line.startswith(f"<{person}> <http://xmlns.com/foaf/0.1/name>")]
    assert names == [f'<{person}> <http://xmlns.com/foaf/0.1/name> "Elisa Conz-Ortiz" .']


def test_descriptions_read_the_same_with_the_cache_cold_warm_and_off(vocab_store):
    _load(vocab_store, SAMPLE)
    cached = create_app(vocab_store).test_client()
    cold, warm = (set(cached.get(PUB + ".nt").text.splitlines()) for _ in range(2))
    store = open_store(vocab_store.store_location, settings=vocab_store)  # writes: no cache
    try:
        off = set(create_app(vocab_store, store).test_client().get(PUB + ".nt").text
                  .splitlines())
    finally:
        store.close()
    assert cold == warm == off
    assert any("foaf/0.1/name" in line and "Rabellotti" in line for line in off)


def test_the_cache_empties_when_the_store_changes_or_fills():
    cache, store = LabelCache(kept=2), SimpleNamespace(generation=("v1",))
    cache.current(store)["a"] = ()
    assert "a" in cache.current(store)
    store.generation = ("v2",)
    assert cache.current(store) == {}
    cache.current(store).update(a=(), b=())
    assert cache.current(store) == {}  # full: forgotten all at once


def test_a_store_that_tells_no_generation_is_not_cached():
    cache, store = LabelCache(), SimpleNamespace(generation=None)
    cache.current(store)["a"] = ()
    assert cache.current(store) == {}  # a remote store's generation is None
