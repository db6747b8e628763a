"""The IRIs of the graph: things under {base}id/, documents under {base}doc/, graphs under
{base}graph/."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote

from rdflib import URIRef

DEFAULT_BASE = "http://localhost:8000/"


@dataclass(frozen=True)
class Uris:
    """IRI minting for one base. Keys are quoted so any key yields a valid IRI."""

    base: str = DEFAULT_BASE

    def __post_init__(self) -> None:
        if not self.base.endswith("/"):
            object.__setattr__(self, "base", self.base + "/")

    def id(self, kind: str, key: str) -> URIRef:
        """The IRI of a thing: {base}id/{kind}/{key}."""
        return _minted(f"{self.base}id/{kind}/", key)

    def graph(self, kind: str, key: str) -> URIRef:
        """The named graph holding what the records assert about a thing."""
        return _minted(f"{self.base}graph/{kind}/", key)

    def inferred_graph(self, kind: str, key: str) -> URIRef:
        """The named graph holding what OWL RL entails from that thing's graph."""
        return URIRef(f"{self.base}graph/inferred/{kind}/{quote(key, safe='-._~')}")

    def named(self, path: str) -> URIRef:
        """Any other IRI under the base (vocabulary graphs, schemes)."""
        return URIRef(self.base + path)

    def split(self, iri: str) -> tuple[str, str] | None:
        """(kind, key) of an IRI under {base}id/, or None."""
        prefix = self.base + "id/"
        if not iri.startswith(prefix):
            return None
        kind, _, key = iri[len(prefix):].partition("/")
        return (kind, key) if kind and key else None


@lru_cache(maxsize=16384)
def _minted(prefix: str, key: str) -> URIRef:
    """prefix + the key quoted, as a URIRef: records name the same people, keywords, concepts
    and schemes again and again, and quoting and rdflib's IRI check cost more than a look-up."""
    return URIRef(prefix + quote(key, safe="-._~"))
