"""OWL RL inference: the closure of ontology + vocabularies once, and per-record entailments.

owlrl computes the closure of the ontology and the reference vocabularies (skos:broaderTransitive,
narrower, the class and property hierarchies). Running owlrl again on every record would cost
more than the rest of a load, so the per-record rules that matter here (rdfs7
super-properties, rdfs9/cax-sco super-classes, prp-inv inverses, prp-symp symmetry) are
applied from tables read off that closure. Axiomatic junk (reflexive owl:sameAs, X
subClassOf X, owl:Thing types...) never lands.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import owlrl
from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from policykg.graph.rdf.terms import Triple

_AXIOMATIC_NAMESPACES = (str(OWL), str(RDF), str(RDFS), "http://www.w3.org/2001/XMLSchema#")
_REFLEXIVE_JUNK = {OWL.sameAs, OWL.equivalentClass, OWL.equivalentProperty,
                   RDFS.subClassOf, RDFS.subPropertyOf}
_TRIVIAL_TYPES = {OWL.Thing, RDFS.Resource, OWL.Class, RDFS.Class, OWL.NamedIndividual,
                  RDF.Property, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty,
                  RDFS.Datatype, RDFS.Literal, OWL.Nothing}


_TYPE = RDF.type
_SAME_OR_DIFFERENT = {OWL.sameAs, OWL.differentFrom}


def is_junk(triple: tuple) -> bool:
    """Whether an inferred triple says nothing a user asked for: axiomatic or reflexive."""
    subject, predicate, obj = triple
    if isinstance(subject, Literal):
        return True
    if predicate in _REFLEXIVE_JUNK and subject == obj:
        return True
    if predicate == _TYPE and obj in _TRIVIAL_TYPES:
        return True
    if predicate in _SAME_OR_DIFFERENT and isinstance(obj, Literal):
        return True
    return str(subject).startswith(_AXIOMATIC_NAMESPACES)


def closure(asserted: Graph) -> Graph:
    """The OWL RL entailments of a graph, minus what it asserts and minus axiomatic junk."""
    expanded = Graph(bind_namespaces="none")
    for triple in asserted:
        expanded.add(triple)
    owlrl.DeductiveClosure(
        owlrl.OWLRL_Semantics, axiomatic_triples=False, datatype_axioms=False
    ).expand(expanded)
    inferred = Graph(bind_namespaces="none")
    for triple in expanded:
        if triple not in asserted and not is_junk(triple):
            inferred.add(triple)
    return inferred


@dataclass
class Entailment:
    """Per-record rules read off the closure of ontology + vocabularies."""

    # keyed by IRIs, looked up by the terms of any triple
    super_properties: dict[Node, set[URIRef]] = field(default_factory=dict)
    super_classes: dict[Node, set[URIRef]] = field(default_factory=dict)
    inverses: dict[Node, set[URIRef]] = field(default_factory=dict)

    @classmethod
    def from_graph(cls, graph: Graph) -> Entailment:
        """Read the rule tables from a graph holding the ontology and its closure."""
        supers: dict[Node, set[URIRef]] = defaultdict(set)
        classes: dict[Node, set[URIRef]] = defaultdict(set)
        inverses: dict[Node, set[URIRef]] = defaultdict(set)
        for sub, sup in graph.subject_objects(RDFS.subPropertyOf):
            if sub != sup and isinstance(sub, URIRef) and isinstance(sup, URIRef):
                supers[sub].add(sup)
        for sub, sup in graph.subject_objects(RDFS.subClassOf):
            if sub != sup and isinstance(sub, URIRef) and isinstance(sup, URIRef):
                classes[sub].add(sup)
        for prop, inverse in graph.subject_objects(OWL.inverseOf):
            if isinstance(prop, URIRef) and isinstance(inverse, URIRef):
                inverses[prop].add(inverse)
                inverses[inverse].add(prop)
        for prop in graph.subjects(RDF.type, OWL.SymmetricProperty):
            if isinstance(prop, URIRef):
                inverses[prop].add(prop)
        return cls(dict(supers), dict(classes), dict(inverses))

    def materialise(self, triples: Iterable[Triple]) -> set[Triple]:
        """The entailments of some triples under the tables, minus the triples themselves."""
        asserted = set(triples)
        inferred: set[Triple] = set()
        super_properties, super_classes = self.super_properties, self.super_classes
        for subject, predicate, obj in asserted:
            for sup in super_properties.get(predicate, ()):
                inferred.add((subject, sup, obj))
            if predicate == _TYPE:
                for sup in super_classes.get(obj, ()):
                    inferred.add((subject, _TYPE, sup))
        inverses = self.inverses
        for subject, predicate, obj in inferred | asserted:
            if predicate in inverses and isinstance(obj, URIRef | BNode):
                for inverse in inverses[predicate]:
                    inferred.add((obj, inverse, subject))
        return {t for t in inferred if t not in asserted and not is_junk(t)}
