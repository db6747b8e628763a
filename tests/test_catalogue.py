"""The query catalogue (sparql/*.rq, policykg.webapp.api.catalogue): headers, parameter binding,
and every named query on the store of the sample record."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from itertools import combinations
from pathlib import Path

import pyoxigraph as ox
import pytest

from policykg.graph import aggregates
from policykg.graph.rdf.sparql_text import with_limit
from policykg.graph.rdf.uris import Uris
from policykg.graph.search.sparql import expand_matches
from policykg.graph.store.embedded import OxigraphStore
from policykg.webapp.api import catalogue as cat

BASE = "http://localhost:8000/"
ID = BASE + "id/"
INJECTION = '"} ; DROP ALL ; #'
README = Path(__file__).parents[1] / "sparql" / "README.md"
QUERIES = cat.catalogue()

# What each named query answers with its defaults on the sample record (IDB-LM-00577), as
# rows of plain values in the order of the projection; None: unbound.
TITLE = ("Mainstreaming the Cluster Approach in the Caribbean Region: The CCPF Cluster "
         "Capacity Building Initiative")
PUB = ID + "publication/IDB-LM-00577"
ISSUED = "2023-03-08T00:03:00"
ROBERTA, ELISA = ID + "person/rabellotti-roberta", ID + "person/conz-elisa"
O_LABEL = "Economic Development, Innovation, Technological Change, and Growth"
O3_LABEL = ("Innovation; Research and Development; Technological Change; "
            "Intellectual Property Rights")
KEYWORDS = {"caribbean": "Caribbean", "cluster": "cluster", "innovation": "innovation",
            "national-ecosystem": "national ecosystem",
            "regional-ecosystem": "regional ecosystem"}
class _AnyScore(str):
    """Equal to any relevance score (a number the ranking computes)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and float(other) > 0

    __hash__ = str.__hash__


ANY_SCORE = _AnyScore("a score")
EXPECTED: dict[str, list[tuple[str | None, ...]]] = {
    "coauthors-of-person": [(ROBERTA, ELISA, "Elisa Conz", "1")],
    "division-authors": [(ID + "org/ifd-cti", ELISA, "Elisa Conz", "1"),
                         (ID + "org/ifd-cti", ROBERTA, "Roberta Rabellotti", "1")],
    "division-jel-profile": [(ID + "org/ifd-cti", ID + "jel/O", "O", O_LABEL, "1")],
    "division-publications-per-year": [(ID + "org/ifd-cti", "2023", "1")],
    "jel-breakdown": [(ID + "jel/O", ID + "jel/O3", "O3", O3_LABEL, "1")],
    "keyword-cooccurrence": [
        (ID + "keyword/innovation", ID + f"keyword/{key}", label, "1")
        for key, label in (("caribbean", "Caribbean"), ("cluster", "cluster"),
                           ("national-ecosystem", "national ecosystem"),
                           ("regional-ecosystem", "regional ecosystem"))],
    "operation-publications": [(ID + "operation/RG-E1776", PUB, TITLE, ISSUED)],
    "persons-by-name": [("^(.*-)?rabellotti", ROBERTA, "Roberta Rabellotti", "1")],
    "prolific-authors-in-jel": [(ID + "jel/O", ELISA, "Elisa Conz", "1"),
                                (ID + "jel/O", ROBERTA, "Roberta Rabellotti", "1")],
    "publications-in-region": [(ID + "region/caribbean", PUB, TITLE, "2023")],
    "publications-per-jel-top": [(ID + "jel/O", "O", O_LABEL, "1")],
    "publications-per-year": [("2023", "1")],
    "recent-publications": [("2023-01-01", PUB, TITLE, ISSUED)],
    "region-publications-per-year": [(ID + "region/latin-america-and-the-caribbean", "2023",
                                      "1")],
    "top-coauthor-pairs": [(ELISA, "Elisa Conz", ROBERTA, "Roberta Rabellotti", "1")],
    "top-keyword-pairs": [
        (ID + f"keyword/{a}", KEYWORDS[a], ID + f"keyword/{b}", KEYWORDS[b], "1")
        for a, b in combinations(sorted(KEYWORDS), 2)],
    "word-search": [("cluster innovation", PUB, TITLE, "2023", ANY_SCORE)],
}


