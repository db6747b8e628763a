"""The policykg ontology and reference vocabularies (ontology/*.ttl), read as a specification."""

from __future__ import annotations

from importlib.resources import files

import pycountry
import pyoxigraph as ox
import pytest
from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, FOAF, ORG, SKOS

from policykg.graph.inference import vocabularies
from policykg.graph.inference.entailment import closure
from policykg.graph.inference.vocabularies import (
    VOCABULARIES,
    shipped_closure,
    vocabulary_graphs,
    vocabulary_quads,
)
from policykg.ontology import build_jel, build_regions

BASE = "http://example.org/x/"  # deliberately not the default base
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")  # rdflib's closed XSD upsets pytest
PKG = Namespace("https://w3id.org/policykg/ontology#")
BIBO = Namespace("http://purl.org/ontology/bibo/")
FABIO = Namespace("http://purl.org/spar/fabio/")
SCHEMA = Namespace("http://schema.org/")
PROV = Namespace("http://www.w3.org/ns/prov#")
ZBW_JEL = "http://zbw.eu/beta/external_identifiers/jel#"
WIKIDATA = "http://www.wikidata.org/entity/"
LCC_M49 = "https://www.omg.org/spec/LCC/Countries/UN-M49-RegionCodes/"
EU_COUNTRY = "http://publications.europa.eu/resource/authority/country/"

# Vocabularies the files may use terms of, and the external resources they may link to.
STANDARD_NAMESPACES = (str(PKG), str(DCTERMS), str(BIBO), str(FABIO), str(FOAF), str(ORG),
                       str(SKOS), str(PROV), str(SCHEMA), str(OWL), str(RDF), str(RDFS), str(XSD))
LINK_TARGETS = (ZBW_JEL, WIKIDATA, LCC_M49, EU_COUNTRY, "https://w3id.org/policykg/ontology",
                "https://opensource.org/licenses/", "https://www.aeaweb.org/",
                "https://www.iso.org/", "https://unstats.un.org/", "https://www.iadb.org/")

BORROWING_MEMBERS = ["AR", "BS", "BB", "BZ", "BO", "BR", "CL", "CO", "CR", "DO", "EC", "SV", "GT",
                     "GY", "HT", "HN", "JM", "MX", "NI", "PA", "PY", "PE", "SR", "TT", "UY", "VE"]
NON_BORROWING_MEMBERS = ["US", "CA", "AT", "BE", "HR", "DK", "FI", "FR", "DE", "IT", "NL",
                         "NO", "PT", "SI", "ES", "SE", "CH", "GB", "IL", "JP", "KR", "CN"]
LANGUAGES = {"en", "es", "pt", "fr"}


def iri(path: str) -> URIRef:
    return URIRef(BASE + path)


@pytest.fixture(scope="module")
def graphs() -> dict[str, Graph]:
    return vocabulary_graphs(BASE)


@pytest.fixture(scope="module")
def ontology(graphs) -> Graph:
    return graphs[BASE + "graph/ontology"]


@pytest.fixture(scope="module")
def jel(graphs) -> Graph:
    return graphs[BASE + "graph/vocab/jel"]


@pytest.fixture(scope="module")
def regions(graphs) -> Graph:
    return graphs[BASE + "graph/vocab/regions"]


@pytest.fixture(scope="module")
def org(graphs) -> Graph:
    return graphs[BASE + "graph/vocab/org"]


@pytest.fixture(scope="module")
def doctypes(graphs) -> Graph:
    return graphs[BASE + "graph/vocab/doctypes"]


def concepts(graph: Graph, scheme: str) -> set[URIRef]:
    return set(graph.subjects(SKOS.inScheme, iri(scheme)))


def pref_labels(graph: Graph, node: URIRef) -> dict[str, list[str]]:
    labels: dict[str, list[str]] = {}
    for label in graph.objects(node, SKOS.prefLabel):
        labels.setdefault(label.language, []).append(str(label))
    return labels


# ---- every file -----------------------------------------------------------------------------


def test_the_vocabulary_graphs_are_the_ones_the_spec_names():
    assert sorted({path for path, _ in VOCABULARIES}) == [
        "graph/ontology", "graph/vocab/doctypes", "graph/vocab/jel", "graph/vocab/org",
        "graph/vocab/regions"]
    assert ("graph/ontology", "policykg.ttl") in VOCABULARIES
    assert ("graph/ontology", "schemes.ttl") in VOCABULARIES


