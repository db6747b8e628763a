"""Search: relevance, text analysis, facets, the API, pkg:matches inside SPARQL, and an index
in step with the records, on a small fixed corpus, on both stores (the embedded store's
tantivy index; Virtuoso's own free-text index)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import UPDATE_TOKEN, LiveServer, fetch, policykg, start_server

from policykg.graph.config import Settings

BACKENDS = ("oxigraph", "virtuoso")
REMOTE_STATES = {"corpus": "search corpus"}
BASE = Settings().base
ID = BASE + "id/"
COLUMNS = ["id", "dc.title", "dc.title.alternative", "dc.description.abstract",
           "dc.contributor.author", "dc.language.iso", "dc.date.issued", "dc.subject.jelcode",
           "dc.type", "dc.contributor.orgunit", "dc.coverage", "dc.subject.keywords",
           "idb.identifier.pubnumber"]
CORPUS = [
    ("1", "Informal Employment and Pensions in Latin America", "",
     "We study the retirement income of informal workers and the design of pension systems.",
     "Pérez, Javier", "en", "2020-05-01", "J26 - Retirement; Retirement Policies",
     "Working Papers", "Labor Markets and Social Security Division", "Latin America",
     "retirement; social security", "IDB-WP-001"),
    ("2", "Pensiones y empleo informal en México", "",
     "Las pensiones de los trabajadores informales y la seguridad social en México.",
     "Álvarez, Ana", "es", "2018-01-01", "J46 - Informal Labor Markets", "Technical Notes",
     "Labor Markets and Social Security Division", "Mexico", "informalidad", "IDB-TN-002"),
    ("3", "Innovation Clusters in the Caribbean", "",
     "Clusters of firms; informal employment and pensions matter for innovation policy too.",
     "Perez, Pedro", "en", "2023-11-30", "O31 - Innovation and Invention",
     "Working Papers", "Competitiveness, Technology and Innovation Division", "The Caribbean",
     "innovation; clusters", "IDB-WP-003"),
    ("4", "Información y crecimiento económico", "",
     "El papel de la información en el crecimiento de la región.", "Gómez, Luisa", "es",
     "2015-06-15", "O40 - General", "Discussion Papers",
     "Competitiveness, Technology and Innovation Division", "Latin America", "crecimiento",
     "IDB-DP-004"),
    ("5", "Previdência e pensões no Brasil", "",
     "As pensões e o emprego informal no Brasil.", "Souza, Carla", "pt", "2019-03-01",
     "J26 - Retirement; Retirement Policies", "Technical Notes",
     "Labor Markets and Social Security Division", "Brazil", "previdência", "IDB-TN-005"),
    ("6", "Les pensions en France et en Amérique latine", "",
     "Une comparaison des régimes de retraite.", "Dupont, Marie", "fr", "2021-09-01",
     "H55 - Social Security and Public Pensions", "Discussion Papers",
     "Labor Markets and Social Security Division", "Latin America", "retraite",
     "IDB-DP-006"),
]


def write_corpus(folder: Path) -> Path:
    """The corpus as a DSpace batch-metadata CSV export."""
    path = folder / "corpus.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(CORPUS)
    return path


@pytest.fixture(scope="module")
def corpus(settings: Settings, remote, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings over a store holding the corpus, loaded by ``policykg load``."""
    home = tmp_path_factory.mktemp("search")
    ours = replace(settings, home=str(home))
    if remote is None:
        ours = replace(ours, store=f"oxigraph:{home / 'store'}")

    def build() -> None:
        if remote:
            remote.reset()
        done = policykg(ours, "load", "--quiet", str(write_corpus(home)))
        assert done.returncode == 0, done.stdout + done.stderr

    if remote:
        remote.ensure("search corpus", build)
    else:
        build()
    return ours


@pytest.fixture(scope="module")
def server(corpus: Settings) -> Iterator[LiveServer]:
    started = start_server(corpus)
    yield started
    started.stop()


