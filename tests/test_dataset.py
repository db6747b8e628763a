"""The dataset as a whole: VoID/DCAT description, statistics cache, the dump, the home page."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import store_path
from rdflib import Dataset, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF, XSD

from policykg.graph.config import Settings
from policykg.graph.store import open_store
from policykg.graph.store.embedded import OxigraphStore
from policykg.webapp.app import create_app
from policykg.webapp.serve import prepare_store
from policykg.webapp.site import dataset

VOID = Namespace("http://rdfs.org/ns/void#")
PKG = Namespace("https://w3id.org/policykg/ontology#")
FOAF_PERSON = URIRef("http://xmlns.com/foaf/0.1/Person")
BASE = "http://localhost:8000/"
DATASET = URIRef(BASE + ".well-known/void#policykg")
BACKENDS = ("oxigraph", "virtuoso")
PUBLICATION = URIRef(BASE + "id/publication/IDB-LM-00577")


@pytest.fixture(scope="module")
def app(settings: Settings, loaded_store: Path):
    """The app over the shared store holding the sample (conftest: ``policykg load``)."""
    assert settings.base == BASE
    app = create_app(settings)
    app.testing = True
    return app


@pytest.fixture(scope="module")
def quad_count(app, remote) -> int:
    if remote:
        remote.ensure("sample")  # module fixtures are made before the per-test state is set
    return sum(1 for _ in app.extensions["policykg.store"].quads())


@pytest.fixture(scope="module")
def void(app, remote) -> Graph:
    if remote:
        remote.ensure("sample")
    response = app.test_client().get("/.well-known/void", base_url=BASE)  # served at the base
    assert response.status_code == 200
    assert response.mimetype == "text/turtle"
    return Graph().parse(data=response.get_data(as_text=True), format="turtle")


def test_prepare_store_leaves_a_store_with_publications_alone(settings: Settings,
                                                              loaded_store: Path):
    assert prepare_store(settings) is None


def test_prepare_store_compacts_the_embedded_store_before_the_workers_open_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    settings = Settings(home=str(tmp_path / "home"))
    compacted = []
    monkeypatch.setattr(OxigraphStore, "compact", lambda store: compacted.append(store) or 0.0)
    assert prepare_store(settings, sample=False) is None
    assert [Path(store.path) for store in compacted] == [store_path(settings)]


def test_prepare_store_says_why_when_the_store_is_busy(tmp_path: Path, caplog):
    settings = Settings(home=str(tmp_path / "home"))
    writer = OxigraphStore(store_path(settings))  # as a running load holds it
    try:
        assert prepare_store(settings) is None
    finally:
        writer.close()
    assert "cannot be opened for writing" in caplog.text


def test_prepare_store_creates_an_empty_store_without_the_sample(tmp_path: Path):
    settings = Settings(home=str(tmp_path / "home"))
    assert prepare_store(settings, sample=False) is None
    store = open_store(settings.store_location, read_only=True)  # it exists now
    assert len(store.engine) == 0
    del store
    writer = open_store(settings.store_location)  # and the write lock was released
    del writer


def test_void_describes_the_dataset(void: Graph):
    assert (DATASET, RDF.type, VOID.Dataset) in void
    assert (DATASET, RDF.type, DCAT.Dataset) in void
    assert void.value(DATASET, VOID.sparqlEndpoint) == URIRef(BASE + "sparql")
    assert void.value(DATASET, VOID.dataDump) == URIRef(BASE + "dump/policykg.nq.gz")
    assert void.value(DATASET, VOID.uriSpace) == Literal(BASE + "id/")
    assert URIRef("http://purl.org/dc/terms/") in set(void.objects(DATASET, VOID.vocabulary))
    for name in ("title", "description", "license"):
        assert void.value(DATASET, DCTERMS[name]) is not None, name
    assert void.value(DATASET, DCTERMS.modified).datatype == XSD.dateTime


def test_void_distribution_is_the_dump(void: Graph):
    distribution = void.value(DATASET, DCAT.distribution)
    assert void.value(distribution, DCAT.downloadURL) == URIRef(BASE + "dump/policykg.nq.gz")
    media = "http://www.iana.org/assignments/media-types/"
    assert void.value(distribution, DCAT.mediaType) == URIRef(media + "application/n-quads")
    assert void.value(distribution, DCAT.compressFormat) == URIRef(media + "application/gzip")


def test_void_numbers(void: Graph, quad_count: int):
    assert void.value(DATASET, VOID.triples).toPython() == quad_count
    assert void.value(DATASET, VOID.entities).toPython() > 1000  # vocabularies included
    partitions = {
        void.value(partition, VOID["class"]): void.value(partition, VOID.entities).toPython()
        for partition in void.objects(DATASET, VOID.classPartition)
    }
    assert void.value(DATASET, VOID.classes).toPython() == len(partitions)
    assert partitions[PKG.Publication] == 1
    assert partitions[FOAF_PERSON] == 2


def test_void_examples(void: Graph):
    assert set(void.objects(DATASET, VOID.exampleResource)) == {
        PUBLICATION, URIRef(BASE + "id/person/conz-elisa"), URIRef(BASE + "id/jel/O31"),
    }


@pytest.mark.parametrize(("accept", "media_type", "syntax"), [
    ("application/ld+json", "application/ld+json", "json-ld"),
    ("application/rdf+xml", "application/rdf+xml", "xml"),
    ("application/n-triples", "application/n-triples", "nt"),
    ("text/html,application/xhtml+xml,*/*;q=0.8", "text/turtle", "turtle"),
    ("", "text/turtle", "turtle"),
])
def test_void_content_negotiation(app, accept: str, media_type: str, syntax: str):
    response = app.test_client().get("/.well-known/void", headers={"Accept": accept})
    assert response.mimetype == media_type
    assert "Accept" in response.headers["Vary"]
    graph = Graph().parse(data=response.data, format=syntax)
    assert (DATASET, RDF.type, VOID.Dataset) in graph


def test_dump_round_trips(app, quad_count: int):
    response = app.test_client().get("/dump/policykg.nq.gz")
    assert response.status_code == 200
    assert response.mimetype == "application/gzip"
    assert "Content-Encoding" not in response.headers
    assert 'filename="policykg.nq.gz"' in response.headers["Content-Disposition"]
    text = gzip.decompress(response.data)
    parsed = Dataset()
    parsed.parse(data=text, format="nquads")
    assert sum(1 for _ in parsed.quads()) == quad_count
    assert len(list(ox.parse(text, format=ox.RdfFormat.N_QUADS))) == quad_count
    assert any(parsed.quads((PUBLICATION, RDF.type, PKG.Publication, None)))


def _synthetic_store(count: int) -> OxigraphStore:
    store = OxigraphStore(None)
    predicate = ox.NamedNode("http://example.org/p")
    store.engine.extend(
        ox.Quad(ox.NamedNode(f"http://example.org/s/{n // 10}"), predicate,
                ox.Literal(f"value {n} of a synthetic store, long enough to weigh something"),
                ox.NamedNode(f"http://example.org/g/{n // 100}"))
        for n in range(count)
    )
    return store


def test_dump_streams_in_small_memory():
    count = 200_000
    store = _synthetic_store(count)
    decompressor = zlib.decompressobj(31)
    lines = size = 0
    tracemalloc.start()
    try:
        for chunk in dataset.gzipped_nquads(store.quads()):
            text = decompressor.decompress(chunk)
            lines += text.count(b"\n")
            size += len(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lines == count
    assert size > 20_000_000
    assert peak < 10_000_000, f"peak {peak} bytes while streaming {size} bytes"


def test_statistics_are_cached_until_the_store_changes(monkeypatch: pytest.MonkeyPatch):
    store = _synthetic_store(10)
    calls = []
    compute = dataset.compute_statistics
    monkeypatch.setattr(dataset, "compute_statistics", lambda *a: calls.append(1) or compute(*a))
    cache = dataset.StatisticsCache(recheck=0)
    assert cache.get(store, BASE).triples == 10
    assert cache.get(store, BASE).triples == 10
    assert len(calls) == 1
    record = ox.NamedNode(BASE + "graph/publication/X")
    time = ox.Literal("2024-01-01T00:00:00Z", datatype=ox.NamedNode(XSD.dateTime))
    generated = ox.NamedNode("http://www.w3.org/ns/prov#generatedAtTime")
    store.engine.add(ox.Quad(record, generated, time, record))
    stats = cache.get(store, BASE)
    assert (stats.triples, stats.records, len(calls)) == (11, 1, 2)
    assert cache.get(store, BASE, generation=1) is not stats  # an app-wide generation bump
    assert len(calls) == 3
    cache.invalidate()
    cache.get(store, BASE, generation=1)
    assert len(calls) == 4


def test_home_page(app):
    response = app.test_client().get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for link in ("/sparql", "/api/queries", "/api/openapi.json", "/.well-known/void",
                 "/dump/policykg.nq.gz", "/id/publication/IDB-LM-00577", "/id/jel/O31"):
        assert f'href="{link}"' in page, link
    assert "<dt>publications</dt><dd>1</dd>" in page
    assert "http://localhost:8000/id/" in page
    assert 'src="http' not in page and 'href="http' not in page  # nothing from elsewhere


def test_home_page_escapes(app, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(dataset, "dataset_text", lambda base, name: "<script>x</script>")
    page = app.test_client().get("/").get_data(as_text=True)
    assert "<script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page


def test_sample_ships_in_the_package():
    from importlib import resources

    sample = resources.files("policykg.graph") / "data" / "samples" / "dspace-page-IDB-LM-00577.txt"
    fixture = Path(__file__).parent / "fixtures" / "dspace-page-IDB-LM-00577.txt"
    assert sample.read_bytes() == fixture.read_bytes()


def test_the_description_names_the_endpoint_and_dump_where_the_server_answers(app, remote):
    """Served at another address than its base (a store loaded with the default base), the
    dataset keeps its IRIs but says where to query and download it: here."""
    if remote:
        remote.ensure("sample")
    here = "http://127.0.0.1:8123/"
    response = app.test_client().get("/.well-known/void", base_url=here)
    void = Graph().parse(data=response.get_data(as_text=True), format="turtle")
    assert void.value(DATASET, VOID.sparqlEndpoint) == URIRef(here + "sparql")
    assert void.value(DATASET, VOID.dataDump) == URIRef(here + "dump/policykg.nq.gz")
    assert (DATASET, VOID.uriSpace, Literal(BASE + "id/")) in void
