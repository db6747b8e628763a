"""What the SHACL shapes accept and report, one rule per test (policykg.graph.validation.shacl)."""

from __future__ import annotations

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS

from policykg.graph.validation.shacl import Issue, load_shapes, validate, validate_graph

BASE = "http://localhost:8000/"
PKG = "https://w3id.org/policykg/ontology#"
XSD = "http://www.w3.org/2001/XMLSchema#"
BIBO = "http://purl.org/ontology/bibo/"
PREFIXES = """
@prefix rdfs:    <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd:     <http://www.w3.org/2001/XMLSchema#> .
@prefix owl:     <http://www.w3.org/2002/07/owl#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix bibo:    <http://purl.org/ontology/bibo/> .
@prefix foaf:    <http://xmlns.com/foaf/0.1/> .
@prefix org:     <http://www.w3.org/ns/org#> .
@prefix skos:    <http://www.w3.org/2004/02/skos/core#> .
@prefix prov:    <http://www.w3.org/ns/prov#> .
@prefix pkg:     <https://w3id.org/policykg/ontology#> .
"""

# The reference graph: a sliver of the ontology and of each vocabulary. Scheme membership is
# read from skos:inScheme/skos:notation, so each scheme carries its notation.
REFERENCE = """
pkg:Division rdfs:subClassOf org:OrganizationalUnit .
<id/scheme/jel> a skos:ConceptScheme ; skos:notation "JEL" .
<id/jel/O> a skos:Concept ; skos:inScheme <id/scheme/jel> ; skos:notation "O" .
<id/jel/O3> a skos:Concept ; skos:inScheme <id/scheme/jel> ; skos:notation "O3" ;
    skos:broader <id/jel/O> .
<id/jel/O31> a skos:Concept ; skos:inScheme <id/scheme/jel> ; skos:notation "O31" ;
    skos:broader <id/jel/O3> ; skos:prefLabel "Innovation and Invention"@en .
<id/jel/D03> a skos:Concept ; skos:inScheme <id/scheme/jel> ; skos:notation "D03" ;
    owl:deprecated true .
<id/scheme/regions> a skos:ConceptScheme ; skos:notation "REGIONS" .
<id/region/caribbean> a skos:Concept ; skos:inScheme <id/scheme/regions> ;
    skos:prefLabel "Caribbean"@en .
<id/scheme/doctypes> a skos:ConceptScheme ; skos:notation "DOCTYPES" .
<id/doctype/learning-materials> a skos:Concept ; skos:inScheme <id/scheme/doctypes> ;
    skos:prefLabel "Learning Materials"@en .
<id/org/idb> a org:FormalOrganization ; skos:prefLabel "Inter-American Development Bank"@en .
<id/org/ifd-cti> a pkg:Division ; org:unitOf <id/org/idb> ;
    skos:prefLabel "Competitiveness, Technology and Innovation Division"@en .
"""

# A record as the mapping writes it (the SPEC sample, shortened), {key} its publication number.
RECORD = """
<id/publication/{key}> a pkg:Publication, pkg:LearningMaterial ;
  dcterms:title "Mainstreaming the Cluster Approach in the Caribbean Region"@en ;
  dcterms:creator <id/person/rabellotti-roberta>, <id/person/conz-elisa> ;
  bibo:authorList ( <id/person/rabellotti-roberta> <id/person/conz-elisa> ) ;
  pkg:division <id/org/ifd-cti> ;
  dcterms:spatial <id/region/caribbean> ;
  dcterms:issued "2023-03-08T00:03:00"^^xsd:dateTime ;
  dcterms:available "2023-03-08T00:03:00"^^xsd:dateTime ;
  dcterms:abstract "In the Caribbean region, clusters hold tremendous potential."@en ;
  bibo:numPages 64 ;
  bibo:doi "10.18235/0004771" ; owl:sameAs <https://doi.org/10.18235/0004771> ;
  foaf:page <https://publications.iadb.org/document/{key}.pdf> ;
  dcterms:language <http://id.loc.gov/vocabulary/iso639-1/en> ;
  dcterms:publisher <id/org/idb> ;
  dcterms:subject <id/subject/small-business> ;
  pkg:jel <id/jel/O31> ;
  pkg:jelAsRecorded "O31 - Innovation and Invention: Processes and Incentives" ;
  pkg:keyword <id/keyword/regional-ecosystem> ;
  dcterms:type <id/doctype/learning-materials> ;
  pkg:publicationNumber "{key}" ;
  pkg:operation <id/operation/RG-E1776> .
<id/person/rabellotti-roberta> a foaf:Person ; foaf:name "Roberta Rabellotti" ;
  foaf:familyName "Rabellotti" ; foaf:givenName "Roberta" .
<id/person/conz-elisa> a foaf:Person ; foaf:name "Elisa Conz" ;
  foaf:familyName "Conz" ; foaf:givenName "Elisa" .
<id/subject/small-business> a skos:Concept ; skos:inScheme <id/scheme/subjects> ;
  skos:prefLabel "Small Business"@en .
<id/keyword/regional-ecosystem> a skos:Concept ; skos:inScheme <id/scheme/keywords> ;
  skos:prefLabel "regional ecosystem"@en .
<id/operation/RG-E1776> a pkg:Operation ; skos:notation "RG-E1776" ; rdfs:label "RG-E1776" .
<graph/publication/{key}> a prov:Entity ; foaf:primaryTopic <id/publication/{key}> ;
  prov:generatedAtTime "2024-01-01T00:00:00"^^xsd:dateTime ;
  pkg:sourceFormat "dspace-page" ; pkg:sourceIdentifier "{key}" ; pkg:contentHash "00ff" .
"""

