"""Content negotiation of the linked-data documents: the representations there are (RDF
syntaxes, HTML, a publication's citation variants), chosen by Accept header or by extension.

    negotiate()                      # the variant the request's Accept prefers
    split_extension("IDB-LM-00577.ttl")  # ("IDB-LM-00577", TURTLE)
"""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox
from flask import request

from policykg.webapp.citations import variants


@dataclass(frozen=True)
class Format:
    """One representation: file extension, media type, pyoxigraph format (None: HTML, or a
    citation variant of a publication's document, webapp/citations)."""

    extension: str
    media_type: str
    rdf: ox.RdfFormat | None
    citation: str | None = None


FORMATS = (
    Format("ttl", "text/turtle", ox.RdfFormat.TURTLE),
    Format("html", "text/html", None),
    Format("jsonld", "application/ld+json", ox.RdfFormat.JSON_LD),
    Format("nt", "application/n-triples", ox.RdfFormat.N_TRIPLES),
    Format("rdf", "application/rdf+xml", ox.RdfFormat.RDF_XML),
)
CITATIONS = tuple(Format(extension, media_type, None, name)
                  for name, (media_type, extension) in variants.MEDIA_TYPES.items())
BY_EXTENSION = {f.extension: f for f in FORMATS}
CITATION_EXTENSIONS = {f.extension: f for f in CITATIONS}
TURTLE, HTML = FORMATS[0], FORMATS[1]
# Media types accepted for each variant, in order of preference on ties (Turtle first).
ACCEPTED = {"text/turtle": TURTLE, "application/x-turtle": TURTLE, "text/html": HTML,
            "application/xhtml+xml": HTML, "application/ld+json": FORMATS[2],
            "application/json": FORMATS[2], "application/n-triples": FORMATS[3],
            "text/plain": FORMATS[3], "application/rdf+xml": FORMATS[4]}
CITATION_ACCEPTED = ACCEPTED | {f.media_type: f for f in CITATIONS}


def negotiate(citations: bool = False) -> Format | None:
    """The variant the client prefers (among the citation variants too for ``citations``):
    Turtle with no Accept header; None if none is acceptable."""
    accept = variants.plain_accept(request.accept_mimetypes)
    if not accept:
        return TURTLE
    offered = CITATION_ACCEPTED if citations else ACCEPTED
    best = accept.best_match(list(offered))
    return offered[best] if best else None


def split_extension(key: str, citations: bool = False) -> tuple[str, Format | None]:
    """("IDB-LM-00577", Turtle) for "IDB-LM-00577.ttl" (and "IDB-LM-00577.bib" for
    ``citations``); (key, None) without a known extension."""
    stem, dot, extension = key.rpartition(".")
    known = BY_EXTENSION | CITATION_EXTENSIONS if citations else BY_EXTENSION
    if dot and stem and extension in known:
        return stem, known[extension]
    return key, None
