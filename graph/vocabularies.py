"""The ontology and reference vocabularies as named graphs, read from policykg.ontology.

Which Turtle files go into which named graph is data: ontology/vocabularies.toml. The files
write instance IRIs relative (``<id/jel/O31>``), so they are parsed with the configured base:

    vocabulary_graphs(base)   # {base + "graph/vocab/jel": Graph, ...}
    vocabulary_quads(base)    # the same triples, as pyoxigraph quads in those named graphs
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterator
from importlib.resources import files
from importlib.resources.abc import Traversable

import pyoxigraph as ox
from rdflib import Graph

PACKAGE = "policykg.ontology"


def _load_vocabularies() -> list[tuple[str, str]]:
    """(graph path suffix, Turtle file name) pairs, in the order of vocabularies.toml."""
    text = (files(PACKAGE) / "vocabularies.toml").read_text(encoding="utf-8")
    return [(entry["path"], name)
            for entry in tomllib.loads(text)["graph"] for name in entry["files"]]


VOCABULARIES: list[tuple[str, str]] = _load_vocabularies()


def _source(name: str) -> Traversable:
    return files(PACKAGE) / name


def vocabulary_graphs(base: str) -> dict[str, Graph]:
    """Graph IRI (``base`` + path) -> the graph parsed from its files with ``base``."""
    graphs: dict[str, Graph] = {}
    for path, name in VOCABULARIES:
        graph = graphs.setdefault(base + path, Graph(bind_namespaces="core"))
        graph.parse(data=_source(name).read_text(encoding="utf-8"), format="turtle",
                    publicID=base)
    return graphs


def vocabulary_quads(base: str) -> Iterator[ox.Quad]:
    """The vocabularies as quads in their named graphs, parsed by pyoxigraph with ``base``."""
    for path, name in VOCABULARIES:
        graph_name = ox.NamedNode(base + path)
        for quad in ox.parse(_source(name).read_bytes(), ox.RdfFormat.TURTLE, base_iri=base,
                             rename_blank_nodes=True):
            yield ox.Quad(quad.subject, quad.predicate, quad.object, graph_name)


def vocabulary_digest(base: str) -> str:
    """A digest of the vocabulary files and the base: what their closure depends on."""
    hasher = hashlib.sha256(base.encode("utf-8"))
    for path, name in VOCABULARIES:
        hasher.update(path.encode("utf-8"))
        hasher.update(_source(name).read_bytes())
    return hasher.hexdigest()[:32]