KEY = "IDB-LM-00577"
PUB = URIRef(f"{BASE}id/publication/{KEY}")


def turtle(text: str) -> Graph:
    """A graph from prefix-less Turtle with BASE-relative IRIs."""
    return Graph().parse(data=PREFIXES + text, format="turtle", publicID=BASE)


@pytest.fixture(scope="module")
def reference() -> Graph:
    return turtle(REFERENCE)


def record(key: str = KEY) -> Graph:
    return turtle(RECORD.replace("{key}", key))


def issues_of(graph: Graph, reference: Graph) -> list[Issue]:
    return validate({KEY: graph}, reference)[KEY]


def only(issues: list[Issue], severity: str) -> Issue:
    """The single issue of a record, checked to have the given severity."""
    assert len(issues) == 1, issues
    assert issues[0].severity == severity
    return issues[0]


def test_the_sample_record_is_valid(reference):
    assert issues_of(record(), reference) == []


def test_the_reference_graph_alone_has_no_issues(reference):
    conforms, _, issues = validate_graph(reference)
    assert conforms and issues == []


def test_shapes_carry_names_messages_and_severities():
    shapes = load_shapes()
    sh = "http://www.w3.org/ns/shacl#"
    property_shapes = set(shapes.objects(None, URIRef(sh + "property")))
    assert property_shapes
    for shape in property_shapes:
        if shapes.value(shape, URIRef(sh + "message")) is not None:
            assert shapes.value(shape, URIRef(sh + "severity")) is not None


def test_a_publication_needs_a_title(reference):
    graph = record()
    graph.remove((PUB, DCTERMS.title, None))
    issue = only(issues_of(graph, reference), "Violation")
    assert issue.message == "dc.title: a publication needs a title"
    assert issue.focus == str(PUB) and issue.path == str(DCTERMS.title)


def test_an_empty_title_is_a_violation(reference):
    graph = record()
    graph.set((PUB, DCTERMS.title, Literal("  ", lang="en")))
    assert "dc.title" in only(issues_of(graph, reference), "Violation").message


def test_a_publication_needs_an_author(reference):
    graph = record()
    graph.remove((PUB, DCTERMS.creator, None))
    assert only(issues_of(graph, reference), "Violation").message.startswith(
        "dc.contributor.author:"
    )


def test_an_author_must_be_a_named_person(reference):
    graph = record()
    graph.remove((URIRef(f"{BASE}id/person/conz-elisa"), None, None))
    issue = only(issues_of(graph, reference), "Violation")
    assert issue.value == f"{BASE}id/person/conz-elisa"


def test_a_doi_must_look_like_a_doi(reference):
    graph = record()
    graph.set((PUB, URIRef(BIBO + "doi"), Literal("not-a-doi")))
    issue = only(issues_of(graph, reference), "Violation")
    assert issue.value == "not-a-doi"
    assert issue.message == "dc.identifier.doi: 'not-a-doi' is not a DOI (expected 10.NNNN/suffix)"


def test_a_page_count_is_at_least_one(reference):
    graph = record()
    graph.set((PUB, URIRef(BIBO + "numPages"), Literal(0)))
    assert "dc.format.extent" in only(issues_of(graph, reference), "Violation").message