def search(server: LiveServer, **params: str | list[str]) -> dict:
    pairs = [(k, v) for k, values in params.items()
             for v in (values if isinstance(values, list) else [values])]
    reply = fetch(server.url + "/api/search", params=pairs)
    assert reply.status == 200, reply.text
    return reply.json()


def short(key: str) -> str:
    """The corpus's number of a publication key: IDB-WP-001 -> 1."""
    return key.rsplit("-", 1)[-1].lstrip("0")


def keys(found: dict) -> list[str]:
    return [short(hit["key"]) for hit in found["hits"]]


# --- relevance and text analysis -----------------------------------------------------------


def test_the_exact_title_phrase_comes_first(server: LiveServer):
    assert keys(search(server, q="informal employment and pensions in latin america"))[0] \
        == "1"


def test_a_title_match_ranks_above_an_abstract_only_match(server: LiveServer):
    found = keys(search(server, q="pensions"))
    assert found.index("1") < found.index("3")


def test_case_and_accents_do_not_matter(server: LiveServer):
    assert set(keys(search(server, q="PEREZ"))) == {"1", "3"}
    assert keys(search(server, q="informacion")) == ["4"]
    assert keys(search(server, q="álvarez")) == ["2"]


def test_words_are_found_by_their_stem_in_each_language(server: LiveServer):
    assert {"1", "2", "3", "6"} <= set(keys(search(server, q="pension")))
    assert "2" in keys(search(server, q="pensiones"))
    assert "5" in keys(search(server, q="pensões"))
    assert "6" in keys(search(server, q="retraites"))


def test_phrases_prefixes_or_and_not(server: LiveServer):
    assert set(keys(search(server, q='"informal employment"'))) == {"1", "3"}
    assert keys(search(server, q="innov*")) == ["3"]
    assert set(keys(search(server, q="clusters OR crecimiento"))) == {"3", "4"}
    assert "2" not in keys(search(server, q="pensiones -mexico"))
    assert set(keys(search(server, q="pensions -caribbean"))) >= {"1"}
    assert "3" not in keys(search(server, q="pensions -caribbean"))


def test_every_word_is_required_by_default(server: LiveServer):
    assert keys(search(server, q="pensions innovation")) == ["3"]


def test_a_search_in_one_field(server: LiveServer):
    assert keys(search(server, q="author:gomez")) == ["4"]
    assert "3" not in keys(search(server, q="title:pensions"))


# --- facets, filters, order, pages ---------------------------------------------------------


def test_facets_count_the_results_with_their_labels_and_parents(server: LiveServer):
    facets = search(server, q="pension")["facets"]
    jel = {value["value"]: value for value in facets["jel"]}
    assert jel[ID + "jel/J"]["count"] >= 2 and jel[ID + "jel/J2"]["parent"] == ID + "jel/J"
    assert jel[ID + "jel/J26"]["label"].startswith("Retirement")
    years = {value["value"]: value["count"] for value in facets["year"]}
    assert years["2020"] == 1
    types = {value["label"]: value["count"] for value in facets["type"]}
    assert types["Working Papers"] >= 1
    assert {"division", "region", "language", "author", "keyword"} <= set(facets)


def test_filters_narrow_by_any_level_of_a_hierarchy_and_by_years(server: LiveServer):
    assert set(keys(search(server, jel="J"))) == {"1", "2", "5"}
    assert set(keys(search(server, jel="J2"))) == {"1", "5"}
    assert set(keys(search(server, jel=["O31", "J46"]))) == {"2", "3"}  # any of them
    assert set(keys(search(server, q="informal", year_from="2019", year_to="2020"))) \
        == {"1", "5"}
    assert set(keys(search(server, region="Caribbean", type="working-papers"))) == {"3"}


