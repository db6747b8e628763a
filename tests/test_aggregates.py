"""Aggregates computed at load time (graph/aggregates), on a handful of records written
straight into an in-memory store with the layout the pipeline writes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pyoxigraph as ox
import pytest

from policykg.graph import aggregates
from policykg.graph.rdf.uris import Uris
from policykg.graph.search.engines.store_index import StoreTextIndex
from policykg.graph.store.embedded import OxigraphStore

BASE = "http://localhost:8000/"
PKG = "https://w3id.org/policykg/ontology#"
PREFIXES = f"""
@base <{BASE}> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix pkg: <{PKG}> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""
CLOSURE = """
<id/jel/O31> skos:broaderTransitive <id/jel/O3>, <id/jel/O> .
<id/jel/O32> skos:broaderTransitive <id/jel/O3>, <id/jel/O> .
<id/jel/O3> skos:broaderTransitive <id/jel/O> .
<id/jel/F13> skos:broaderTransitive <id/jel/F1>, <id/jel/F> .
<id/jel/F1> skos:broaderTransitive <id/jel/F> .
<id/region/JM> skos:broaderTransitive <id/region/caribbean>, <id/region/lac> .
<id/region/caribbean> skos:broaderTransitive <id/region/lac> .
"""
RECORD = """
<graph/publication/{key}> foaf:primaryTopic <id/publication/{key}> ;
    pkg:contentHash "{hash}" .
<id/publication/{key}> a pkg:Publication ;
    dcterms:title "{title}"@en ;
    dcterms:abstract "{abstract}"@en ;
    dcterms:issued {issued} ;
    dcterms:creator {creators} ;
    pkg:jel {jel} ;
    dcterms:spatial {regions} ;
    pkg:keyword {keywords} ;
    pkg:division <id/org/ifd-cti> .
"""
RECORDS = {
    "P1": dict(title="Clusters and Innovation", abstract="Innovación in the Caribbean, and more.",
               issued='"2023-03-08T00:03:00"^^xsd:dateTime',
               creators="<id/person/a>, <id/person/b>", jel="<id/jel/O31>, <id/jel/O32>",
               regions="<id/region/JM>", keywords="<id/keyword/k1>, <id/keyword/k2>"),
    "P2": dict(title="Trade Agreements", abstract="Cluster policy of the region.",
               issued='"2023"^^xsd:gYear',
               creators="<id/person/a>, <id/person/b>, <id/person/c>",
               jel="<id/jel/F13>", regions="<id/region/caribbean>",
               keywords="<id/keyword/k1>, <id/keyword/k2>, <id/keyword/k3>"),
    "P3": dict(title="Solo", abstract="One author.", issued='"2021-05-01"^^xsd:date',
               creators="<id/person/c>", jel="<id/jel/O31>", regions="<id/region/JM>",
               keywords="<id/keyword/k3>"),
}


def add_record(store: OxigraphStore, key: str, content_hash: str = "h1", **changes: str) -> None:
    """Write a record's graph as the pipeline does: its triples and provenance in one graph."""
    fields = {**RECORDS[key], **changes}
    text = PREFIXES + RECORD.format(key=key, hash=content_hash, **fields)
    graph = ox.NamedNode(f"{BASE}graph/publication/{key}")
    store.replace([graph.value], [
        ox.Quad(t.subject, t.predicate, t.object, graph)
        for t in ox.parse(text, ox.RdfFormat.TURTLE)
    ])


def remove_record(store: OxigraphStore, key: str) -> None:
    store.replace([f"{BASE}graph/publication/{key}"], [])


@pytest.fixture
def store() -> OxigraphStore:
    store = OxigraphStore(None)
    closure = ox.NamedNode(BASE + "graph/inferred/vocabularies")
    store.replace([], [ox.Quad(t.subject, t.predicate, t.object, closure)
                       for t in ox.parse(PREFIXES + CLOSURE, ox.RdfFormat.TURTLE)])
    for key in RECORDS:
        add_record(store, key)
    return store


