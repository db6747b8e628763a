"""Constraints of the shapes that pyshacl evaluates dearly and a batch rarely fails, found in a
shapes graph so that the records none of whose values can fail them are validated without them.

Three kinds, all costly in pyshacl for every value, even one that passes:
- an sh:or list of datatypes ("a date of one of these four kinds", "text, with or without a
  language"): pyshacl checks every member and builds a whole validation result (messages,
  nodes written out) for each member the value does not conform to, then drops it;
- sh:not of a shape "has value V at the end of path" (a retired JEL code: ``owl:deprecated
  true``): the inner shape fails for every value that is fine, a result built and dropped;
- sh:node of a shape "has value V at the end of path" (a JEL code is in the scheme whose
  notation is "JEL"): a whole shape validation for every value.
These were about 60% of the validation of a batch. Whether a value can fail them is cheap to
tell (its datatype; what the data reaches from it along the path), so the validation runs the
records whose values cannot against the shapes without those constraints, and the others
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

from policykg.graph.rdf.flatstore import flat_graph
from policykg.graph.rdf.terms import Triple

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


Path = tuple[URIRef, ...]  # a sequence of properties
Reach = tuple[Path, Node]  # "has value V at the end of the path"
Facts = dict[tuple[Node, Node], set[Node]]  # (subject, property) -> objects


@dataclass(frozen=True)
class Shortcuts:
    """The skippable constraints of a shapes graph's property shapes, by the property the shape
    checks, and the shapes graph without them."""

    # keyed by properties (IRIs), looked up by the predicate of any triple
    datatype_lists: dict[Node, tuple[frozenset[URIRef], ...]]  # sh:or of datatypes
    refused: dict[Node, tuple[Reach, ...]]  # sh:not
    required: dict[Node, tuple[Reach, ...]]  # sh:node
    without: Graph

    @classmethod
    def of(cls, shapes: Graph) -> Shortcuts:
        """Find them in the property shapes with a simple path: sh:or lists whose members each
        say nothing but sh:datatype, sh:not and sh:node of a shape that says nothing but
        sh:path (properties in sequence) and sh:hasValue, itself or in its one property
        shape. Every other sh:or, sh:not and sh:node stays."""
        found: dict[URIRef, dict[Node, list]] = {SH["or"]: {}, SH["not"]: {}, SH.node: {}}
        dropped: set[Triple] = set()
        for constraint, into in found.items():
            read = _datatypes if constraint == SH["or"] else _reach
            for shape, argument in shapes.subject_objects(constraint):
                path = shapes.value(shape, SH.path)
                what = read(shapes, argument)
                if isinstance(path, URIRef) and what:
                    into.setdefault(path, []).append(what)
                    dropped.add((shape, constraint, argument))
        without = flat_graph((t for t in shapes if t not in dropped), shapes.namespaces())
        lists, refused, required = ({path: tuple(v) for path, v in found[c].items()}
                                    for c in (SH["or"], SH["not"], SH.node))
        return cls(lists, refused, required, without)

    def __bool__(self) -> bool:
        return bool(self.datatype_lists or self.refused or self.required)

    def facts(self, triples: Iterable[Triple]) -> Facts:
        """What the paths of the sh:not and sh:node found here go through, of some data."""
        wanted = {p for reaches in (*self.refused.values(), *self.required.values())
                  for path, _ in reaches for p in path}
        facts: Facts = {}
        for s, p, o in triples:
            if p in wanted:
                facts.setdefault((s, p), set()).add(o)
        return facts

    def may_fail(self, triples: Iterable[Triple], facts: Facts) -> bool:
        """Whether a value of these triples could fail a constraint found here: it lacks every
        datatype of a list, or ``facts`` (``facts()`` of all the data it is validated with, its
        own triples included) reach the value an sh:not refuses, or not the one an sh:node
        requires. Such a record is validated against the whole shapes."""
        lists, refused, required = self.datatype_lists, self.refused, self.required
        for _, predicate, value in triples:
            for datatypes in lists.get(predicate, ()):
                if not any(has_datatype(value, datatype) for datatype in datatypes):
                    return True
            for path, target in refused.get(predicate, ()):
                if _reaches(value, path, target, facts):
                    return True
            for path, target in required.get(predicate, ()):
                if not _reaches(value, path, target, facts):
                    return True
        return False


def _reaches(value: Node, path: Path, target: Node, facts: Facts) -> bool:
    """Whether the facts lead from the value along the path to the target."""
    nodes = {value}
    for step in path:
        nodes = {o for node in nodes for o in facts.get((node, step), ())}
    return target in nodes


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


def _reach(shapes: Graph, shape: Node) -> Reach | None:
    """(path, V) of a shape that says nothing but sh:path (a property or a list of them) and
    sh:hasValue V, or whose only constraint is one sh:property shape that does (else None)."""
    said = list(shapes.predicate_objects(shape))
    if len(said) == 1 and said[0][0] == SH.property:
        said = list(shapes.predicate_objects(said[0][1]))
    by_predicate = dict(said)
    if len(said) != 2 or SH.hasValue not in by_predicate or SH.path not in by_predicate:
        return None
    path = by_predicate[SH.path]
    steps = (path,) if isinstance(path, URIRef) else tuple(shapes.items(path))
    properties = tuple(step for step in steps if isinstance(step, URIRef))
    if not steps or len(properties) < len(steps):
        return None
    return properties, by_predicate[SH.hasValue]
