"""Finding the thing a person names in a filter: by IRI, by key (``O31``, ``ifd-cti``,
``perez-javier``), by code or acronym (``JM``, ``IFD``) or by any of its labels, in any language,
case and accents aside (``Jamaica``, ``Institutions for Development``).

The vocabularies' things (document types, divisions, JEL codes, regions) are looked up in their
labels, read from the store once; people and keywords by the key their name makes, checked in
the store; languages by their ISO 639 code or name.

A person's key is their name folded (``Pérez, Javier`` is ``perez-javier``), so a name typed in
any case, with or without accents, in either order (``javier perez``) or in part (``Pere``),
finds them through ``key_pattern``: the regular expression the named query ``persons-by-name``
matches keys with, and the author filter falls back on.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import permutations

import pyoxigraph as ox

from policykg.graph.mapping import normalise
from policykg.graph.mapping.normalise import DoubtfulValue, InvalidValue, fold, slug
from policykg.graph.rdf.queries import QueryFolder
from policykg.graph.rdf.uris import Uris
from policykg.graph.store import GraphStore

QUERIES = QueryFolder("policykg.graph.search", "queries")
# Facet -> the kind of IRI its values are ({base}id/{kind}/{key}). "subject" is no facet of the
# search, but the named queries find subjects as they find keywords.
KINDS = {"type": "doctype", "division": "org", "jel": "jel", "region": "region",
         "author": "person", "keyword": "keyword", "subject": "subject"}
VOCABULARIES = ("type", "division", "jel", "region")
ANY_ORDER_UP_TO = 4  # words of a name matched in any order; more: in the order typed
# What a facet's values are, and what a person may give to name one, for the messages.
WHAT = {
    "type": ("document type", "its key or name, such as working-papers or Working Papers"),
    "division": ("division, department or organisation",
                 "its key, acronym or name, such as ifd-cti, CTI or Competitiveness, "
                 "Technology and Innovation Division"),
    "jel": ("JEL code", "a code at any level, such as O, O3 or O31, or its label"),
    "region": ("region or country", "a country's ISO code or name, such as JM or Jamaica, or "
               "a region's key or name, such as caribbean or Central America"),
    "author": ("person", "their key or name, such as rabellotti-roberta or Rabellotti, Roberta"),
    "keyword": ("keyword", "its key or label, such as regional-ecosystem"),
    "subject": ("subject", "its key or label, such as small-business"),
}

Resolve = Callable[[str, str], str]  # (facet, value) -> the IRI it names, or UnknownName


class UnknownName(ValueError):
    """A value that names nothing of its facet."""


class Names:
    """The names of one store's things, for one base."""

    def __init__(self, store: GraphStore, uris: Uris) -> None:
        self.store = store
        self.uris = uris
        self._labels: dict[str, dict[str, str]] | None = None  # kind -> folded name -> IRI

    def resolve(self, facet: str, value: str) -> str:
        """The IRI a filter value names (UnknownName when it names nothing)."""
        text = value.strip()
        if not text:
            raise UnknownName("an empty value names nothing; give a value or leave the "
                              "parameter out")
        if facet == "language":
            return _language(text)
        kind = KINDS[facet]
        if "://" in text:
            return self._known(kind, text, text, facet)
        if facet in VOCABULARIES:
            found = self.labels().get(kind, {})
            for candidate in (text, text.upper()):
                iri = str(self.uris.id(kind, candidate))
                if iri in found.values():
                    return iri
            iri_by_name = found.get(fold(normalise.tidy(text)))
            if iri_by_name is not None:
                return iri_by_name
            raise UnknownName(_unknown(facet, value))
        iri = str(self.uris.id(kind, slug(text) or text))
        try:
            return self._known(kind, iri, value, facet)
        except UnknownName:
            if kind != "person":
                raise
            return self._person_named(text, value)

    def _person_named(self, text: str, value: str) -> str:
        """The one person whose name the text is, in another order or in part."""
        pattern = key_pattern(text)
        prefix = str(self.uris.id("person", ""))
        rows = list(self.store.query(QUERIES.text("persons-by-key.rq"), substitutions={
            ox.Variable("prefix"): ox.Literal(prefix),
            ox.Variable("pattern"): ox.Literal(pattern)}))
        people = sorted({row["person"].value for row in rows})
        if len(people) == 1:
            return people[0]
        if people:
            raise UnknownName(f"{value!r} names {len(people)} people: give one's key or "
                              f"full name ({', '.join(p[len(prefix):] for p in people[:5])})")
        raise UnknownName(_unknown("author", value))

    def _known(self, kind: str, iri: str, value: str, facet: str) -> str:
        """An IRI, if the store knows the thing (a vocabulary lists it, or a graph of its own
        describes it)."""
        if kind in (KINDS[f] for f in VOCABULARIES) and iri in self.labels().get(kind, {}).values():
            return iri
        split = self.uris.split(iri)
        if split is not None and self.store.has_graph(str(self.uris.graph(*split))):
            return iri
        if self.store.query(f"ASK {{ {ox.NamedNode(iri)} ?p ?o }}"):
            return iri
        raise UnknownName(_unknown(facet, value))

    def labels(self) -> dict[str, dict[str, str]]:
        """The vocabularies' things by folded label, code and acronym, per kind; a unit's
        acronym also without its department's (CTI for IFD/CTI) when no other has it."""
        if self._labels is None:
            found: dict[str, dict[str, str]] = {}
            tails: dict[str, dict[str, set[str]]] = {}
            prefix = self.uris.base + "id/"
            for row in self.store.query(QUERIES.text("vocabulary-names.rq")):
                iri = row["thing"].value
                if not iri.startswith(prefix):
                    continue
                kind = iri[len(prefix):].split("/", 1)[0]
                name = fold(normalise.tidy(row["name"].value))
                found.setdefault(kind, {}).setdefault(name, iri)
                if "/" in name and " " not in name:
                    tails.setdefault(kind, {}).setdefault(name.rsplit("/", 1)[1], set()).add(iri)
            for kind, by_tail in tails.items():
                for tail, iris in by_tail.items():
                    if len(iris) == 1 and tail:
                        found[kind].setdefault(tail, next(iter(iris)))
            self._labels = found
        return self._labels

    def resolver(self) -> Callable[[str, str], str]:
        """``resolve``, for a caller that turns UnknownName into its own error."""
        return self.resolve


def _unknown(facet: str, value: str) -> str:
    """The message of a value that names nothing of a facet."""
    noun, how = WHAT.get(facet, ("thing", "its key or name"))
    return f"{value!r} names no {noun} of the graph; give {how}"


def key_pattern(text: str) -> str:
    """A regular expression (XPath, as SPARQL's REGEX takes) matching the keys of the people a
    name may mean: each of its words, folded, starts a part of the key, in any order (``javier
    pere`` matches ``perez-javier``)."""
    words = list(dict.fromkeys(slug(text).split("-"))) if slug(text) else []
    if not words:
        return "^$"  # no word: no key
    orders = permutations(words) if len(words) <= ANY_ORDER_UP_TO else [tuple(words)]
    return "|".join("^(.*-)?" + ".*-".join(order) for order in orders)


def _language(text: str) -> str:
    if "://" in text:
        return text
    try:
        return str(normalise.language_iri(text))
    except (DoubtfulValue, InvalidValue) as error:
        raise UnknownName(f"{text!r} is no ISO 639 language code or name") from error