@pytest.mark.parametrize("name", sorted({name for _, name in VOCABULARIES}))
def test_every_file_parses_with_any_base_into_that_base_or_standard_namespaces(name):
    data = (files("policykg.ontology") / name).read_bytes()
    assert b"@base" not in data and b"localhost" not in data and b"policykg.invalid" not in data
    graph = Graph().parse(data=data, format="turtle", publicID=BASE)
    quads = list(ox.parse(data, ox.RdfFormat.TURTLE, base_iri=BASE))
    assert len(quads) == len(graph) > 0
    allowed = (BASE, *STANDARD_NAMESPACES, *LINK_TARGETS)
    for triple in graph:
        for term in triple:
            assert not isinstance(term, BNode), f"{name}: blank node in {triple}"
            if isinstance(term, Literal):
                term = term.datatype or XSD.string
            assert str(term).startswith(allowed), f"{name}: unexpected IRI {term}"


@pytest.mark.parametrize(("graph", "scheme", "notation"), [
    ("graph/ontology", "subjects", "SUBJECTS"),
    ("graph/ontology", "keywords", "KEYWORDS"),
    ("graph/vocab/jel", "jel", "JEL"),
    ("graph/vocab/regions", "regions", "REGIONS"),
    ("graph/vocab/doctypes", "doctypes", "DOCTYPES"),
])
def test_each_scheme_has_the_notation_the_shapes_recognise_it_by(graphs, graph, scheme, notation):
    node = iri(f"id/scheme/{scheme}")
    assert (node, RDF.type, SKOS.ConceptScheme) in graphs[BASE + graph]
    assert list(graphs[BASE + graph].objects(node, SKOS.notation)) == [Literal(notation)]


def test_quads_and_graphs_hold_the_same_triples(graphs):
    quads = list(vocabulary_quads(BASE))
    assert {q.graph_name.value for q in quads} == set(graphs)
    assert len(quads) == sum(len(graph) for graph in graphs.values())
    jel_o31 = ox.NamedNode(BASE + "id/jel/O31")
    assert any(q.subject == jel_o31 and q.graph_name.value == BASE + "graph/vocab/jel"
               for q in quads)


def test_the_shipped_closure_is_the_closure_of_the_files_as_they_are_at_any_base():
    shipped = shipped_closure(BASE)
    assert shipped is not None, (
        "closure.ttl was computed from other vocabulary files: "
        "run python -m policykg.ontology.build_closure")
    asserted = Graph(bind_namespaces="none")
    for graph in vocabulary_graphs(BASE).values():
        for triple in graph:
            asserted.add(triple)
    computed = closure(asserted)
    assert set(shipped) - set(computed) == set()
    assert set(computed) - set(shipped) == set()


def test_a_closure_shipped_for_other_files_is_not_used(monkeypatch):
    monkeypatch.setattr(vocabularies, "files_digest", lambda: "0" * 32)
    assert shipped_closure(BASE) is None


# ---- the ontology ---------------------------------------------------------------------------

# Each term the spec lists, and what it is aligned to (rdfs:subClassOf / rdfs:subPropertyOf).
ALIGNED = {
    PKG.Publication: {BIBO.Document, SCHEMA.CreativeWork, FABIO.Work},
    PKG.Operation: {FOAF.Project, SCHEMA.Project, PROV.Activity},
    PKG.Division: {ORG.OrganizationalUnit},
    PKG.Department: {ORG.OrganizationalUnit},
    PKG.division: {DCTERMS.contributor},
    PKG.jel: {DCTERMS.subject},
    PKG.keyword: {DCTERMS.subject},
    PKG.jelAsRecorded: {SKOS.editorialNote},
    PKG.publicationNumber: {DCTERMS.identifier, BIBO.identifier},
    PKG.operation: {DCTERMS.relation},
    PKG.sourceIdentifier: {DCTERMS.identifier},
    PKG.acronym: {SKOS.altLabel},
}
UNALIGNED = {PKG.documentClass, PKG.sourceFormat, PKG.contentHash, PKG.idbBorrowingMember,
             PKG.ISO3166Alpha2, PKG.ISO3166Alpha3, PKG.M49Code}


