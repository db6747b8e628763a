"""The pair counts file beside the embedded store (graph/pair_counts.py): the co-author and
keyword-pair tallies follow each load's new, replaced and deleted records and equal a recount
in the store; the file is rebuilt from the records whenever it may have missed a change."""

from __future__ import annotations

import random
import sqlite3
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from conftest import store_environment
from oai_records import OaiRecord, synthetic_records, write_files
from oai_server import Repository

from policykg.graph import aggregates
from policykg.graph.aggregates import pair_counts, tallies
from policykg.graph.aggregates.pair_counts import PairCounts
from policykg.graph.cli import main
from policykg.graph.config import Settings
from policykg.graph.rdf.uris import Uris
from policykg.graph.store import open_store

BASE = "http://localhost:8000/"
PKG = "https://w3id.org/policykg/ontology#"
PAIR_TALLIES = {"coauthors": ("CoauthorTally", "tallyPerson"),
                "keyword-pairs": ("KeywordPairTally", "tallyKeyword")}
AUTHOR = "dc.contributor.author"


def run(settings: Settings, *args: str):
    """A ``policykg`` command on the settings' home and store, in this process."""
    return CliRunner().invoke(main, ["--home", settings.home, "--store",
                                     settings.store_location, *args],
                              catch_exceptions=False, env=store_environment(settings))


def load(settings: Settings, records: list[OaiRecord], folder: Path) -> str:
    """``policykg load`` of the records as OAI-PMH files; its summary."""
    paths = write_files(records, folder, "dim", per_file=50)
    return run(settings, "load", *map(str, paths)).output


def tallied(settings: Settings, name: str) -> tuple[Counter[tuple[str, str]], list[int]]:
    """A pair tally as the store holds it: pair -> count, and the counts in rank order."""
    kind, dimension = PAIR_TALLIES[name]
    with open_store(settings.store_location, read_only=True, settings=settings) as store:
        rows = list(store.query(f"""PREFIX pkg: <{PKG}>
            SELECT ?a ?b ?count ?rank {{ ?t a pkg:{kind} ; pkg:{dimension} ?a, ?b ;
                pkg:publicationCount ?count OPTIONAL {{ ?t pkg:rank ?rank }}
                FILTER(STR(?a) < STR(?b)) }}"""))
    pairs = Counter({(r["a"].value, r["b"].value): int(r["count"].value) for r in rows})
    ranked = sorted((int(r["rank"].value), int(r["count"].value)) for r in rows if r["rank"])
    return pairs, [count for _, count in ranked]


def recounted(settings: Settings, name: str, most: int) -> Counter[tuple[str, str]]:
    """The pairs a recount over the store keeps (the way a remote store counts them)."""
    prop = aggregates.TALLY_KINDS[name].pair_property or ""
    with open_store(settings.store_location, read_only=True, settings=settings) as store:
        return aggregates.count_pairs(store, prop, most=most)[0]


def tally_graph_quads(settings: Settings, name: str) -> set:
    graph = aggregates.tally_graph(Uris(BASE), name)
    with open_store(settings.store_location, read_only=True, settings=settings) as store:
        return set(store.engine.quads_for_pattern(None, None, None, ox.NamedNode(graph)))


def rewritten_quads(settings: Settings, name: str, most: int) -> set:
    """The quads of a pair tally written whole from a recount in the store."""
    uris, tally = Uris(BASE), aggregates.TALLY_KINDS[name]
    graph = ox.NamedNode(aggregates.tally_graph(uris, name))
    with open_store(settings.store_location, read_only=True, settings=settings) as store:
        stamp = {q.object for q in store.engine.quads_for_pattern(
            graph, ox.NamedNode(PKG + "aggregateStamp"), None, graph)}
    ranked = aggregates.ranked_pairs(recounted(settings, name, most))
    return {*(q for pair, values in ranked.items()
              for q in aggregates.pair_node_quads(tally, graph, pair, *values)),
            *(ox.Quad(graph, ox.NamedNode(PKG + "aggregateStamp"), s, graph) for s in stamp)}


def dimension_rows(settings: Settings, name: str, recount: bool) -> Counter[tuple[str, ...]]:
    """A dimension tally's nodes, as (class, member..., count) rows: as the store holds it,
    or as its CONSTRUCT query counts them in the store now."""
    graph = ox.NamedNode(aggregates.tally_graph(Uris(BASE), name))
    tally = aggregates.TALLY_KINDS[name]
    with open_store(settings.store_location, read_only=True, settings=settings) as store:
        quads = (aggregates.tally_quads(store, tally, graph) if recount
                 else store.engine.quads_for_pattern(None, None, None, graph))
        nodes: dict[object, dict[str, str]] = {}
        for quad in quads:
            if not isinstance(quad.subject, ox.BlankNode):
                continue  # the stamp
            nodes.setdefault(quad.subject, {})[quad.predicate.value.rsplit("#")[-1]] = str(
                quad.object)
    assert all(len(node) == 2 + len(tally.dimensions) for node in nodes.values())
    return Counter(tuple(node[key] for key in sorted(node)) for node in nodes.values())


