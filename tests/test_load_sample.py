"""Acceptance: the sample record, loaded through the real pipeline, answers analysts' SPARQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from policykg.graph.inference.reference import prepare
from policykg.graph.loading.loader import Loader
from policykg.graph.loading.quarantine import Quarantine
from policykg.graph.mapping.lookups import Lookups
from policykg.graph.mapping.rules import Mapping, map_record
from policykg.graph.rdf.uris import Uris
from policykg.graph.readers import read
from policykg.graph.readers.record import FieldValue, Record
from policykg.graph.store import open_store

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE = FIXTURES / "dspace-page-IDB-LM-00577.txt"
BASE = "http://localhost:8000/"
PREFIXES = """
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX bibo: <http://purl.org/ontology/bibo/>
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
PREFIX org: <http://www.w3.org/ns/org#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX pkg: <https://w3id.org/policykg/ontology#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX pub: <http://localhost:8000/id/publication/>
PREFIX person: <http://localhost:8000/id/person/>
PREFIX unit: <http://localhost:8000/id/org/>
PREFIX jel: <http://localhost:8000/id/jel/>
PREFIX scheme: <http://localhost:8000/id/scheme/>
"""


BACKENDS = ("oxigraph", "virtuoso")
REMOTE_STATES = {"store": "load-sample"}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, settings, remote):
    """The sample loaded through the Loader into the backend's store."""
    home = tmp_path_factory.mktemp("home")
    location = settings.store_location if remote else f"oxigraph:{home / 'store'}"
    store = open_store(location, settings=settings)

    def build() -> None:
        if remote:
            remote.reset()
        loader = Loader(store, Uris(BASE), Mapping.load(), Quarantine(home / "quarantine"))
        summary = loader.load(read(SAMPLE))
        assert (summary.loaded, summary.rejected) == (1, 0), summary.messages

    if remote:
        remote.ensure("load-sample", build)
    else:
        build()
    yield store
    store.close()


def rows(store, query: str) -> list[tuple[str, ...]]:
    result = store.query(PREFIXES + query)
    names = [v.value for v in result.variables]
    return [tuple(s[n].value if s[n] is not None else None for n in names) for s in result]


def ask(store, query: str) -> bool:
    return bool(store.query(PREFIXES + "ASK " + query))


def test_title(store):
    assert rows(store, "SELECT ?t { pub:IDB-LM-00577 dcterms:title ?t }") == [
        ("Mainstreaming the Cluster Approach in the Caribbean Region: "
         "The CCPF Cluster Capacity Building Initiative",)
    ]


def test_two_creators_in_order_with_family_and_given_names(store):
    found = rows(store, """SELECT ?family1 ?given1 ?family2 ?given2 {
        pub:IDB-LM-00577 bibo:authorList ?list .
        ?list rdf:first ?a1 ; rdf:rest ?rest . ?rest rdf:first ?a2 ; rdf:rest rdf:nil .
        ?a1 foaf:familyName ?family1 ; foaf:givenName ?given1 .
        ?a2 foaf:familyName ?family2 ; foaf:givenName ?given2 .
        pub:IDB-LM-00577 dcterms:creator ?a1, ?a2 }""")
    assert found == [("Rabellotti", "Roberta", "Conz", "Elisa")]
    assert ask(store, "{ person:rabellotti-roberta a foaf:Person ; "
                      "foaf:name 'Roberta Rabellotti' }")


def test_division_is_linked_up_to_the_idb_through_its_sector(store):
    assert ask(store, """{ pub:IDB-LM-00577 pkg:division ?division .
        ?division a org:OrganizationalUnit ; org:subOrganizationOf ?sector .
        ?sector org:subOrganizationOf unit:idb .
        unit:idb a org:FormalOrganization }""")
    assert ask(store, "{ pub:IDB-LM-00577 dcterms:contributor ?division . "
                      "?division org:subOrganizationOf+ unit:idb }")


def test_region_is_the_caribbean_within_latin_america_and_the_caribbean(store):
    found = rows(store, """SELECT ?label { pub:IDB-LM-00577 dcterms:spatial ?region .
        ?region skos:prefLabel ?label ; skos:broaderTransitive ?lac .
        ?lac skos:prefLabel "Latin America and the Caribbean"@en FILTER(lang(?label) = "en") }""")
    assert found and "Caribbean" in found[0][0]


def test_jel_codes_roll_up_to_their_ancestors(store):
    found = rows(store, """SELECT ?code ?ancestor { pub:IDB-LM-00577 pkg:jel ?jel .
        ?jel skos:notation ?code ; skos:broaderTransitive ?up . ?up skos:notation ?ancestor }
        ORDER BY ?code ?ancestor""")
    assert found == [("O31", "O"), ("O31", "O3"), ("O32", "O"), ("O32", "O3")]
    assert ask(store, "{ pub:IDB-LM-00577 dcterms:subject jel:O31 }")