def test_the_spec_terms_are_aligned_to_standard_vocabularies(ontology):
    for term, supers in ALIGNED.items():
        found = set(ontology.objects(term, RDFS.subClassOf))
        found |= set(ontology.objects(term, RDFS.subPropertyOf))
        assert supers <= found, term


def test_every_pkg_term_has_a_label_a_comment_and_a_type(ontology):
    terms = {s for s in ontology.subjects() if str(s).startswith(str(PKG))}
    assert set(ALIGNED) | UNALIGNED <= terms
    for term in terms:
        assert ontology.value(term, RDFS.label) is not None, term
        assert ontology.value(term, RDFS.comment) is not None, term
        assert ontology.value(term, RDF.type) is not None, term


def test_the_division_property_points_at_organisational_units(ontology):
    assert ontology.value(PKG.division, RDFS.range) == ORG.OrganizationalUnit
    assert (PKG.idbBorrowingMember, RDFS.range, XSD.boolean) in ontology


def test_skos_hierarchy_axioms_let_the_closure_derive_broader_transitive(ontology):
    assert (SKOS.broader, RDFS.subPropertyOf, SKOS.broaderTransitive) in ontology
    assert (SKOS.broaderTransitive, RDF.type, OWL.TransitiveProperty) in ontology


def test_the_subject_and_keyword_schemes_are_declared(ontology):
    for scheme in ("id/scheme/subjects", "id/scheme/keywords"):
        assert (iri(scheme), RDF.type, SKOS.ConceptScheme) in ontology
        assert set(pref_labels(ontology, iri(scheme))) == LANGUAGES


# ---- JEL ------------------------------------------------------------------------------------

RETIRED = ("C42", "D03", "D92", "D99", "E03", "G02")


def test_jel_has_the_998_current_codes_and_the_6_retired_ones(jel):
    codes = {str(jel.value(c, SKOS.notation)) for c in concepts(jel, "id/scheme/jel")}
    assert len(codes) == 998 + 6
    assert set(RETIRED) <= codes
    assert all((iri(f"id/jel/{code}"), RDF.type, SKOS.Concept) in jel for code in codes)


def test_o31_is_under_o3_under_o_and_matches_zbw(jel):
    o31, o3, o = iri("id/jel/O31"), iri("id/jel/O3"), iri("id/jel/O")
    assert jel.value(o31, SKOS.broader) == o3 and jel.value(o3, SKOS.broader) == o
    assert (o, SKOS.narrower, o3) in jel and (o3, SKOS.narrower, o31) in jel
    assert jel.value(o31, SKOS.notation) == Literal("O31")
    assert pref_labels(jel, o31) == {"en": ["Innovation and Invention: Processes and Incentives"]}
    assert (o31, SKOS.exactMatch, URIRef(ZBW_JEL + "O31")) in jel


def test_the_twenty_letters_are_the_top_concepts(jel):
    scheme = iri("id/scheme/jel")
    tops = set(jel.objects(scheme, SKOS.hasTopConcept))
    assert {str(t).rsplit("/", 1)[1] for t in tops} == set("ABCDEFGHIJKLMNOPQRYZ")
    assert tops == set(jel.subjects(SKOS.topConceptOf, scheme))
    assert all(jel.value(t, SKOS.broader) is None for t in tops)


def test_retired_codes_are_deprecated_under_their_parent(jel):
    for code in RETIRED:
        concept = iri(f"id/jel/{code}")
        assert jel.value(concept, OWL.deprecated) == Literal(True), code
        parent = jel.value(concept, SKOS.broader)
        assert (parent, SKOS.inScheme, iri("id/scheme/jel")) in jel, code
        assert pref_labels(jel, concept)["en"], code
    assert jel.value(iri("id/jel/C42"), SKOS.broader) == iri("id/jel/C4")
    assert str(jel.value(iri("id/jel/G02"), SKOS.prefLabel)) == (
        "Behavioral Finance: Underlying Principles")


def test_every_current_code_matches_zbw_and_is_not_deprecated(jel):
    for concept in concepts(jel, "id/scheme/jel"):
        code = str(jel.value(concept, SKOS.notation))
        if code not in RETIRED:
            assert (concept, SKOS.exactMatch, URIRef(ZBW_JEL + code)) in jel
            assert jel.value(concept, OWL.deprecated) is None