def test_an_author_filter_takes_a_name_in_any_order_case_and_accents_aside(server: LiveServer):
    for name in ("perez-javier", "Pérez, Javier", "javier perez", "JAVIER"):
        assert keys(search(server, author=name)) == ["1"], name
    reply = fetch(server.url + "/api/search", params={"author": "perez"})
    assert reply.status == 400 and reply.json()["parameter"] == "author"
    assert "names 2 people" in reply.json()["error"]


def test_sorting_and_paging(server: LiveServer):
    newest = keys(search(server, sort="newest"))
    assert newest[:2] == ["3", "6"] and newest[-1] == "4"
    assert keys(search(server, sort="oldest"))[0] == "4"
    first, second = (search(server, sort="oldest", size="4", page=p) for p in ("1", "2"))
    assert first["total"] == 6 and first["pages"] == 2
    assert len(first["hits"]) == 4 and keys(second) == ["6", "3"]


def test_hits_show_highlights_authors_year_type_and_division(server: LiveServer):
    hit = search(server, q="retirement income")["hits"][0]
    assert short(hit["key"]) == "1" and hit["year"] == 2020
    assert "<mark>retirement</mark>" in hit["snippet_html"]
    assert hit["authors"][0]["name"] == "Javier Pérez"
    assert hit["type"]["label"] == "Working Papers"


def test_a_division_filter_takes_its_key_acronym_or_name(server: LiveServer):
    """A division's acronym is also found without its department's (CTI for IFD/CTI)."""
    for name in ("ifd-cti", "IFD/CTI", "cti", "Competitiveness, Technology and Innovation "
                 "Division"):
        assert set(keys(search(server, division=name))) == {"3", "4"}, name


@pytest.mark.parametrize("parameter, value, named", [
    ("region", "Atlantis", "region or country"),
    ("division", "XYZ", "division, department or organisation"),
    ("jel", "Z99", "JEL code"),
    ("keyword", "zanzibar", "keyword"),
])
def test_a_filter_that_names_nothing_is_a_400_naming_the_value_and_what_to_give(
        server: LiveServer, parameter: str, value: str, named: str):
    reply = fetch(server.url + "/api/search", params={parameter: value})
    assert reply.status == 400 and reply.json()["parameter"] == parameter
    assert reply.json()["error"].startswith(f"{parameter}: '{value}' names no {named} of "
                                            "the graph; give ")



def test_a_search_counts_only_the_facets_it_asks_for(corpus: Settings):
    from policykg.graph.rdf.uris import Uris
    from policykg.graph.search.request import SearchRequest
    from policykg.graph.search.service import Search
    from policykg.graph.store import open_store

    with open_store(corpus.store_location, read_only=True, settings=corpus) as store:
        search = Search(store, store.text_index(), Uris(corpus.base))
        found = search.search(SearchRequest(filters={"jel": (ID + "jel/J",)},
                                            counted=("year", "author")))
    assert set(found.facets) == {"year", "author"}
    assert {value.value: value.count for value in found.facets["year"]} \
        == {"2020": 1, "2019": 1, "2018": 1}


@pytest.mark.parametrize("parameter, value", [
    ("sort", "best"), ("size", "101"), ("size", "0"), ("page", "0"), ("page", "x"),
    ("year_from", "20"), ("jel", "Z99"), ("region", "Atlantis"), ("facets", "maybe"),
    ("colour", "red"),
])
def test_a_bad_parameter_is_a_400_naming_it(server: LiveServer, parameter: str, value: str):
    reply = fetch(server.url + "/api/search", params={parameter: value})
    assert reply.status == 400 and reply.json()["parameter"] == parameter


@pytest.mark.parametrize("text", ["***", '"', "-", "((", "zzzzqqq", "a" * 300, "-pension x*y"])
def test_an_impossible_search_is_an_empty_result(server: LiveServer, text: str):
    assert search(server, q=text)["total"] == 0