def test_twelve_subjects_and_five_keywords(store):
    subjects = rows(store, """SELECT ?label { pub:IDB-LM-00577 dcterms:subject ?s .
        ?s skos:inScheme scheme:subjects ; skos:prefLabel ?label }""")
    keywords = rows(store, """SELECT ?label { pub:IDB-LM-00577 pkg:keyword ?k .
        ?k skos:prefLabel ?label }""")
    assert len(subjects) == 12 and ("Cluster Development",) in subjects
    assert sorted(k for (k,) in keywords) == [
        "Caribbean", "cluster", "innovation", "national ecosystem", "regional ecosystem"]


def test_identifiers_pages_language_and_date(store):
    found = rows(store, """SELECT ?doi ?number ?operation ?pages ?language ?issued {
        pub:IDB-LM-00577 bibo:doi ?doi ; pkg:publicationNumber ?number ;
          pkg:operation ?operation ; bibo:numPages ?pages ; dcterms:language ?language ;
          dcterms:issued ?issued .
        FILTER(datatype(?pages) = xsd:integer && datatype(?issued) = xsd:dateTime) }""")
    assert found == [("10.18235/0004771", "IDB-LM-00577", BASE + "id/operation/RG-E1776", "64",
                      "http://id.loc.gov/vocabulary/iso639-1/en", "2023-03-08T00:03:00")]


def test_type_is_mapped_to_a_class_that_standard_terms_find(store):
    assert ask(store, "{ pub:IDB-LM-00577 dcterms:type ?type . ?type pkg:documentClass ?class . "
                      "pub:IDB-LM-00577 a ?class }")
    assert ask(store, "{ pub:IDB-LM-00577 a bibo:Document }")


def test_provenance_of_the_record_graph(store):
    found = rows(store, """SELECT ?format ?hash ?source {
        GRAPH ?g { ?g foaf:primaryTopic pub:IDB-LM-00577 ; prov:generatedAtTime ?at ;
           prov:wasDerivedFrom ?source ; pkg:sourceFormat ?format ; pkg:contentHash ?hash } }""")
    assert len(found) == 1
    assert found[0][0] == "dspace-page" and len(found[0][1]) == 64
    assert found[0][2].endswith("dspace-page-IDB-LM-00577.txt")


def test_every_field_of_the_sample_yields_a_triple():
    uris = Uris(BASE)
    lookups = prepare(open_store(None), uris).lookups
    mapping = Mapping.load()
    (record,) = list(read(SAMPLE))
    silent = []
    for value in record.fields:
        alone = Record(record.source, record.source_id, record.format, [value])
        mapped = map_record(alone, mapping, uris, lookups)
        if len(mapped.graph) <= 1 or mapped.problems or mapped.unmapped_fields:
            silent.append(value.field)
    assert silent == []


def test_mapping_a_record_twice_gives_the_same_triples_blank_nodes_included():
    uris = Uris(BASE)
    lookups = prepare(open_store(None), uris).lookups
    mapping = Mapping.load()
    (record,) = list(read(SAMPLE))
    first, second = (map_record(record, mapping, uris, lookups) for _ in range(2))
    assert first.triples == second.triples
    lists = {s for s, p, _ in first.triples if str(p).endswith("#first")}
    assert len(lists) == 2  # the two creators' list nodes, labelled by the record's key
    renumbered = [FieldValue(v.field, "IDB-LM-99999") if v.field == "idb.identifier.pubnumber"
                  else v for v in record.fields]
    other = map_record(Record(record.source, "oai:other", record.format, renumbered),
                       mapping, uris, lookups)
    assert other.key == "IDB-LM-99999"
    assert not lists & {s for s, _, _ in other.triples}  # another record, other labels


@pytest.fixture(scope="module")
def lookups() -> Lookups:
    """The vocabularies' names, as a load finds things by them."""
    return prepare(open_store(None), Uris(BASE)).lookups


@pytest.mark.parametrize("name, author", [
    ("Inter-American Development Bank", "id/org/idb"),
    ("IDB", "id/org/idb"),
    ("Competitiveness, Technology and Innovation Division", "id/org/ifd-cti"),
    ("Banco Mundial", "id/org/banco-mundial"),
    ("Ministerio de Hacienda, República de Chile",
     "id/org/ministerio-de-hacienda-republica-de-chile"),
    ("Bank, Steven", "id/person/bank-steven"),
    ("Rabellotti, Roberta", "id/person/rabellotti-roberta"),
    ("Roberta Rabellotti", "id/person/roberta-rabellotti"),
])
def test_an_author_s_name_is_an_organisation_s_when_the_vocabulary_or_its_words_say_so(
        name: str, author: str, lookups: Lookups):
    uris = Uris(BASE)
    record = Record("test", "test", "test", [FieldValue("dc.contributor.author", name)])
    mapped = map_record(record, Mapping.load(), uris, lookups)
    creators = [str(o) for s, p, o in mapped.triples if str(p).endswith("/creator")]
    assert creators == [BASE + author]
    kinds = {str(o).rsplit("/", 1)[-1] for s, p, o in mapped.triples
             if str(s) == BASE + author and str(p).endswith("#type")}
    assert kinds == ({"Person"} if "/person/" in author else
                     set() if author in ("id/org/idb", "id/org/ifd-cti") else {"Organization"})