@pytest.fixture(scope="module")
def store(loaded_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OxigraphStore]:
    """A copy of the sample-loaded store, its aggregates refreshed (a no-op once the load does)."""
    path = tmp_path_factory.mktemp("catalogue") / "store"
    shutil.copytree(loaded_store, path)
    store = OxigraphStore(path)
    aggregates.refresh(store, Uris(BASE))
    yield store
    store.close()


def values(result: cat.Result) -> list[tuple[str | None, ...]]:
    return [tuple(None if row[name] is None else row[name].value for name in result.variables)
            for row in result.rows]


def quad_count(store: OxigraphStore) -> int:
    return sum(1 for _ in store.quads())


# --- the files ----------------------------------------------------------------------------


def test_there_are_at_least_ten_queries_and_each_is_expected() -> None:
    assert len(QUERIES) >= 10
    assert set(QUERIES) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_header_is_complete(name: str) -> None:
    query = QUERIES[name]
    assert query.title and query.description and query.tags
    assert len({p.name for p in query.parameters}) == len(query.parameters)
    for parameter in query.parameters:
        assert parameter.description
        assert not parameter.required, "give every parameter a default (examples need them)"
        assert parameter.type.name == "limit" or f"?{parameter.name}" in query.text


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_query_parses_and_binds_on_an_empty_store(name: str) -> None:
    """Parses, is a SELECT, and every parameter variable is substitutable (projected)."""
    query = QUERIES[name]
    binding = query.bind({}, Uris(BASE), 100)
    result = ox.Store().query(query.text, use_default_graph_as_union=True,
                              substitutions=binding.substitutions)
    assert isinstance(result, ox.QuerySolutions)
    variables = [v.value for v in result.variables]
    assert all(v.value in variables for v in binding.substitutions)


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_no_outer_limit_in_a_query_with_a_limit_parameter(name: str) -> None:
    """The limit parameter cuts the rows; a LIMIT may only cap a subquery."""
    query = QUERIES[name]
    lines = [line.strip() for line in query.text.splitlines()
             if line.strip() and not line.startswith("#")]
    if any(p.type.name == "limit" for p in query.parameters):
        assert lines[-1] == "}" or lines[-1].upper().startswith("ORDER BY"), lines[-1]


def test_every_parameter_type_is_documented() -> None:
    readme = README.read_text(encoding="utf-8")
    for name in cat.TYPES:
        assert f"| `{name}` |" in readme


@pytest.mark.parametrize("header, message", [
    ("#+ description: d\n", "title"),
    ("#+ title: t\n", "description"),
    ("#+ title: t\n#+ description: d\n#+ params: x\n", "unknown header"),
    ("#+ title: t\n#+ description: d\n#+ param: x | nope | 1 | d\n", "unknown type"),
    ("#+ title: t\n#+ description: d\n#+ param: x | string | 1\n", "name | type"),
    ("#+ title: t\n#+ description: d\n#+ param: x | string | 1 |\n", "no description"),
])
def test_incomplete_headers_are_refused(header: str, message: str) -> None:
    with pytest.raises(cat.CatalogueError, match=message):
        cat.parse("q", header + "SELECT * WHERE { ?s ?p ?o }")


def test_header_continuation_lines() -> None:
    query = cat.parse("q", "#+ title: T\n#+ description: one\n#+   two\n#+ tags: a, b\n"
                           "#+ param: x | integer | 3 | an x\nSELECT ?x WHERE { ?s ?p ?x }")
    assert (query.title, query.description, query.tags) == ("T", "one two", ("a", "b"))
    assert query.parameters[0].default == "3"


# --- binding ------------------------------------------------------------------------------