def test_the_hits_as_csv(server: LiveServer):
    reply = fetch(server.url + "/api/search", params={"q": "pension", "format": "csv"})
    rows = list(csv.reader(reply.text.splitlines()))
    assert reply.media == "text/csv" and rows[0][:4] == ["iri", "key", "number", "title"]
    assert len(rows) > 3


# --- SPARQL ------------------------------------------------------------------------------


def test_pkg_matches_joins_the_text_index_into_a_query(server: LiveServer):
    query = f"""PREFIX pkg: <https://w3id.org/policykg/ontology#>
    SELECT ?publication ?score WHERE {{
      (?publication ?score) pkg:matches "pension OR pensões" .
      ?publication pkg:division <{ID}org/scl-lmk> ; pkg:issuedYear ?year
      FILTER(?year >= 2019) }} ORDER BY DESC(?score)"""
    reply = fetch(server.url + "/sparql", params={"query": query},
                  headers={"Accept": "application/sparql-results+json"})
    assert reply.status == 200, reply.text
    rows = reply.json()["results"]["bindings"]
    assert {short(row["publication"]["value"]) for row in rows} == {"1", "5", "6"}
    assert all(float(row["score"]["value"]) > 0 for row in rows)


def test_pkg_matches_keeps_out_of_the_way_of_the_query_s_own_variables(server: LiveServer):
    """Written with the full IRI, no prefix declared, and variables any query might use."""
    query = """SELECT ?p ?score ?text WHERE {
      (?p ?score) <https://w3id.org/policykg/ontology#matches> "pension" .
      ?p <http://purl.org/dc/terms/title> ?text } ORDER BY DESC(?score) ?p"""
    reply = fetch(server.url + "/sparql", params={"query": query},
                  headers={"Accept": "application/sparql-results+json"})
    assert reply.status == 200, reply.text
    rows = reply.json()["results"]["bindings"]
    assert {short(row["p"]["value"]) for row in rows} == {"1", "2", "3", "6"}
    assert all(set(row) == {"p", "score", "text"} for row in rows)


def test_a_store_s_own_index_matches_pkg_matches_inside_the_query_it_is_sent():
    """No list of hits goes to a shared store (Virtuoso refuses a query that lists thousands):
    the words do, as its free-text pattern, whatever the number of hits."""
    from policykg.graph.search.engines.store_index import StoreTextIndex

    pattern = StoreTextIndex(store=None).sparql_pattern(  # type: ignore[arg-type]
        ["publication", "score"], "informal employment", 1_000_000)
    (placeholder, sent), = pattern.dialect.items()
    assert placeholder in pattern.text and "VALUES" not in pattern.text
    assert "bif:contains" in sent and "informal" in sent


def test_a_malformed_pkg_matches_is_a_400(server: LiveServer):
    query = "PREFIX pkg: <https://w3id.org/policykg/ontology#> SELECT * { ?p pkg:matches 42 }"
    assert fetch(server.url + "/sparql", params={"query": query}).status == 400


# --- in step with the records ---------------------------------------------------------------


@pytest.fixture
def own_corpus(settings: Settings, remote, tmp_path: Path) -> Settings:
    """A corpus of the test's own, to change."""
    ours = replace(settings, home=str(tmp_path))
    if remote is None:
        ours = replace(ours, store=f"oxigraph:{tmp_path / 'store'}")
    else:
        remote.reset()
        remote.dirty()
    done = policykg(ours, "load", "--quiet", str(write_corpus(tmp_path)))
    assert done.returncode == 0, done.stderr
    return ours


def found_by(settings: Settings, text: str) -> set[str]:
    from policykg.graph.store import open_store

    with open_store(settings.store_location, read_only=True, settings=settings) as store:
        return {short(hit.iri) for hit in store.text_index().matches(text, 50)}