def objects(store: OxigraphStore, key: str, name: str) -> set[str]:
    subject = ox.NamedNode(f"{BASE}id/publication/{key}")
    pattern = store.engine.quads_for_pattern(subject, ox.NamedNode(PKG + name), None)
    return {q.object.value for q in pattern}


def short(iris: set[str]) -> set[str]:
    return {iri.rsplit("/", 1)[-1] for iri in iris}


def tallies(store: OxigraphStore, kind: str) -> dict[tuple[str, ...], int]:
    """The tallies of a class: their dimension values (short, sorted) -> count."""
    query = f"""PREFIX pkg: <{PKG}>
    SELECT DISTINCT ?tally ?dimension ?value ?count WHERE {{
      ?tally a pkg:{kind} ; pkg:publicationCount ?count ; ?dimension ?value .
      FILTER(STRSTARTS(STR(?dimension), STR(pkg:tally))) }}"""
    found: dict[str, tuple[list[str], int]] = {}
    for row in store.query(query):
        values, _ = found.setdefault(row["tally"].value, ([], int(row["count"].value)))
        values.append(row["value"].value.rsplit("/", 1)[-1])
    return {tuple(sorted(values)): count for values, count in found.values()}


def test_roll_ups_and_year_per_publication(store: OxigraphStore) -> None:
    summary = aggregates.refresh(store, Uris(BASE))
    assert summary.updated == 3
    assert short(objects(store, "P1", "jelRollup")) == {"O31", "O32", "O3", "O"}
    assert short(objects(store, "P1", "jelTop")) == {"O"}
    assert short(objects(store, "P1", "regionRollup")) == {"JM", "caribbean", "lac"}
    assert short(objects(store, "P2", "regionRollup")) == {"caribbean", "lac"}
    assert objects(store, "P1", "issuedYear") == {"2023"}
    assert objects(store, "P2", "issuedYear") == {"2023"}  # from an xsd:gYear


def test_aggregates_live_in_graphs_of_their_own(store: OxigraphStore) -> None:
    aggregates.refresh(store, Uris(BASE))
    graphs = {q.graph_name.value for q in store.engine.quads_for_pattern(
        None, ox.NamedNode(PKG + "jelRollup"), None)}
    assert graphs == {f"{BASE}graph/aggregates/publication/{key}" for key in RECORDS}
    names = store.graph_names(BASE + "graph/aggregates/")
    assert {f"{BASE}graph/aggregates/{name}" for name in aggregates.TALLIES} <= names


def texts(store: OxigraphStore, key: str) -> dict[str, str]:
    """The analyzed texts of a publication's aggregate graph (property name -> text)."""
    graph = ox.NamedNode(f"{BASE}graph/aggregates/publication/{key}")
    return {q.predicate.value.rsplit("#", 1)[-1]: q.object.value
            for q in store.engine.quads_for_pattern(None, None, None, graph)
            if q.predicate.value.startswith(PKG + "search")}


def test_an_embedded_store_s_texts_are_in_its_text_index_not_its_aggregates(
        store: OxigraphStore) -> None:
    aggregates.refresh(store, Uris(BASE))
    assert texts(store, "P1") == {}


def test_a_store_that_searches_its_own_texts_has_them_analyzed_in_the_aggregates(
        store: OxigraphStore) -> None:
    aggregates.refresh(PlainStore(store), Uris(BASE))
    analyzed = texts(store, "P1")
    assert analyzed["searchTitle"].split(" | ")[0] == "lgen_cluster lgen_and lgen_innov"
    assert "innovacion" in analyzed["searchAbstract"]  # folded
    assert analyzed["searchText"].startswith(analyzed["searchTitle"])


def test_texts_of_a_changed_or_removed_record_go_with_it(store: OxigraphStore) -> None:
    uris, plain = Uris(BASE), PlainStore(store)
    aggregates.refresh(plain, uris)
    add_record(store, "P1", content_hash="h2", title="Tourism", abstract="Beaches.")
    remove_record(store, "P3")
    aggregates.refresh(plain, uris)
    assert texts(store, "P1")["searchTitle"] == "lgen_tourism | tourism"
    assert texts(store, "P3") == {}


