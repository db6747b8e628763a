"""One publication, one IRI: which publication of the store a record updates.

A record is keyed by its own fields (``record_key``: the publication number, else the DOI...),
but the same publication read in another format may lack the field its IRI was minted from
(DSpace's qdc drops the publication number). So a record updates, in this order:

1. the publication of its own key, when the store holds it;
2. else the publication that holds its DOI, then its handle (the mapping's ``identifiers``);
3. else the publication read from the same OAI identifier (a record of the OAI-PMH formats);
4. else it is a new publication under its own key.

Two records with different publication numbers are two publications even when they share a
DOI or handle (one recorded on two publications is a data error, not one publication): an
identifier's holder is taken only when the record or the holder has no publication number key.

What the store holds is asked as the loader's ``_Known`` asks it: identifier by identifier on
an embedded store (index seeks), all at once at the start on a remote one. Records keyed
during the load are remembered, so that two formats of one publication in one load are one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pyoxigraph as ox
from rdflib import Literal, URIRef

from policykg.graph.loading.prepare import RECORD_KIND
from policykg.graph.mapping.lookups import Lookups
from policykg.graph.mapping.rules import Mapping, identifiers, is_number_key
from policykg.graph.rdf.terms import to_ox
from policykg.graph.rdf.uris import Uris
from policykg.graph.readers.record import Record
from policykg.graph.store import GraphStore
from policykg.graph.store.interface import SOURCE_IDENTIFIER

OAI_FORMAT = "oai-xml"  # the reader's format name: "oai-xml" or "oai-xml/<prefix>"

Identifier = tuple[str, str]  # (property IRI, the value's N-Triples form)


class Identities:
    """Which publication each identifier names (its key), as far as the store and this load
    tell; one instance per load."""

    def __init__(self, store: GraphStore, uris: Uris, mapping: Mapping,
                 lookups: Lookups) -> None:
        self._store = store
        self._uris = uris
        self._mapping = mapping
        self._lookups = lookups
        self._lazy = store.in_process
        self._records = str(uris.graph(RECORD_KIND, ""))
        self._held: dict[Identifier, str | None] = {}
        if not self._lazy:
            properties = {rule.property for name, rule in mapping.rules.items()
                          if name in mapping.identifier_fields}
            for predicate in (*map(to_ox, properties), SOURCE_IDENTIFIER):
                assert isinstance(predicate, ox.NamedNode)
                for quad in store.quads_matching(None, predicate, None, None):
                    key = self._key_of_graph(quad.graph_name)
                    if key is not None:
                        self._held.setdefault((predicate.value, str(quad.object)), key)

    def key_for(self, record: Record, own_key: str, held: Callable[[str], bool]) -> str:
        """The key of the publication a record updates (``held``: whether the store holds a
        publication of that key); the record's identifiers are then known to name it."""
        named = self._identifiers(record)
        key = own_key if held(own_key) else None
        for identifier, term in named:
            if key is not None:
                break
            holder = self._holder(identifier, term)
            if holder is not None and not (is_number_key(own_key) and is_number_key(holder)):
                key = holder
        key = key or own_key
        for identifier, _ in named:
            if self._held.get(identifier) is None:
                self._held[identifier] = key
        return key

    def _identifiers(self, record: Record) -> list[tuple[Identifier, ox.NamedNode | ox.Literal]]:
        """The record's identifiers, in order of precedence, with their terms in the store."""
        pairs: Iterable[tuple[URIRef, URIRef | Literal]] = identifiers(
            record, self._mapping, self._uris, self._lookups)
        named: list[tuple[Identifier, ox.NamedNode | ox.Literal]] = []
        for predicate, value in pairs:
            term = to_ox(value)
            assert isinstance(term, ox.NamedNode | ox.Literal)  # identifiers: IRIs, literals
            named.append(((str(predicate), str(term)), term))
        if record.format.split("/")[0] == OAI_FORMAT and record.source_id:
            source = ox.Literal(record.source_id)
            named.append(((SOURCE_IDENTIFIER.value, str(source)), source))
        return named

    def _holder(self, identifier: Identifier, term: ox.NamedNode | ox.Literal) -> str | None:
        """The key of the publication holding an identifier, None when none does."""
        if identifier in self._held or not self._lazy:
            return self._held.get(identifier)
        predicate = ox.NamedNode(identifier[0])
        keys = sorted(key for quad in self._store.quads_matching(None, predicate, term, None)
                      if (key := self._key_of_graph(quad.graph_name)) is not None)
        self._held[identifier] = found = keys[0] if keys else None
        return found

    def _key_of_graph(self, graph: object) -> str | None:
        """The publication key of a record graph; None for any other graph."""
        if isinstance(graph, ox.NamedNode) and graph.value.startswith(self._records):
            return graph.value[len(self._records):]
        return None