def assert_tallies_match_a_recount(settings: Settings, most: int, ranked: int) -> None:
    """Each pair tally holds what a recount in the store gives, ranked, and exactly the quads
    a whole rewrite would write (nothing left over by changes in place); each dimension
    tally (publications per JEL code, year, division and year, region and year), what its
    query counts."""
    for name in pair_counts.DIMENSIONS:
        held = dimension_rows(settings, name, recount=False)
        assert held, name
        assert held == dimension_rows(settings, name, recount=True), name
    for name in PAIR_TALLIES:
        pairs, ranks = tallied(settings, name)
        assert pairs == recounted(settings, name, most), name
        assert pairs, name
        assert len(ranks) == min(ranked, len(pairs))
        assert ranks == sorted(ranks, reverse=True)
        assert tally_graph_quads(settings, name) == rewritten_quads(settings, name, most)


@pytest.fixture
def small_cut(monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """Pair tallies that keep 40 pairs and rank 10, so that the cut matters at test size."""
    monkeypatch.setattr(tallies, "MAX_PAIRS", 40)
    monkeypatch.setattr(tallies, "RANKED", 10)
    return 40, 10


def test_pair_tallies_follow_new_replaced_and_deleted_records_as_a_recount_finds_them(
        vocab_store: Settings, tmp_path: Path, small_cut: tuple[int, int]) -> None:
    repository, later = Repository(), synthetic_records(150)
    repository.add(later[:120])
    first = load(vocab_store, list(repository.records.values()), tmp_path / "first")
    assert "pair counts rebuilt" not in first  # a first load counts them as it writes
    assert_tallies_match_a_recount(vocab_store, *small_cut)

    chooser = random.Random(3)
    identifiers = sorted(repository.records)
    picked = chooser.sample(identifiers, 25)
    for identifier in picked[:15]:  # other authors and keywords
        donor = repository.records[chooser.choice(identifiers)].rows
        rows = [row for row in repository.records[identifier].rows
                if row[0] not in (AUTHOR, "dc.subject")]
        repository.change(identifier, rows + [r for r in donor if r[0] in (AUTHOR, "dc.subject")])
    for identifier in picked[15:]:
        repository.delete(identifier)
    repository.add(later[120:])
    second = load(vocab_store, list(repository.records.values()), tmp_path / "second")
    assert "loaded 30, replaced 15" in second and "deleted 10" in second
    assert "pair counts rebuilt" not in second  # counted as the records were written
    assert_tallies_match_a_recount(vocab_store, *small_cut)

    def no_rebuild(*_: object) -> None:
        raise AssertionError("the pair counts were rebuilt")

    with pytest.MonkeyPatch.context() as patch:  # a removal is counted too
        patch.setattr(pair_counts, "read_members", no_rebuild)
        key = repository.records[picked[0]].rows
        number = next(value for name, value, _ in key if name == "idb.identifier.pubnumber")
        assert run(vocab_store, "remove", number).exit_code == 0
    assert_tallies_match_a_recount(vocab_store, *small_cut)


def test_the_pairs_kept_are_those_a_recount_keeps_for_any_cut(vocab_store: Settings,
                                                               tmp_path: Path) -> None:
    load(vocab_store, synthetic_records(80), tmp_path)
    with open_store(vocab_store.store_location, settings=vocab_store) as store:
        counts = PairCounts.of(store)
        assert counts is not None and counts.in_step(store, Uris(BASE))
        for prop in aggregates.PAIR_PROPERTIES:
            every = aggregates.count_pairs(store, prop, most=10**6)[0]
            for most in (1, 5, 20, 60, len(every) - 1, len(every), 10**6):
                assert counts.kept(prop, most) == aggregates.count_pairs(store, prop, most=most)


def test_a_file_out_of_step_with_the_store_is_rebuilt_before_it_is_read(
        vocab_store: Settings, tmp_path: Path, small_cut: tuple[int, int]) -> None:
    """As a load leaves it when it dies between committing the file and writing its token in
    the store: the file counts what the store does not hold."""
    records = synthetic_records(60)
    load(vocab_store, records[:50], tmp_path / "first")
    with open_store(vocab_store.store_location, settings=vocab_store) as store:
        counts = PairCounts.of(store)
        counts.change({f"{BASE}id/publication/phantom": {
            prop: (f"{BASE}id/person/x", f"{BASE}id/person/y")
            for prop in aggregates.PAIR_PROPERTIES}})
        counts.commit()
        assert not counts.in_step(store, Uris(BASE))
    output = load(vocab_store, records, tmp_path / "second")
    assert "loaded 10" in output and "pair counts rebuilt" in output
    assert_tallies_match_a_recount(vocab_store, *small_cut)


def fifty_of_sixty(settings: Settings, folder: Path) -> tuple[list[OaiRecord], Path]:
    """Sixty records, the first fifty loaded; and the store's pair counts file."""
    records = synthetic_records(60)
    load(settings, records[:50], folder)
    with open_store(settings.store_location, settings=settings) as store:
        return records, Path(store.path) / pair_counts.FILE


def test_a_lost_file_is_rebuilt_and_the_store_folder_holds_it(
        vocab_store: Settings, tmp_path: Path, small_cut: tuple[int, int]) -> None:
    records, path = fifty_of_sixty(vocab_store, tmp_path / "first")
    assert path.is_file()
    path.unlink()
    output = load(vocab_store, records, tmp_path / "second")
    assert "pair counts rebuilt" in output and path.is_file()
    assert_tallies_match_a_recount(vocab_store, *small_cut)


def test_a_read_only_store_has_no_pair_counts_to_change(vocab_store: Settings) -> None:
    with open_store(vocab_store.store_location, read_only=True, settings=vocab_store) as store:
        assert PairCounts.of(store) is None


def test_a_file_that_is_not_a_database_is_put_aside_and_rebuilt(
        vocab_store: Settings, tmp_path: Path, small_cut: tuple[int, int]) -> None:
    records, path = fifty_of_sixty(vocab_store, tmp_path / "first")
    path.write_bytes(b"not a database at all " * 100)
    output = load(vocab_store, records, tmp_path / "second")
    assert "loaded 10" in output and "pair counts rebuilt" in output
    assert path.with_name(pair_counts.FILE + ".broken").read_bytes().startswith(b"not a")
    assert_tallies_match_a_recount(vocab_store, *small_cut)


def test_a_file_with_other_tables_is_made_anew(tmp_path: Path) -> None:
    """As a file written by another version of policykg leaves it."""
    path = tmp_path / pair_counts.FILE
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE pair (a TEXT, b TEXT, n INTEGER)")
        old.execute("PRAGMA user_version = 0")
    counts = PairCounts(str(path))
    counts.change({"p": {"prop": ("a", "b")}})
    assert counts.kept("prop", 10) == (Counter({("a", "b"): 1}), 1)
    counts.commit()
    counts.close()


def test_a_small_load_changes_the_pair_tallies_in_place_as_a_rewrite_would_write_them(
        vocab_store: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tallies, "RANKED", 10)  # ranks change, not only counts
    repository = Repository()
    repository.add(synthetic_records(120))
    load(vocab_store, list(repository.records.values()), tmp_path / "first")
    top_pair = f"""PREFIX pkg: <{PKG}> PREFIX foaf: <http://xmlns.com/foaf/0.1/>
        PREFIX dcterms: <http://purl.org/dc/terms/>
        SELECT ?source ?count {{ ?tally pkg:rank 1 ; pkg:tallyPerson ?a, ?b ;
            pkg:publicationCount ?count . FILTER(?a != ?b)
          ?publication dcterms:creator ?a, ?b . ?graph foaf:primaryTopic ?publication ;
            pkg:sourceIdentifier ?source }} LIMIT 1"""
    with open_store(vocab_store.store_location, read_only=True, settings=vocab_store) as store:
        row = next(iter(store.query(top_pair)))
    source, count = row["source"].value, int(row["count"].value)
    rewritten: list[str] = []
    rewrite = tallies._rewrite
    monkeypatch.setattr(tallies, "_rewrite", lambda store, graph, *rest: (
        rewritten.append(graph.value), rewrite(store, graph, *rest)))
    repository.delete(source)  # the most prolific pair has one publication less
    assert "deleted 1" in load(vocab_store, [repository.records[source]], tmp_path / "second")
    assert max(tallied(vocab_store, "coauthors")[0].values()) <= count
    for name in PAIR_TALLIES:
        assert aggregates.tally_graph(Uris(BASE), name) not in rewritten
        assert tally_graph_quads(vocab_store, name) == rewritten_quads(
            vocab_store, name, aggregates.MAX_PAIRS)
