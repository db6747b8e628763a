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


def compacted(triples: list[ox.Triple], context_url: str) -> bytes:
    """The triples as a JSON-LD document compacted with the context at ``context_url``."""
    graph = rdflib.Graph()
    graph.parse(data=serialized(triples, ox.RdfFormat.N_TRIPLES), format="nt")
    document = json.loads(graph.serialize(format="json-ld", context=_context(),
                                          auto_compact=True))
    document["@context"] = context_url
    return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
