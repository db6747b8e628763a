"""The names of the aggregates: their graphs (under ``{base}graph/aggregates/``), properties and
the queries that compute them (graph/data/aggregates/)."""

from __future__ import annotations

import pyoxigraph as ox

from policykg.graph.rdf.namespaces import PKG
from policykg.graph.rdf.queries import AGGREGATE_QUERIES
from policykg.graph.rdf.uris import Uris

RECORD_KIND = "publication"
AGGREGATES = "graph/aggregates/"
VERSION = "2"  # bump when what is computed per publication changes: all are recomputed
PENDING = AGGREGATES + "pending"  # its stamp: records changed since the tallies were counted
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
XSD_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")


def pkg_term(name: str) -> ox.NamedNode:
    return ox.NamedNode(PKG + name)


JEL_ROLLUP = pkg_term("jelRollup")
JEL_TOP = pkg_term("jelTop")
REGION_ROLLUP = pkg_term("regionRollup")
ISSUED_YEAR = pkg_term("issuedYear")
STAMP = pkg_term("aggregateStamp")
PUBLICATION_COUNT = pkg_term("publicationCount")
TALLY_YEAR = pkg_term("tallyYear")
RANK = pkg_term("rank")
DIVISION = PKG + "division"


def query_text(name: str) -> str:
    """A query of graph/data/aggregates/."""
    return AGGREGATE_QUERIES.text(name)


def aggregate_graph(record_graph: str) -> str:
    """The aggregate graph of a record graph: {base}graph/publication/K ->
    {base}graph/aggregates/publication/K."""
    return record_graph.replace("/graph/", "/" + AGGREGATES, 1)


def record_graph(aggregate: str) -> str:
    """The record graph an aggregate graph was computed from."""
    return aggregate.replace("/" + AGGREGATES, "/graph/", 1)


def publication_of(record: str) -> str:
    """The publication a record graph describes: {base}graph/publication/K ->
    {base}id/publication/K (uris.graph and uris.id of the same key)."""
    return record.replace("/graph/", "/id/", 1)


def tally_graph(uris: Uris, name: str) -> str:
    """The graph of one tally: {base}graph/aggregates/{name}."""
    return uris.base + AGGREGATES + name


def integer_literal(number: int) -> ox.Literal:
    return ox.Literal(str(number), datatype=XSD_INTEGER)