def test_a_word_index_left_in_the_default_graph_is_removed_with_its_aggregates(
        store: OxigraphStore) -> None:
    """Aggregates stamped as having a word index in the default graph are recomputed, and
    their words go."""
    uris = Uris(BASE)
    aggregates.refresh(store, uris)
    legacy = ox.NamedNode(f"{BASE}graph/aggregates/publication/P1")
    stamp = next(store.engine.quads_for_pattern(legacy, ox.NamedNode(PKG + "aggregateStamp"),
                                                None, legacy))
    store.engine.remove(stamp)
    store.engine.add(ox.Quad(legacy, stamp.predicate,
                             ox.Literal(stamp.object.value.replace(" text-index",
                                                                   " default-graph-words")),
                             legacy))
    publication = ox.NamedNode(f"{BASE}id/publication/P1")
    store.engine.add(ox.Quad(publication, ox.NamedNode(PKG + "word"), ox.Literal("clusters")))
    assert aggregates.refresh(store, uris).updated == 1
    assert not list(store.engine.quads_for_pattern(None, ox.NamedNode(PKG + "word"), None))


def test_a_store_is_up_to_date_after_a_refresh_until_records_or_vocabularies_change(
        store: OxigraphStore) -> None:
    uris, words = Uris(BASE), aggregates.Texts.of(store)
    assert not aggregates.up_to_date(store, uris, aggregates.ConceptHierarchy.read(store), words)
    aggregates.refresh(store, uris)
    assert aggregates.up_to_date(store, uris, aggregates.ConceptHierarchy.read(store), words)
    aggregates.mark_pending(store, uris)  # a load's first change
    assert not aggregates.up_to_date(store, uris, aggregates.ConceptHierarchy.read(store), words)
    aggregates.refresh(store, uris)
    closure = ox.NamedNode(BASE + "graph/inferred/vocabularies")
    store.engine.add(ox.Quad(ox.NamedNode(BASE + "id/region/caribbean"),
                             ox.NamedNode("http://www.w3.org/2004/02/skos/core#broaderTransitive"),
                             ox.NamedNode(BASE + "id/region/americas"), closure))
    assert not aggregates.up_to_date(store, uris, aggregates.ConceptHierarchy.read(store), words)


def test_an_indexed_refresh_recounts_the_tallies_without_looking_for_stale_publications(
        store: OxigraphStore) -> None:
    """What a load that began up to date asks for: it wrote its records' aggregates itself."""
    uris = Uris(BASE)
    aggregates.refresh(store, uris)
    aggregates.mark_pending(store, uris)
    remove_record(store, "P2")
    store.replace([f"{BASE}graph/aggregates/publication/P2"], [])
    summary = aggregates.refresh(store, uris, indexed=True)
    assert (summary.updated, summary.removed) == (0, 0) and summary.tallies
    assert tallies(store, "CoauthorTally") == {("a", "b"): 1}
    assert not aggregates.tallies_pending(store, uris)


def test_tallies(store: OxigraphStore) -> None:
    aggregates.refresh(store, Uris(BASE))
    assert tallies(store, "JelTally") == {
        ("O",): 2, ("O3",): 2, ("O31",): 2, ("O32",): 1, ("F",): 1, ("F1",): 1, ("F13",): 1}
    assert tallies(store, "YearTally") == {("2021",): 1, ("2023",): 2}
    assert tallies(store, "RegionYearTally") == {
        ("2021", "JM"): 1, ("2021", "caribbean"): 1, ("2021", "lac"): 1,
        ("2023", "JM"): 1, ("2023", "caribbean"): 2, ("2023", "lac"): 2}
    assert tallies(store, "DivisionYearTally") == {("2021", "ifd-cti"): 1, ("2023", "ifd-cti"): 2}
    assert tallies(store, "CoauthorTally") == {("a", "b"): 2, ("a", "c"): 1, ("b", "c"): 1}
    assert tallies(store, "KeywordPairTally") == {
        ("k1", "k2"): 2, ("k1", "k3"): 1, ("k2", "k3"): 1}
    ranks = f"""PREFIX pkg: <{PKG}>
    SELECT ?a ?b ?rank WHERE {{ ?t pkg:rank ?rank ; pkg:tallyPerson ?a, ?b
      FILTER(STR(?a) < STR(?b)) }} ORDER BY ?rank"""
    assert [(r["a"].value[-1], r["b"].value[-1], r["rank"].value) for r in store.query(ranks)] \
        == [("a", "b", "1"), ("a", "c", "2"), ("b", "c", "3")]


