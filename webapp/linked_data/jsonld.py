"""JSON-LD documents compacted with the app's context (context.jsonld beside this module,
served at {base}context.jsonld): readable keys (``title``, ``creator``, ``issued``, ``jel``)
instead of full IRIs, and the author list as a JSON list. rdflib's JSON-LD serializer
compacts; the document then names the context by its address, so that any JSON-LD processor
reads the same triples back.

    compacted(triples, "http://localhost:8000/context.jsonld")   # bytes of a JSON-LD document
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files

import pyoxigraph as ox
import rdflib

from policykg.graph.rdf.terms import serialized

CONTEXT_FILE = "context.jsonld"


@cache
def context_text() -> str:
    """The context document, as shipped."""
    return files("policykg.webapp.linked_data").joinpath(CONTEXT_FILE).read_text("utf-8")


@cache
def _context() -> dict:
    context: dict = json.loads(context_text())["@context"]
    return context


def compacted(triples: list[ox.Triple], context_url: str, topic: str | None = None) -> bytes:
    """The triples as a JSON-LD document compacted with the context at ``context_url``, the
    node of ``topic`` (an IRI) first."""
    graph = rdflib.Graph()
    graph.parse(data=serialized(triples, ox.RdfFormat.N_TRIPLES), format="nt")
    document = json.loads(graph.serialize(format="json-ld", context=_context(),
                                          auto_compact=True))
    document["@context"] = context_url
    _in_order(document, topic)
    return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _in_order(document: dict, topic: str | None) -> None:
    """Put the document in one order whatever order rdflib met the triples in (the same triples
    then give the same bytes, hence the same ETag): the topic's node first, then by IRI; values
    of a property sorted unless the context keeps them as an ordered list."""
    if isinstance(document.get("@graph"), list):
        document["@graph"].sort(key=lambda node: (node.get("id") != topic, _text(node)))
    for node in document.get("@graph", [document]):
        _sort_values(node)


def _sort_values(node: dict) -> None:
    for key, value in node.items():
        if isinstance(value, list) and key != "@list" and key not in _ordered_terms():
            value.sort(key=_text)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                _sort_values(item)


@cache
def _ordered_terms() -> frozenset[str]:
    return frozenset(term for term, definition in _context().items()
                     if isinstance(definition, dict) and definition.get("@container") == "@list")


def _text(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
