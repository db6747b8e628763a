"""Moving terms between rdflib (the mapping and SHACL side) and pyoxigraph (the store side)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
OxTerm = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple  # any term pyoxigraph gives
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


@lru_cache(maxsize=200_000)
def _named(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def to_ox(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """The pyoxigraph term of an rdflib term."""
    if isinstance(term, URIRef):
        return _named(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=_named(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"not an RDF term: {term!r}")


def value_of(term: OxTerm) -> str:
    """The value of a pyoxigraph IRI, blank node or literal. A triple term (RDF 1.2), which
    pyoxigraph may also give where an object or subject is, has none."""
    if isinstance(term, ox.Triple):
        raise TypeError(f"a triple term has no value: {term}")
    return term.value


def serialized(data: Iterable[ox.Triple] | Iterable[ox.Quad], format: ox.RdfFormat | None,
               prefixes: dict[str, str] | None = None) -> bytes:
    """``ox.serialize`` into bytes (no output given: it returns them, though typed
    ``bytes | None``)."""
    text = ox.serialize(data, format=format, prefixes=prefixes)
    assert text is not None
    return text


def to_rdflib(term: OxTerm) -> Node:
    """The rdflib term of a pyoxigraph term (a triple term has none)."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        datatype = term.datatype.value
        return Literal(term.value, datatype=None if datatype == XSD_STRING else URIRef(datatype))
    raise TypeError(f"not an RDF term: {term!r}")


Triple = tuple[Node, Node, Node]


def triple_quads(triples: Iterable[Triple], graph_name: str) -> Iterator[ox.Quad]:
    """rdflib triples (a Graph, a list...) as quads in a named graph."""
    name = _named(graph_name)
    for subject, predicate, obj in triples:
        node, link = to_ox(subject), to_ox(predicate)
        if isinstance(node, ox.Literal) or not isinstance(link, ox.NamedNode):
            raise TypeError(f"not a triple: {(subject, predicate, obj)!r}")
        yield ox.Quad(node, link, to_ox(obj), name)


def nquads(triples: Iterable[Triple], graph_name: str) -> str:
    """rdflib triples as N-Quads lines in a named graph (what Oxigraph parses back exactly)."""
    graph = f" <{graph_name}> .\n"
    return "".join(
        f"{_nt(subject)} {_nt(predicate)} {_nt(obj)}{graph}" for subject, predicate, obj in triples
    )


_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})


def _nt(term: Node) -> str:
    """The N-Triples form of an rdflib term."""
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, Literal):
        text = str(term)
        if "\\" in text or '"' in text or "\n" in text or "\r" in text:
            text = text.translate(_ESCAPES)
        if term.language:
            return f'"{text}"@{term.language}'
        if term.datatype is not None and str(term.datatype) != XSD_STRING:
            return f'"{text}"^^<{term.datatype}>'
        return f'"{text}"'
    if isinstance(term, BNode):
        return f"_:{term}"
    raise TypeError(f"not an RDF term: {term!r}")


def rdflib_graph(quads: Iterable[ox.Quad | ox.Triple]) -> Graph:
    """An rdflib graph of the triples of some quads."""
    graph = Graph(bind_namespaces="none")
    for quad in quads:
        graph.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))
    return graph
