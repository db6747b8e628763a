"""Constraints of the shapes that pyshacl evaluates dearly and a batch rarely fails, found in a
shapes graph so that the records none of whose values can fail them are validated without them.

Two kinds, both costly in pyshacl for every value, even one that passes:
- an sh:or list of datatypes ("a date of one of these four kinds", "text, with or without a
  language"): pyshacl checks every member and builds a whole validation result (messages,
  nodes written out) for each member the value does not conform to, then drops it;
- sh:not of a shape "has value V for P" (a retired JEL code: ``owl:deprecated true``): the
  inner shape fails for every value that is fine, with a result built and dropped each time.
These were about half of the validation of a batch. Whether a value can fail them is cheap to
tell (its datatype; whether the data says ``value P V``), so policykg.graph.validate runs the
records whose values cannot against the shapes without those constraints and the others
against the whole shapes: every result still comes from pyshacl.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SH, XSD
from rdflib.term import Node

from policykg.graph.flatstore import flat_graph
from policykg.graph.terms import Triple

# The Python values rdflib gives literals of these datatypes, as pyshacl checks them.
_PYTHON_TYPES: dict[URIRef, type | tuple[type, ...]] = {
    XSD.string: (str, bytes),
    RDF.langString: (str, bytes),
    XSD.integer: int,
    XSD.float: float,
    XSD.decimal: Decimal,
    XSD.boolean: bool,
    XSD.date: date,
    XSD.time: time,
    XSD.dateTime: datetime,
}


@dataclass(frozen=True)
class Shortcuts:
    """The skippable constraints of a shapes graph's property shapes (by the property the shape
    checks) and the shapes graph without them."""

    datatype_lists: dict[URIRef, tuple[frozenset[URIRef], ...]]  # path -> sh:or datatypes
    negated_values: dict[URIRef, tuple[tuple[URIRef, Node], ...]]  # path -> sh:not (P, V)
    without: Graph

    @classmethod
    def of(cls, shapes: Graph) -> Shortcuts:
        """Find them: property shapes with a simple path whose sh:or members each say nothing
        but sh:datatype, or whose sh:not shape says nothing but sh:path P and sh:hasValue V.
        Every other sh:or and sh:not stays."""
        lists: dict[URIRef, list] = {}
        negations: dict[URIRef, list] = {}
        dropped: set[Triple] = set()
        for constraint, found, into in ((SH["or"], _datatypes, lists),
                                        (SH["not"], _has_value, negations)):
            for shape, argument in shapes.subject_objects(constraint):
                path = shapes.value(shape, SH.path)
                what = found(shapes, argument)
                if isinstance(path, URIRef) and what:
                    into.setdefault(path, []).append(what)
                    dropped.add((shape, constraint, argument))
        without = flat_graph(triple for triple in shapes if triple not in dropped)
        for prefix, namespace in shapes.namespaces():
            without.bind(prefix, namespace)
        return cls({path: tuple(v) for path, v in lists.items()},
                   {path: tuple(v) for path, v in negations.items()}, without)

    def __bool__(self) -> bool:
        return bool(self.datatype_lists or self.negated_values)

    def facts(self, triples: Iterable[Triple]) -> set[Triple]:
        """The triples an sh:not found here looks for (``value P V``), of some data."""
        wanted = {pair for pairs in self.negated_values.values() for pair in pairs}
        return {(s, p, o) for s, p, o in triples if (p, o) in wanted}

    def may_fail(self, triples: Iterable[Triple], facts: set[Triple]) -> bool:
        """Whether a value of these triples could fail a constraint found here: it lacks every
        datatype of a list, or ``facts`` (``facts()`` of all the data it is validated with, its
        own triples included) say ``value P V`` of an sh:not. Such a record is validated
        against the whole shapes."""
        lists, negations = self.datatype_lists, self.negated_values
        for _, predicate, value in triples:
            for datatypes in lists.get(predicate, ()):
                if not any(has_datatype(value, datatype) for datatype in datatypes):
                    return True
            for inner, required in negations.get(predicate, ()):
                if (value, inner, required) in facts:
                    return True
        return False


def has_datatype(value: object, datatype: URIRef) -> bool:
    """Whether pyshacl's sh:datatype accepts the value: a literal of that datatype, well
    formed (a plain literal is an xsd:string, one with a language an rdf:langString)."""
    if not isinstance(value, Literal):
        return False
    if datatype == RDF.langString:
        matches = bool(value.language)
    elif datatype == XSD.string and value.datatype is None:
        matches = not value.language
    else:
        matches = value.datatype == datatype and value.ill_typed is not True
    python_type = _PYTHON_TYPES.get(datatype)
    return matches and (python_type is None or isinstance(value.value, python_type))


def _datatypes(shapes: Graph, members: Node) -> frozenset[URIRef]:
    """The datatypes of an sh:or list whose members have no constraint but one sh:datatype
    (else empty)."""
    found = set()
    for member in shapes.items(members):
        said = list(shapes.predicate_objects(member))
        if len(said) != 1 or said[0][0] != SH.datatype or not isinstance(said[0][1], URIRef):
            return frozenset()
        found.add(said[0][1])
    return frozenset(found)


def _has_value(shapes: Graph, shape: Node) -> tuple[URIRef, Node] | None:
    """(P, V) of a shape that says nothing but sh:path P (an IRI) and sh:hasValue V."""
    pairs = list(shapes.predicate_objects(shape))
    said = dict(pairs)
    if len(pairs) != 2 or not isinstance(said.get(SH.path), URIRef) or SH.hasValue not in said:
        return None
    return said[SH.path], said[SH.hasValue]
