"""The librarian's commands over a loaded store: query, export, stats, validate; on the embedded
store and on a remote one (``vocab_store``, with the sample record loaded)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from click.testing import CliRunner, Result
from conftest import store_environment

from policykg.graph.cli import main
from policykg.graph.config import Settings
from policykg.graph.store import open_store

FIXTURES = Path(__file__).parent / "fixtures"
BASE = "http://localhost:8000/"
TITLE = ("Mainstreaming the Cluster Approach in the Caribbean Region: "
         "The CCPF Cluster Capacity Building Initiative")
BACKENDS = ("oxigraph", "virtuoso")
PUBLICATION = BASE + "id/publication/IDB-LM-00577"
RECORD_GRAPH = BASE + "graph/publication/IDB-LM-00577"
TITLES = f"SELECT ?title WHERE {{ <{PUBLICATION}> <http://purl.org/dc/terms/title> ?title }}"


def run(settings: Settings, *args: str) -> Result:
    options = ["--home", settings.home, "--store", settings.store_location]
    return CliRunner().invoke(main, [*options, *args], env=store_environment(settings))


@pytest.fixture
def loaded(vocab_store: Settings) -> Settings:
    """A store holding the vocabularies and the sample record."""
    result = run(vocab_store, "load", str(FIXTURES / "dspace-page-IDB-LM-00577.txt"))
    assert result.exit_code == 0, result.output
    return vocab_store


def test_query_prints_a_table_csv_or_json(loaded: Settings) -> None:
    table = run(loaded, "query", TITLES)
    assert table.exit_code == 0 and "(1 rows)" in table.output
    assert TITLE[:80] in table.output  # a table cuts long values
    rows = list(csv.reader(io.StringIO(run(loaded, "query", TITLES, "--format", "csv").output)))
    assert rows == [["title"], [TITLE]]
    assert json.loads(run(loaded, "query", TITLES, "--format", "json").output) == [
        {"title": TITLE}]


def test_query_answers_ask_and_construct(loaded: Settings) -> None:
    assert run(loaded, "query", f"ASK {{ <{PUBLICATION}> ?p ?o }}").output.strip() == "true"
    constructed = run(loaded, "query", f"CONSTRUCT {{ <{PUBLICATION}> "
                      f"<http://purl.org/dc/terms/title> ?t }} WHERE {{ <{PUBLICATION}> "
                      "<http://purl.org/dc/terms/title> ?t }").output
    graph = rdflib.Graph().parse(data=constructed, format="turtle")
    assert {str(o) for o in graph.objects()} == {TITLE}


def test_a_query_with_a_syntax_error_is_a_usage_error(loaded: Settings) -> None:
    result = run(loaded, "query", "SELECT ?x WHERE {")
    assert result.exit_code == 2 and "SPARQL syntax error" in result.output


def test_query_prints_an_ask_as_sparql_json(loaded: Settings) -> None:
    result = run(loaded, "query", "--format", "json", f"ASK {{ <{PUBLICATION}> ?p ?o }}")
    assert json.loads(result.output) == {"head": {}, "boolean": True}


@pytest.mark.parametrize(("sparql", "pointed"), [
    ("SELEC ?x WHERE { ?x ?p ?o }",
     ["  SELEC ?x WHERE { ?x ?p ?o }", "  ^^^^^", "'SELEC': did you mean SELECT?"]),
    ("PREFIX dcterms: <http://purl.org/dc/terms/>\nSELECT ?t WHERE {\n"
     "\t?p dcterms:title ?t FILTR(lang(?t) = 'en') }",
     ["          ?p dcterms:title ?t FILTR(lang(?t) = 'en') }",
      "                              ^^^^^", "'FILTR': did you mean FILTER?"]),
], ids=["select", "filter-on-line-3"])
def test_a_misspelled_keyword_is_pointed_at(loaded: Settings, sparql: str,
                                            pointed: list[str]) -> None:
    result = run(loaded, "query", sparql)
    assert result.exit_code == 2
    lines = result.output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Error: SPARQL syntax"))
    assert lines[start + 1:start + 4] == pointed, result.output


def test_an_option_of_policykg_given_after_the_command_is_told_where_it_goes(
        loaded: Settings) -> None:
    result = CliRunner().invoke(main, ["query", "ASK {}", "--home", loaded.home])
    assert result.exit_code == 2
    assert ("--home is an option of policykg itself: give it before the command "
            "(policykg --home VALUE query ...)") in result.output


def test_export_writes_the_named_graphs_or_their_union(loaded: Settings, tmp_path: Path) -> None:
    for output in ("nq", "trig", "ttl"):
        path = tmp_path / f"dump.{output}"
        assert run(loaded, "export", "--format", output, "--out", str(path)).exit_code == 0
        rdf_format = {"nq": ox.RdfFormat.N_QUADS, "trig": ox.RdfFormat.TRIG,
                      "ttl": ox.RdfFormat.TURTLE}[output]
        parsed = list(ox.parse(path=path, format=rdf_format))
        titles = [q for q in parsed if q.subject == ox.NamedNode(PUBLICATION)
                  and q.object == ox.Literal(TITLE, language="en")]
        assert titles, output
        if output != "ttl":  # a dataset: the title is in the record's own graph
            assert ox.NamedNode(RECORD_GRAPH) in {q.graph_name for q in titles}


def test_stats_counts_things_per_class_by_prefixed_name_and_triples_per_kind_of_graph(
        loaded: Settings) -> None:
    result = run(loaded, "stats")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    publications = next(line for line in lines if line.startswith("pkg:Publication "))
    assert publications.split()[1] == "1"
    kinds = {line.split()[0] for line in lines if line.strip()}
    assert {"publication", "person", "inferred/publication", "aggregates"} <= kinds
    index = next(line for line in lines if line.startswith("text index: "))
    assert index.startswith("text index: 1 publications") and "in step with the store" in index


def test_validate_reports_a_conforming_store(loaded: Settings) -> None:
    text = run(loaded, "validate")
    assert text.exit_code == 0 and text.output.strip().endswith("conforms")
    report = rdflib.Graph().parse(data=run(loaded, "validate", "--format", "ttl").output,
                                  format="turtle")
    shacl = rdflib.Namespace("http://www.w3.org/ns/shacl#")
    assert set(report.objects(None, shacl.conforms)) == {rdflib.Literal(True)}


def test_validate_names_the_dspace_field_and_the_value_as_the_record_wrote_it(
        loaded: Settings) -> None:
    """A store changed behind the loader's back: its title removed, a JEL code not in the
    classification added."""
    with open_store(loaded.store_location, settings=loaded) as store:
        store.update(f"""PREFIX dcterms: <http://purl.org/dc/terms/>
            DELETE WHERE {{ GRAPH <{RECORD_GRAPH}> {{ <{PUBLICATION}> dcterms:title ?t }} }};
            INSERT DATA {{ GRAPH <{RECORD_GRAPH}> {{ <{PUBLICATION}>
                <https://w3id.org/policykg/ontology#jel> <{BASE}id/jel/Z99> }} }}""")
    result = run(loaded, "validate")
    assert result.exit_code == 1
    assert result.output.splitlines()[:2] == [
        "IDB-LM-00577: Violation: dc.title: a publication needs a title",
        "IDB-LM-00577: Violation: dc.subject.jelcode = 'Z99': JEL code Z99 is not in the JEL "
        "classification"]


def test_compact_compacts_the_embedded_store_and_refuses_a_remote_one(loaded: Settings,
                                                                      backend: str) -> None:
    result = run(loaded, "compact")
    if backend == "oxigraph":
        assert result.exit_code == 0, result.output
        assert re.fullmatch(r"store compacted in \d+\.\d s\n", result.output)
        assert TITLE[:60] in run(loaded, "query", TITLES).output  # the data as it was
    else:
        assert result.exit_code == 2 and "embedded store" in result.output


NEW_BASE = "https://data.example.org/"


def test_a_load_under_another_base_than_the_stores_is_refused_saying_what_to_do(loaded):
    result = run(loaded, "--base", NEW_BASE, "load",
                 str(FIXTURES / "dspace-page-IDB-LM-00577.txt"))
    assert result.exit_code == 2
    assert f"under {BASE}" in result.output and f"policykg rebase {NEW_BASE}" in result.output
    moved = TITLES.replace(BASE, NEW_BASE)
    assert "CCPF" not in run(loaded, "query", moved).output  # nothing minted under NEW_BASE


def test_rebase_moves_every_iri_under_the_new_base(loaded):
    result = run(loaded, "rebase", "--quiet", NEW_BASE)
    assert result.exit_code == 0, result.output
    assert f"--base {NEW_BASE}" in result.output
    moved = run(loaded, "--base", NEW_BASE, "query", "--format", "csv",
                TITLES.replace(BASE, NEW_BASE))
    assert TITLE in moved.output
    old = run(loaded, "query", "--format", "csv",
              f"SELECT ?s WHERE {{ ?s ?p ?o FILTER(STRSTARTS(STR(?s), '{BASE}')) }} LIMIT 1")
    assert old.output.strip() == "s"  # nothing left under the old base
    again = run(loaded, "--base", NEW_BASE, "load",
                str(FIXTURES / "dspace-page-IDB-LM-00577.txt"))
    assert again.exit_code == 0, again.output