def test_jel_ttl_is_what_build_jel_writes(tmp_path, jel):
    build_jel.main(["-o", str(tmp_path / "jel.ttl")])
    rebuilt = Graph().parse(tmp_path / "jel.ttl", format="turtle", publicID=BASE)
    assert isomorphic(rebuilt, jel)


# ---- regions --------------------------------------------------------------------------------


def test_jamaica_is_in_the_caribbean_in_latin_america_and_the_caribbean(regions):
    assert (iri("id/region/JM"), SKOS.broader, iri("id/region/caribbean")) in regions
    assert (iri("id/region/caribbean"), SKOS.broader,
            iri("id/region/latin-america-and-the-caribbean")) in regions
    assert (iri("id/region/JM"), SKOS.exactMatch, URIRef(WIKIDATA + "Q766")) in regions


def test_the_26_borrowing_members_carry_pycountry_codes(regions):
    borrowing = set(regions.subjects(PKG.idbBorrowingMember, Literal(True)))
    assert borrowing == {iri(f"id/region/{code}") for code in BORROWING_MEMBERS}
    for code in BORROWING_MEMBERS:
        country = pycountry.countries.get(alpha_2=code)
        assert set(regions.objects(iri(f"id/region/{code}"), SKOS.notation)) == {
            Literal(country.alpha_2, datatype=PKG.ISO3166Alpha2),
            Literal(country.alpha_3, datatype=PKG.ISO3166Alpha3),
            Literal(country.numeric, datatype=PKG.M49Code)}
        assert (iri(f"id/region/{code}"), SKOS.exactMatch,
                URIRef(EU_COUNTRY + country.alpha_3)) in regions


def test_the_22_non_borrowing_members_are_there_too(regions):
    others = set(regions.subjects(PKG.idbBorrowingMember, Literal(False)))
    assert others == {iri(f"id/region/{code}") for code in NON_BORROWING_MEMBERS}
    assert len(BORROWING_MEMBERS) + len(NON_BORROWING_MEMBERS) == 48


def test_every_region_and_country_has_one_label_in_each_language(regions):
    members = concepts(regions, "id/scheme/regions")
    assert len(members) >= 48 + 10
    for concept in members:
        labels = pref_labels(regions, concept)
        assert set(labels) == LANGUAGES, concept
        assert all(len(values) == 1 for values in labels.values()), concept
        assert (concept, RDF.type, DCTERMS.Location) in regions
        pref = set(regions.objects(concept, SKOS.prefLabel))
        assert not pref & set(regions.objects(concept, SKOS.altLabel)), concept


def test_country_labels_come_from_pycountry_translations(regions):
    assert pref_labels(regions, iri("id/region/BR")) == {
        "en": ["Brazil"], "es": ["Brasil"], "pt": ["Brasil"], "fr": ["Brésil"]}
    assert Literal("Bolivia, Plurinational State of", lang="en") in set(
        regions.objects(iri("id/region/BO"), SKOS.altLabel))


@pytest.mark.parametrize(("label", "key"), [
    (Literal("The Caribbean", lang="en"), "caribbean"),
    (Literal("Caribe", lang="es"), "caribbean"),
    (Literal("El Caribe", lang="es"), "caribbean"),
    (Literal("Caraïbes", lang="fr"), "caribbean"),
    (Literal("Latin America and the Caribbean", lang="en"), "latin-america-and-the-caribbean"),
    (Literal("América Latina y el Caribe", lang="es"), "latin-america-and-the-caribbean"),
    (Literal("Central America", lang="en"), "central-america"),
    (Literal("Mesoamerica", lang="en"), "mesoamerica"),
    (Literal("Andean Region", lang="en"), "andean-region"),
    (Literal("Southern Cone", lang="en"), "southern-cone"),
    (Literal("South America", lang="en"), "south-america"),
    (Literal("Latin America", lang="en"), "latin-america"),
])
def test_region_names_as_records_write_them(regions, label, key):
    found = set(regions.subjects(SKOS.prefLabel, label)) | set(
        regions.subjects(SKOS.altLabel, label))
    assert found == {iri(f"id/region/{key}")}