def test_removing_a_publication_updates_counts(store: OxigraphStore) -> None:
    uris = Uris(BASE)
    aggregates.refresh(store, uris)
    remove_record(store, "P2")
    summary = aggregates.refresh(store, uris)
    assert (summary.updated, summary.removed) == (0, 1)
    assert not store.has_graph(f"{BASE}graph/aggregates/publication/P2")
    assert tallies(store, "CoauthorTally") == {("a", "b"): 1}
    assert tallies(store, "KeywordPairTally") == {("k1", "k2"): 1}
    assert tallies(store, "JelTally")[("O",)] == 2
    assert ("F",) not in tallies(store, "JelTally")


def test_a_changed_record_is_reindexed_and_an_unchanged_store_is_left_alone(
        store: OxigraphStore) -> None:
    uris = Uris(BASE)
    aggregates.refresh(store, uris)
    again = aggregates.refresh(store, uris)
    assert (again.updated, again.removed, again.tallies) == (0, 0, {})
    add_record(store, "P3", content_hash="h2", jel="<id/jel/F13>", issued='"2020"^^xsd:gYear')
    changed = aggregates.refresh(store, uris)
    assert changed.updated == 1
    assert short(objects(store, "P3", "jelRollup")) == {"F13", "F1", "F"}
    assert objects(store, "P3", "issuedYear") == {"2020"}
    assert tallies(store, "YearTally") == {("2020",): 1, ("2023",): 2}


def test_a_new_publication_is_added_to_the_counts(store: OxigraphStore) -> None:
    uris = Uris(BASE)
    aggregates.refresh(store, uris)
    fields = dict(RECORDS["P1"], creators="<id/person/b>, <id/person/a>")
    graph = ox.NamedNode(f"{BASE}graph/publication/P4")
    text = PREFIXES + RECORD.format(key="P4", hash="h1", **fields)
    store.replace([], [ox.Quad(t.subject, t.predicate, t.object, graph)
                       for t in ox.parse(text, ox.RdfFormat.TURTLE)])
    summary = aggregates.refresh(store, uris)
    assert summary.updated == 1
    assert tallies(store, "CoauthorTally")[("a", "b")] == 3


def test_a_changed_hierarchy_recomputes_every_publication(store: OxigraphStore) -> None:
    uris = Uris(BASE)
    aggregates.refresh(store, uris)
    closure = ox.NamedNode(BASE + "graph/inferred/vocabularies")
    store.engine.add(ox.Quad(ox.NamedNode(BASE + "id/region/caribbean"),
                             ox.NamedNode("http://www.w3.org/2004/02/skos/core#broaderTransitive"),
                             ox.NamedNode(BASE + "id/region/americas"), closure))
    summary = aggregates.refresh(store, uris)
    assert summary.updated == 3
    assert "americas" in short(objects(store, "P2", "regionRollup"))


def test_pair_tallies_keep_the_most_frequent_pairs() -> None:
    counts = Counter({5: 1, 3: 2, 1: 2})  # pairs per count
    assert aggregates.pair_minimum(counts, most=10) == 1
    assert aggregates.pair_minimum(counts, most=3) == 3
    assert aggregates.pair_minimum(counts, most=2) == 5
    assert aggregates.pair_minimum(counts, most=0) == 6
    assert aggregates.pair_minimum(Counter(), most=10) == 1