def test_a_jel_code_outside_the_classification_is_a_violation(reference):
    graph = record()
    graph.add((PUB, URIRef(PKG + "jel"), URIRef(f"{BASE}id/jel/Z99")))
    issue = only(issues_of(graph, reference), "Violation")
    assert issue.value == f"{BASE}id/jel/Z99"
    assert issue.message == "dc.subject.jelcode: JEL code Z99 is not in the JEL classification"


def test_a_retired_jel_code_is_only_a_warning(reference):
    graph = record()
    graph.add((PUB, URIRef(PKG + "jel"), URIRef(f"{BASE}id/jel/D03")))
    issue = only(issues_of(graph, reference), "Warning")
    assert issue.message == "dc.subject.jelcode: JEL code D03 was retired before 2020"


def test_a_division_the_mapping_minted_is_a_warning(reference):
    graph = record()
    minted = URIRef(f"{BASE}id/org/office-of-evaluation")
    graph.set((PUB, URIRef(PKG + "division"), minted))
    graph.add((minted, RDFS.label, Literal("Office of Evaluation")))
    issue = only(issues_of(graph, reference), "Warning")
    assert issue.message == (
        "dc.contributor.orgunit: division 'Office of Evaluation' is not in the IDB reference list"
    )


def test_a_region_outside_the_regions_list_is_a_warning(reference):
    graph = record()
    graph.set((PUB, DCTERMS.spatial, URIRef(f"{BASE}id/region/atlantis")))
    assert "dc.coverage" in only(issues_of(graph, reference), "Warning").message


def test_a_document_type_outside_the_list_is_a_warning(reference):
    graph = record()
    graph.set((PUB, DCTERMS.type, URIRef(f"{BASE}id/doctype/poem")))
    assert "dc.type" in only(issues_of(graph, reference), "Warning").message


def test_a_language_must_be_an_iri(reference):
    graph = record()
    graph.set((PUB, DCTERMS.language, Literal("en")))
    assert "dc.language.iso" in only(issues_of(graph, reference), "Violation").message


def test_a_date_as_plain_string_is_a_violation(reference):
    graph = record()
    graph.set((PUB, DCTERMS.issued, Literal("2023-03-08T00:03:00")))
    issue = only(issues_of(graph, reference), "Violation")
    assert issue.message.startswith("dc.date.issued: '2023-03-08T00:03:00' is not a date")


@pytest.mark.parametrize(
    "value",
    [
        Literal("2023", datatype=URIRef(XSD + "gYear")),
        Literal("2023-03", datatype=URIRef(XSD + "gYearMonth")),
    ],
)
def test_a_year_or_month_is_a_date(reference, value):
    graph = record()
    graph.set((PUB, DCTERMS.issued, value))
    assert issues_of(graph, reference) == []


def test_an_abstract_over_100000_characters_is_a_violation(reference):
    graph = record()
    graph.set((PUB, DCTERMS.abstract, Literal("x" * 2_000_000, lang="en")))
    issue = only(issues_of(graph, reference), "Violation")
    assert issue.message == (
        "dc.description.abstract: the abstract is 2,000,000 characters, more than 100,000"
    )
    assert issue.value is not None and len(issue.value) < 300


def test_control_characters_in_text_are_a_violation(reference):
    graph = record()
    person = URIRef(f"{BASE}id/person/conz-elisa")
    provenance = URIRef(f"{BASE}graph/publication/{KEY}")
    graph.set((PUB, DCTERMS.title, Literal("Main\x00streaming", lang="en")))
    graph.set((person, URIRef("http://xmlns.com/foaf/0.1/givenName"), Literal("El\x1bisa")))
    graph.set((provenance, URIRef(PKG + "sourceIdentifier"), Literal("a\x7fb")))
    issues = issues_of(graph, reference)
    assert {(i.focus, i.path, i.value) for i in issues} == {
        (str(PUB), str(DCTERMS.title), "Main\x00streaming"),
        (str(person), "http://xmlns.com/foaf/0.1/givenName", "El\x1bisa"),
        (str(PUB), None, "a\x7fb"),  # reached through the provenance node: no single property
    }
    assert all(i.severity == "Violation" and "control characters" in i.message for i in issues)


