"""Which constraints of the shapes a batch may skip, and which values cannot fail them
(policykg.graph.validation.shortcuts); that validating with them gives pyshacl's own results is
checked in test_shapes.py."""

from __future__ import annotations

import pytest
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, SH, SKOS

from policykg.graph.validation.shacl import load_shapes
from policykg.graph.validation.shortcuts import Shortcuts, has_datatype

PKG = Namespace("https://w3id.org/policykg/ontology#")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")  # rdflib's XSD warns when pytest probes it
DATES = frozenset({XSD.dateTime, XSD.date, XSD.gYearMonth, XSD.gYear})
TEXT = frozenset({RDF.langString, XSD.string})


@pytest.fixture(scope="module")
def shortcuts() -> Shortcuts:
    return Shortcuts.of(load_shapes())


def test_the_date_and_text_lists_and_the_vocabulary_checks_are_found(shortcuts):
    assert shortcuts.refused == {PKG.jel: (((OWL.deprecated,), Literal(True)),)}
    in_scheme = (SKOS.inScheme, SKOS.notation)
    assert shortcuts.required == {
        PKG.jel: ((in_scheme, Literal("JEL")),),
        DCTERMS.spatial: ((in_scheme, Literal("REGIONS")),),
        DCTERMS.type: ((in_scheme, Literal("DOCTYPES")),),
    }
    assert shortcuts.datatype_lists == {
        DCTERMS.issued: (DATES,),
        DCTERMS.available: (DATES,),
        DCTERMS.title: (TEXT,),
        DCTERMS.abstract: (TEXT,),
    }


def test_the_shapes_without_them_lose_those_lists_and_nothing_else(shortcuts):
    shapes = load_shapes()
    dropped = set(shapes) - set(shortcuts.without)
    assert sorted(predicate for _, predicate, _ in dropped) == sorted(
        [SH.node] * 3 + [SH["not"]] + [SH["or"]] * 4)
    assert set(shortcuts.without) <= set(shapes)
    title_shapes = set(shortcuts.without.subjects(SH.path, DCTERMS.title))
    assert any(shortcuts.without.value(s, SH.pattern) for s in title_shapes)


def test_lists_with_members_that_say_more_than_a_datatype_stay():
    shapes = Graph()
    shape, members, member = BNode(), BNode(), BNode()
    shapes.add((shape, SH.path, DCTERMS.issued))
    shapes.add((shape, SH["or"], members))
    shapes.add((members, RDF.first, member))
    shapes.add((members, RDF.rest, RDF.nil))
    shapes.add((member, SH.datatype, XSD.date))
    shapes.add((member, SH.pattern, Literal("^2")))
    found = Shortcuts.of(shapes)
    assert not found
    assert set(found.without) == set(shapes)


@pytest.mark.parametrize(
    ("value", "datatype", "accepted"),
    [
        (Literal("2023-03-08", datatype=XSD.date), XSD.date, True),
        (Literal("2023-13-45", datatype=XSD.date), XSD.date, False),  # ill-formed
        (Literal("2023-03-08T00:03:00", datatype=XSD.dateTime), XSD.date, False),
        (Literal("2023", datatype=XSD.gYear), XSD.gYear, True),
        (Literal("2023-03-08"), XSD.date, False),  # a plain string
        (Literal("Title"), XSD.string, True),
        (Literal("Title", datatype=XSD.string), XSD.string, True),
        (Literal("Title", lang="en"), XSD.string, False),
        (Literal("Title", lang="en"), RDF.langString, True),
        (Literal("Title"), RDF.langString, False),
        (Literal(12), XSD.string, False),
        (URIRef("http://example.org/title"), XSD.string, False),
    ],
)
def test_a_value_has_a_datatype_as_sh_datatype_says(value, datatype, accepted):
    assert has_datatype(value, datatype) is accepted


def test_a_record_may_fail_when_one_value_has_none_of_its_list(shortcuts):
    pub = URIRef("http://localhost:8000/id/publication/IDB-1")
    good = [
        (pub, DCTERMS.title, Literal("A title", lang="en")),
        (pub, DCTERMS.issued, Literal("2023-03", datatype=XSD.gYearMonth)),
        (pub, DCTERMS.identifier, Literal(12)),  # no list checks it
    ]
    assert not shortcuts.may_fail(good, set())
    assert shortcuts.may_fail([*good, (pub, DCTERMS.available, Literal("March 2023"))], set())


def test_a_record_may_fail_when_the_data_says_what_an_sh_not_refuses(shortcuts):
    pub = URIRef("http://localhost:8000/id/publication/IDB-1")
    retired, current = (URIRef(f"http://localhost:8000/id/jel/{c}") for c in ("D03", "O31"))
    jel = URIRef("http://localhost:8000/id/scheme/jel")
    reference = [(retired, OWL.deprecated, Literal(True)), (current, RDF.type, OWL.Thing),
                 *((code, SKOS.inScheme, jel) for code in (retired, current)),
                 (jel, SKOS.notation, Literal("JEL"))]
    facts = shortcuts.facts(reference)
    assert (current, RDF.type) not in facts
    assert not shortcuts.may_fail([(pub, PKG.jel, current)], facts)
    assert shortcuts.may_fail([(pub, PKG.jel, retired)], facts)


def test_a_record_may_fail_when_the_data_does_not_lead_to_what_an_sh_node_requires(shortcuts):
    pub = URIRef("http://localhost:8000/id/publication/IDB-1")
    code, other = (URIRef(f"http://localhost:8000/id/jel/{c}") for c in ("O31", "Z99"))
    jel, regions = (URIRef(f"http://localhost:8000/id/scheme/{s}") for s in ("jel", "regions"))
    facts = shortcuts.facts([(code, SKOS.inScheme, jel), (jel, SKOS.notation, Literal("JEL")),
                             (other, SKOS.inScheme, regions),
                             (regions, SKOS.notation, Literal("REGIONS"))])
    assert not shortcuts.may_fail([(pub, PKG.jel, code)], facts)
    assert shortcuts.may_fail([(pub, PKG.jel, other)], facts)  # in another scheme
    assert shortcuts.may_fail([(pub, PKG.jel, Literal("O31"))], facts)
    assert shortcuts.may_fail([(pub, DCTERMS.spatial, code)], facts)


def test_a_node_shape_saying_more_than_a_value_at_the_end_of_a_path_stays():
    shapes = Graph()
    shape, node, inner = BNode(), BNode(), BNode()
    shapes.add((shape, SH.path, PKG.jel))
    shapes.add((shape, SH.node, node))
    shapes.add((node, SH.property, inner))
    shapes.add((inner, SH.path, SKOS.notation))
    shapes.add((inner, SH.hasValue, Literal("JEL")))
    assert Shortcuts.of(shapes).required == {PKG.jel: (((SKOS.notation,), Literal("JEL")),)}
    shapes.add((inner, SH.minCount, Literal(2)))
    assert not Shortcuts.of(shapes)