def keyword_store(publications: int = 80, seed: int = 7) -> OxigraphStore:
    """Publications with 2-4 of 9 keywords, the first keywords far more often than the last."""
    import random

    chooser = random.Random(seed)
    store = OxigraphStore(None)
    graph = ox.NamedNode(BASE + "graph/publication/all")
    keywords = [ox.NamedNode(f"{BASE}id/keyword/k{i}") for i in range(9)]
    weights = [1 / (i + 1) for i in range(9)]
    store.replace([], [
        ox.Quad(ox.NamedNode(f"{BASE}id/publication/p{n}"), ox.NamedNode(PKG + "keyword"), k, graph)
        for n in range(publications)
        for k in set(chooser.choices(keywords, weights, k=chooser.randint(2, 4)))])
    return store


def test_a_pair_recount_started_from_the_last_tally_keeps_what_a_full_one_keeps() -> None:
    """The least count the last tally kept is only where a recount starts: whatever it is,
    the pairs kept and their counts are those of a recount from scratch."""
    store, prop = keyword_store(), PKG + "keyword"
    asked: list[str] = []
    query = store.query
    store.query = lambda text, **options: asked.append(text) or query(text, **options)
    every, _ = aggregates.count_pairs(store, prop, most=1000)
    saved = 0
    for most in (1, 3, 8, 20, 100):
        expected = aggregates.count_pairs(store, prop, hint=1, most=most)
        for hint in (2, 3, 5, 8, 13, 40):
            asked.clear()
            assert aggregates.count_pairs(store, prop, hint=hint, most=most) == expected
            if hint > 2 and sum(c >= hint - 1 for c in every.values()) > most:
                assert len(asked) == 1  # the pairs settle it: no distribution read
                saved += 1
    assert saved >= 5


class PlainStore:
    """A store with only the GraphStore protocol, as a store elsewhere (no pyoxigraph engine,
    no pair counts file, its texts searched in its aggregates)."""

    in_process = False

    def __init__(self, inner: OxigraphStore) -> None:
        self._inner = inner

    def text_index(self) -> StoreTextIndex:
        return StoreTextIndex(self)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> object:
        if name == "engine":
            raise AttributeError(name)
        return getattr(self._inner, name)


def test_refresh_through_the_store_protocol_only(store: OxigraphStore) -> None:
    plain = PlainStore(store)
    assert aggregates.refresh(plain, Uris(BASE)).updated == 3
    assert tallies(store, "CoauthorTally")[("a", "b")] == 2
    add_record(store, "P1", content_hash="h2", jel="<id/jel/F13>")
    assert aggregates.refresh(plain, Uris(BASE)).updated == 1
    assert short(objects(store, "P1", "jelTop")) == {"F"}


class WatchedStore:
    """A store that, after each write, looks at what a reader would see then."""

    WRITES = ("replace", "write_batch", "add_derived", "remove_quads", "update", "exchange")

    def __init__(self, inner: OxigraphStore, look: Callable[[], None]) -> None:
        self._inner, self._look = inner, look

    def __getattr__(self, name: str) -> object:
        found = getattr(self._inner, name)
        if name not in self.WRITES:
            return found

        def write(*args: object, **options: object) -> object:
            result = found(*args, **options)
            self._look()
            return result

        return write


def test_a_reader_sees_every_tally_while_a_refresh_rewrites_them(store: OxigraphStore) -> None:
    """Between any two writes of the refresh that follows a removal, the tallies read are the
    old ones or the new ones, never none."""
    uris = Uris(BASE)
    aggregates.refresh(store, uris)
    remove_record(store, "P2")
    kinds = ("JelTally", "YearTally", "RegionYearTally", "CoauthorTally", "KeywordPairTally")
    seen: list[dict[str, dict[tuple[str, ...], int]]] = []
    watched = WatchedStore(store, lambda: seen.append({k: tallies(store, k) for k in kinds}))
    aggregates.refresh(watched, uris)  # type: ignore[arg-type]
    assert seen
    assert all(tally for reading in seen for tally in reading.values())
    assert seen[-1]["YearTally"] == {("2021",): 1, ("2023",): 1}