@pytest.mark.parametrize(("key", "m49", "lcc"), [
    ("latin-america-and-the-caribbean", "419", "LatinAmericaAndTheCaribbean"),
    ("caribbean", "029", "Caribbean"),
    ("central-america", "013", "CentralAmerica"),
    ("south-america", "005", "SouthAmerica"),
])
def test_un_m49_regions_carry_their_code_and_lcc_iri(regions, key, m49, lcc):
    node = iri(f"id/region/{key}")
    assert Literal(m49, datatype=PKG.M49Code) in set(regions.objects(node, SKOS.notation))
    assert (node, SKOS.exactMatch, URIRef(LCC_M49 + lcc)) in regions


def test_regions_ttl_is_what_build_regions_writes(tmp_path, regions):
    build_regions.main(["-o", str(tmp_path / "regions.ttl")])
    rebuilt = Graph().parse(tmp_path / "regions.ttl", format="turtle", publicID=BASE)
    assert isomorphic(rebuilt, regions)


# ---- the IDB's organisation -----------------------------------------------------------------


def test_ifd_cti_is_a_division_of_ifd_of_the_idb(org):
    cti, ifd, idb = iri("id/org/ifd-cti"), iri("id/org/ifd"), iri("id/org/idb")
    assert (cti, RDF.type, PKG.Division) in org and (ifd, RDF.type, PKG.Department) in org
    assert (cti, ORG.subOrganizationOf, ifd) in org and (ifd, ORG.subOrganizationOf, idb) in org
    assert (idb, RDF.type, ORG.FormalOrganization) in org
    assert (cti, PKG.acronym, Literal("IFD/CTI")) in org


def test_current_names_are_pref_labels_and_former_names_alt_labels(org):
    cti = iri("id/org/ifd-cti")
    assert pref_labels(org, cti)["en"] == ["Competitiveness, Technology and Innovation Division"]
    assert pref_labels(org, cti)["es"] == ["División de Competitividad, Tecnología e Innovación"]
    former = Literal("Competitiveness and Innovation Division", lang="en")
    assert (cti, SKOS.altLabel, former) in org


def test_the_bank_is_named_in_four_languages_with_its_acronyms(org):
    idb = iri("id/org/idb")
    assert set(pref_labels(org, idb)) == LANGUAGES
    alt = {str(label) for label in org.objects(idb, SKOS.altLabel)}
    assert {"IDB", "BID"} <= alt


def test_every_unit_reaches_the_bank_and_has_an_acronym_and_english_name(org):
    idb = iri("id/org/idb")
    departments = set(org.subjects(RDF.type, PKG.Department))
    divisions = set(org.subjects(RDF.type, PKG.Division))
    assert len(departments) >= 13 and len(divisions) >= 16
    assert all((d, ORG.subOrganizationOf, idb) in org for d in departments)
    assert all(org.value(d, ORG.subOrganizationOf) in departments for d in divisions)
    for unit in departments | divisions:
        assert org.value(unit, PKG.acronym) is not None, unit
        assert len(pref_labels(org, unit)["en"]) == 1, unit


# ---- document types -------------------------------------------------------------------------


def test_every_doctype_has_a_declared_or_standard_document_class(doctypes, ontology):
    members = concepts(doctypes, "id/scheme/doctypes")
    assert len(members) >= 10
    for concept in members:
        classes = list(doctypes.objects(concept, PKG.documentClass))
        assert len(classes) == 1, concept
        declared = (classes[0], RDF.type, OWL.Class) in ontology
        assert declared or str(classes[0]).startswith((str(BIBO), str(FABIO))), concept
        if declared:
            assert (classes[0], RDFS.subClassOf, PKG.Publication) in ontology
        assert set(pref_labels(doctypes, concept)) == LANGUAGES, concept


def test_doctype_labels_cover_plural_singular_and_translations(doctypes):
    def find(label: Literal) -> set[URIRef]:
        return set(doctypes.subjects(SKOS.prefLabel, label)) | set(
            doctypes.subjects(SKOS.altLabel, label))

    learning = iri("id/doctype/learning-materials")
    assert find(Literal("Learning Materials", lang="en")) == {learning}
    assert doctypes.value(learning, PKG.documentClass) == PKG.LearningMaterial
    working = {iri("id/doctype/working-papers")}
    assert find(Literal("Working Paper", lang="en")) == working
    assert find(Literal("Documento de trabajo", lang="es")) == working
    assert doctypes.value(iri("id/doctype/working-papers"), PKG.documentClass) == PKG.WorkingPaper
