"""What a linked-data request gets when it cannot be answered as asked: the page number it asks
for checked (a 400 naming ``page``), and a 404 in the RDF syntax it asks for.

A 404 in RDF says nothing about the unknown IRI: it is a ``hydra:Error`` that says where to go
instead (``rdfs:seeAlso`` each suggestion, with its label); Turtle and N-Triples also say it in
comments, for a person reading them.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyoxigraph as ox

from policykg.graph.rdf.namespaces import HYDRA, RDF, RDFS, XSD

MAX_PAGE = 1_000_000  # deeper than any listing or hub: larger numbers overflow the stores' offset


class BadParameter(ValueError):
    """A parameter of a linked-data request that cannot be used: 400, naming it."""


def page_number(args: Mapping[str, str]) -> int:
    """The ``page`` asked for (1 when none is), a whole number from 1 to MAX_PAGE."""
    text = args.get("page")
    if text is None:
        return 1
    number = int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else 0
    if not 1 <= number <= MAX_PAGE:
        raise BadParameter(f"page: {text!r} is not a page number; give a whole number from 1 "
                           f"to {MAX_PAGE}")
    return number


def not_found_triples(iri: str, hints: list[tuple[str, str]]) -> list[ox.Triple]:
    """The hydra:Error of a 404 about ``iri``; ``hints``: (label, absolute URL) to go to."""
    error = ox.BlankNode()
    triples = [
        ox.Triple(error, ox.NamedNode(RDF + "type"), ox.NamedNode(HYDRA + "Error")),
        ox.Triple(error, ox.NamedNode(HYDRA + "statusCode"),
                  ox.Literal("404", datatype=ox.NamedNode(XSD + "integer"))),
        ox.Triple(error, ox.NamedNode(HYDRA + "title"), ox.Literal("Not Found")),
        ox.Triple(error, ox.NamedNode(HYDRA + "description"),
                  ox.Literal(f"Nothing is known about <{iri}>.")),
    ]
    for label, url in hints:
        triples.append(ox.Triple(error, ox.NamedNode(RDFS + "seeAlso"), ox.NamedNode(url)))
        triples.append(ox.Triple(ox.NamedNode(url), ox.NamedNode(RDFS + "label"),
                                 ox.Literal(label)))
    return triples


def not_found_comments(iri: str, hints: list[tuple[str, str]]) -> bytes:
    """The same, as comment lines (for Turtle and N-Triples, which allow them)."""
    lines = [f"# 404 Not Found: nothing is known about <{iri}>.",
             *(f"# {label}: {url}" for label, url in hints)]
    return ("\n".join(lines) + "\n").encode("utf-8")