@pytest.mark.parametrize("type_name, given, expected", [
    ("jel-code", "o31", ox.NamedNode(ID + "jel/O31")),
    ("region-key", "jm", ox.NamedNode(ID + "region/JM")),
    ("region-key", "Central America", ox.NamedNode(ID + "region/central-america")),
    ("org-key", "ifd-cti", ox.NamedNode(ID + "org/ifd-cti")),
    ("person", "Rabellotti, Roberta", ox.NamedNode(ROBERTA)),
    ("keyword", "regional ecosystem", ox.NamedNode(ID + "keyword/regional-ecosystem")),
    ("operation", "rg-e1776", ox.NamedNode(ID + "operation/RG-E1776")),
    ("text", " Innovación -x ", ox.Literal("Innovación -x")),
    ("string", INJECTION, ox.Literal(INJECTION)),
    ("integer", "-3", ox.Literal("-3", datatype=ox.NamedNode(cat.XSD + "integer"))),
    ("year", "2023", ox.Literal("2023", datatype=ox.NamedNode(cat.XSD + "integer"))),
    ("date", "2023-01-31", ox.Literal("2023-01-31", datatype=ox.NamedNode(cat.XSD + "date"))),
    ("iri", "https://example.org/x", ox.NamedNode("https://example.org/x")),
    ("limit", "7", 7),
])
def test_values_become_terms(type_name: str, given: str, expected: object) -> None:
    parameter = cat.Parameter("p", cat.TYPES[type_name], "x", "a parameter")
    assert parameter.value(given, Uris(BASE)) == expected


@pytest.mark.parametrize("type_name, given", [
    ("jel-code", "O311"), ("jel-code", INJECTION), ("region-key", "!!"),
    ("org-key", "IFD CTI"), ("operation", INJECTION), ("person", "!!"), ("text", "***"),
    ("text", "  "), ("person-name", " ,; "), ("integer", "1.5"), ("year", "99"),
    ("date", "2023-13-01"),
    ("iri", "not an iri"), ("iri", "http://x/ y"), ("limit", "0"), ("limit", "ten"),
    ("string", "x" * 201),
])
def test_bad_values_name_the_parameter(type_name: str, given: str) -> None:
    parameter = cat.Parameter("p", cat.TYPES[type_name], "x", "a parameter")
    with pytest.raises(cat.ParameterError, match="parameter 'p'") as raised:
        parameter.value(given, Uris(BASE))
    assert raised.value.name == "p"


def test_unknown_parameters_are_refused() -> None:
    with pytest.raises(cat.ParameterError, match="no such parameter") as raised:
        QUERIES["word-search"].bind({"wrod": "x"}, Uris(BASE), 10)
    assert raised.value.name == "wrod"


def test_limit_is_capped_by_max_rows() -> None:
    assert QUERIES["word-search"].bind({"limit": "500"}, Uris(BASE), 100).limit == 100
    assert QUERIES["word-search"].bind({}, Uris(BASE), 100).limit == 50


# --- the queries on the sample ------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_query_answers_the_sample(store: OxigraphStore, name: str) -> None:
    result = cat.run(QUERIES[name], store, {}, Uris(BASE), 100)
    assert values(result) == EXPECTED[name]
    assert not result.truncated


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_example_text_answers_as_the_bound_query(store: OxigraphStore, name: str) -> None:
    """The example for the SPARQL page (defaults in a VALUES block) runs and agrees."""
    query = QUERIES[name]
    example = query.example(Uris(BASE))
    assert INJECTION not in example
    rows = list(store.query(expand_matches(example, store.text_index().matches)))
    bound = cat.run(query, store, {}, Uris(BASE), 100)
    assert [tuple(None if r[v] is None else r[v].value for v in bound.variables)
            for r in rows] == values(bound)


def test_parameters_change_the_answer(store: OxigraphStore) -> None:
    run = cat.run
    assert values(run(QUERIES["publications-in-region"], store, {"region": "americas"},
                      Uris(BASE), 10))[0][1] == PUB
    assert values(run(QUERIES["publications-in-region"], store, {"region": "JM"},
                      Uris(BASE), 10)) == []
    assert values(run(QUERIES["prolific-authors-in-jel"], store, {"jel": "O32"},
                      Uris(BASE), 10))[0][0] == ID + "jel/O32"
    assert values(run(QUERIES["prolific-authors-in-jel"], store, {"jel": "A"},
                      Uris(BASE), 10)) == []
    assert values(run(QUERIES["word-search"], store, {"words": "CLÚSTER"},
                      Uris(BASE), 10))[0][1] == PUB
    assert values(run(QUERIES["word-search"], store, {"words": "cluster -caribbean"},
                      Uris(BASE), 10)) == []
    assert values(run(QUERIES["recent-publications"], store, {"since": "2023-03-09"},
                      Uris(BASE), 10)) == []