def test_tabs_and_line_breaks_are_not_control_characters(reference):
    graph = record()
    graph.set((PUB, DCTERMS.abstract, Literal("One.\n\tTwo.\r\n", lang="en")))
    assert issues_of(graph, reference) == []


def test_an_operation_needs_its_number(reference):
    graph = record()
    graph.remove((URIRef(f"{BASE}id/operation/RG-E1776"), None, None))
    graph.add((URIRef(f"{BASE}id/operation/RG-E1776"), RDF.type, URIRef(PKG + "Operation")))
    assert "idb.operation" in only(issues_of(graph, reference), "Violation").message


def test_issues_go_to_the_record_they_belong_to(reference):
    keys = ["IDB-LM-00001", "IDB-LM-00002", "IDB-LM-00003"]
    graphs = {key: record(key) for key in keys}
    bad = URIRef(f"{BASE}id/publication/IDB-LM-00002")
    graphs["IDB-LM-00002"].remove((bad, DCTERMS.title, None))
    found = validate(graphs, reference)
    assert set(found) == set(keys)
    assert found["IDB-LM-00001"] == found["IDB-LM-00003"] == []
    assert [i.focus for i in found["IDB-LM-00002"]] == [str(bad)]


def test_an_issue_of_a_shared_author_goes_to_every_record_describing_them(reference):
    graphs = {key: record(key) for key in ["IDB-LM-00001", "IDB-LM-00002"]}
    person = URIRef(f"{BASE}id/person/conz-elisa")
    for graph in graphs.values():
        graph.remove((person, None, None))
        graph.add((person, RDF.type, URIRef("http://xmlns.com/foaf/0.1/Person")))
    found = validate(graphs, reference)
    assert [i.focus for i in found["IDB-LM-00001"]] == [str(person)]
    assert found["IDB-LM-00001"] == found["IDB-LM-00002"]


def test_the_report_graph_carries_filled_in_messages(reference):
    graph = record()
    graph.add((PUB, URIRef(PKG + "jel"), URIRef(f"{BASE}id/jel/D03")))
    conforms, report, issues = validate_graph(graph, reference)
    assert conforms  # warnings do not break conformance
    messages = {
        str(m) for m in report.objects(None, URIRef("http://www.w3.org/ns/shacl#resultMessage"))
    }
    assert messages == {issues[0].message}


def test_a_batch_gets_the_results_of_one_run_against_the_whole_shapes(reference):
    """Records whose values cannot fail the shapes' sh:or lists of datatypes, sh:not (a retired
    JEL code) and sh:node (a code of the JEL scheme, a known region) are validated without
    them: the results must be those of pyshacl over the whole batch and the whole shapes."""
    keys = [f"IDB-LM-0000{n}" for n in range(1, 10)]
    graphs = {key: record(key) for key in keys}
    pubs = {key: URIRef(f"{BASE}id/publication/{key}") for key in keys}
    graphs[keys[1]].set((pubs[keys[1]], DCTERMS.issued, Literal("March 2023")))
    graphs[keys[2]].set((pubs[keys[2]], DCTERMS.available,
                         Literal("2023-13-45", datatype=URIRef(XSD + "date"))))
    graphs[keys[3]].set((pubs[keys[3]], DCTERMS.title, Literal(42)))
    graphs[keys[4]].set((pubs[keys[4]], DCTERMS.abstract, URIRef(f"{BASE}id/abstract")))
    graphs[keys[5]].set((pubs[keys[5]], URIRef(BIBO + "doi"), Literal("not-a-doi")))
    graphs[keys[5]].add((pubs[keys[5]], URIRef(PKG + "jel"), URIRef(f"{BASE}id/jel/D03")))
    graphs[keys[7]].add((pubs[keys[7]], URIRef(PKG + "jel"), URIRef(f"{BASE}id/jel/Z99")))
    graphs[keys[8]].add((pubs[keys[8]], DCTERMS.spatial, URIRef(f"{BASE}id/region/atlantis")))
    found = validate(graphs, reference)
    whole = validate_graph(graphs_union(graphs.values()), reference)[2]
    assert found[keys[0]] == found[keys[6]] == []
    assert {k for k, issues in found.items() if issues} == {*keys[1:6], *keys[7:]}
    assert sorted(map(str, (i for issues in found.values() for i in issues))) == sorted(
        map(str, whole))
    assert {i for issues in found.values() for i in issues} == set(whole)


def graphs_union(graphs) -> Graph:
    merged = Graph()
    for graph in graphs:
        merged += graph
    return merged