def test_a_removed_or_replaced_record_never_shows_with_its_old_text(own_corpus: Settings,
                                                                    tmp_path: Path):
    assert policykg(own_corpus, "remove", "IDB-DP-004").returncode == 0
    assert found_by(own_corpus, "informacion") == set()
    rows = [list(row) for row in CORPUS]
    rows[0][1] = "Zanzibar Tourism"
    folder = tmp_path / "changed"
    folder.mkdir()
    path = folder / "changed.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([COLUMNS, rows[0]])
    assert "replaced 1" in policykg(own_corpus, "load", str(path)).stdout
    assert found_by(own_corpus, "zanzibar") == {"1"}
    assert "1" not in found_by(own_corpus, '"informal employment and pensions"')


def test_an_update_keeps_the_index_exact(own_corpus: Settings, server_factory):
    server = server_factory(own_corpus)
    graph = f"{BASE}graph/publication/IDB-WP-003"
    update = (f"PREFIX dcterms: <http://purl.org/dc/terms/> DELETE {{ GRAPH <{graph}> {{ "
              f"?p dcterms:title ?t }} }} INSERT {{ GRAPH <{graph}> {{ ?p dcterms:title "
              f'"Volcanoes of Montserrat"@en }} }} WHERE {{ GRAPH <{graph}> {{ ?p dcterms:title '
              f"?t }} }}")
    reply = fetch(server.url + "/sparql/update", "POST", data={"update": update},
                  headers={"Authorization": f"Bearer {UPDATE_TOKEN}"})
    assert reply.status == 204, reply.text
    assert keys(search(server, q="volcanoes")) == ["3"]
    assert "3" not in keys(search(server, q="title:clusters"))


def test_a_load_cut_short_before_the_index_commits_is_caught_up_by_the_next_load(
        own_corpus: Settings, backend: str, tmp_path: Path, monkeypatch, server_factory):
    if backend != "oxigraph":
        pytest.skip("a remote store's text index is the store's own: nothing to commit")
    from click.testing import CliRunner

    from policykg.graph.cli import main
    from policykg.graph.search.engines.tantivy_index import TantivyIndex

    def cut_short(index: TantivyIndex, token: str) -> None:
        raise KeyboardInterrupt  # the records are in the store, the index never commits

    rows = [list(row) for row in CORPUS]
    rows[0][1] = "Zanzibar Tourism"
    path = tmp_path / "changed.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([COLUMNS, rows[0]])
    monkeypatch.setattr(TantivyIndex, "commit", cut_short)
    cli = ["--home", own_corpus.home, "--store", own_corpus.store_location]
    CliRunner().invoke(main, [*cli, "load", str(path), "--quiet"])
    monkeypatch.undo()
    health = fetch(server_factory(own_corpus).url + "/healthz").json()["text_index"]
    assert health["engine"] == "tantivy" and health["in_step"] is False
    assert found_by(own_corpus, "zanzibar") == set()
    again = policykg(own_corpus, "load", str(path))
    assert "unchanged 1" in again.stdout and "rebuilt from the store (6" in again.stdout
    assert found_by(own_corpus, "zanzibar") == {"1"}
    health = fetch(server_factory(own_corpus).url + "/healthz").json()["text_index"]
    assert health["in_step"] is True and health["publications"] == 6 and health["bytes"] > 0


def test_reindex_rebuilds_the_index_and_stats_and_health_say_it_is_in_step(
        own_corpus: Settings, backend: str, server_factory):
    done = policykg(own_corpus, "reindex", "--quiet")
    assert done.returncode == 0, done.stderr
    if backend == "oxigraph":
        assert "text index rebuilt: 6 publications" in done.stdout
    stats = policykg(own_corpus, "stats").stdout
    assert "text index: 6 publications" in stats and "in step with the store" in stats
    health = fetch(server_factory(own_corpus).url + "/healthz").json()["text_index"]
    assert health["publications"] == 6 and health["in_step"] is True
    assert health["engine"] == ("tantivy" if backend == "oxigraph" else "store")
    assert found_by(own_corpus, "pension") >= {"1", "2", "6"}