@pytest.mark.parametrize("name, found", [
    ("Rabellotti", True), ("rabellotti roberta", True), ("Roberta Rabellotti", True),
    ("Rabellotti, Roberta", True), ("RABÉLLOTTI", True), ("rabel", True), ("rob rab", True),
    ("bellotti", False), ("Roberta Conz", False), ("Rabellottix", False),
])
def test_persons_by_name_folds_case_and_accents_and_takes_the_words_in_any_order(
        store: OxigraphStore, name: str, found: bool) -> None:
    rows = values(cat.run(QUERIES["persons-by-name"], store, {"name": name}, Uris(BASE), 10))
    assert [row[1] for row in rows] == ([ROBERTA] if found else [])


def test_limit_truncates(store: OxigraphStore) -> None:
    result = cat.run(QUERIES["division-authors"], store, {"limit": "1"}, Uris(BASE), 100)
    assert len(result.rows) == 1 and result.truncated


def test_the_store_is_asked_for_one_row_past_the_cap() -> None:
    """run() sends LIMIT cap+1 (the store sorts for the top rows only and sends those), but
    no LIMIT over Virtuoso's largest sorted one (10000 rows)."""
    query = QUERIES["division-authors"]
    sent = query.sent_text(query.bind({"limit": "5"}, Uris(BASE), 100))
    assert sent.startswith(query.text.rstrip()) and sent.endswith("\nLIMIT 6\n")
    assert query.sent_text(query.bind({}, Uris(BASE), 10_000)).endswith("\nLIMIT 51\n")
    uncapped = QUERIES["division-jel-profile"]
    assert uncapped.sent_text(uncapped.bind({}, Uris(BASE), 10_000)) == uncapped.text


def test_with_limit_leaves_a_query_with_its_own_cut() -> None:
    assert with_limit("SELECT * WHERE { ?s ?p ?o } ORDER BY ?s # note", 3) == (
        "SELECT * WHERE { ?s ?p ?o } ORDER BY ?s # note\nLIMIT 3\n")
    inner = "SELECT * WHERE { { SELECT ?s WHERE { ?s ?p ?o } LIMIT 9 } }"
    assert with_limit(inner, 3) == inner + "\nLIMIT 3\n"
    for text in ("SELECT * WHERE { ?s ?p ?o } LIMIT 9", "SELECT * { ?s ?p ?o } OFFSET 2",
                 "SELECT * WHERE { ?s ?p ?o } VALUES ?s { <urn:x:a> }", "ASK { ?s ?p ?o }"):
        assert with_limit(text, 3) == text


def test_an_injection_string_is_a_plain_value(store: OxigraphStore) -> None:
    before = quad_count(store)
    for name, parameter in (("persons-by-name", "name"), ("keyword-cooccurrence", "keyword"),
                            ("coauthors-of-person", "person"), ("word-search", "words")):
        result = cat.run(QUERIES[name], store, {parameter: INJECTION}, Uris(BASE), 10)
        assert values(result) == []
    assert quad_count(store) == before
    result = cat.run(QUERIES["persons-by-name"], store, {"name": INJECTION}, Uris(BASE), 10)
    assert result.variables[0] == "name"


def test_catalogue_examples() -> None:
    examples = cat.catalogue_examples(Uris("https://example.org/kg/"))
    assert [e["name"] for e in examples] == sorted(QUERIES)
    assert all(set(e) == {"name", "title", "query"} for e in examples)
    jel = next(e for e in examples if e["name"] == "prolific-authors-in-jel")
    assert "<https://example.org/kg/id/jel/O>" in jel["query"]
    assert "LIMIT 20" in jel["query"]
