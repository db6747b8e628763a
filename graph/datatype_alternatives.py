"""The shapes' sh:or lists of datatypes ("a date of one of these four kinds", "text, with or
without a language"), found in a shapes graph so that a batch is validated without them when
none of its values can fail them.

pyshacl evaluates every member of an sh:or for every value and builds a whole validation
result (messages, nodes written out) for each member the value does not conform to, then
drops it: an xsd:date fails three of the four members of the date list. Those discarded
results were about 40% of the validation of a batch. Whether a value has one of a list's
datatypes is cheap to tell, so policykg.graph.validate runs the records whose values all do
against the shapes without those sh:or lists, and only the others against the whole shapes:
every result still comes from pyshacl.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SH, XSD

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
class DatatypeAlternatives:
    """The sh:or lists of datatypes of a shapes graph's property shapes, by the property they
    check, and the shapes graph without them."""

    lists: dict[URIRef, tuple[frozenset[URIRef], ...]]
    without: Graph

    @classmethod
    def of(cls, shapes: Graph) -> DatatypeAlternatives:
        """Find the property shapes with a simple path whose sh:or members each say nothing but
        sh:datatype; every other sh:or stays."""
        lists: dict[URIRef, list[frozenset[URIRef]]] = {}
        dropped: set[tuple] = set()
        for shape, members in shapes.subject_objects(SH["or"]):
            path = shapes.value(shape, SH.path)
            datatypes = _datatypes(shapes, members)
            if isinstance(path, URIRef) and datatypes:
                lists.setdefault(path, []).append(datatypes)
                dropped.add((shape, SH["or"], members))
        without = flat_graph(triple for triple in shapes if triple not in dropped)
        for prefix, namespace in shapes.namespaces():
            without.bind(prefix, namespace)
        return cls({path: tuple(sets) for path, sets in lists.items()}, without)

    def may_fail(self, triples: Iterable[Triple]) -> bool:
        """Whether a value of these triples lacks every datatype of a list that checks its
        property (then its record is validated against the whole shapes)."""
        lists = self.lists
        for _, predicate, value in triples:
            for datatypes in lists.get(predicate, ()):
                if not any(has_datatype(value, datatype) for datatype in datatypes):
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


def _datatypes(shapes: Graph, members: object) -> frozenset[URIRef]:
    """The datatypes of an sh:or list whose members have no constraint but one sh:datatype
    (else empty)."""
    found = set()
    for member in shapes.items(members):
        said = list(shapes.predicate_objects(member))
        if len(said) != 1 or said[0][0] != SH.datatype or not isinstance(said[0][1], URIRef):
            return frozenset()
        found.add(said[0][1])
    return frozenset(found)
