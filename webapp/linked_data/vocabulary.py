"""The reference vocabularies (JEL, regions, the Bank's units, document types) as the pages use
them: the labels and parents of their few thousand things, read once per app (vocabulary.rq)
and kept in memory until their version changes.

The version is the content hash the loader stamps on the graph of the vocabularies' closure
(vocabulary-version.rq, one quad, looked up at each use): the same on the embedded and on a
remote store, and new whenever a load installs other vocabulary files or another base. So a
description (describe.py) takes the labels of the vocabulary IRIs it links to from here, and a
page draws the broader chains of its JEL codes, regions and units without a query.

    vocabulary = VocabularyCache().get(store, queries)
    vocabulary.triples[term]     # its label triples, () if it has none
    vocabulary.parents[term]     # its parents
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pyoxigraph as ox

from policykg.webapp.linked_data.describe import Queries, Term


@dataclass(frozen=True)
class Vocabulary:
    """The labels and parents of every thing of the vocabularies, at one version."""

    version: str | None = None
    triples: dict[Term, tuple[ox.Triple, ...]] = field(default_factory=dict)
    parents: dict[Term, tuple[Term, ...]] = field(default_factory=dict)
    # (label property, label): literals in the vocabularies, though vocabulary.rq asks not
    labels: dict[Term, list[tuple[str, Term]]] = field(default_factory=dict)

    @classmethod
    def read(cls, store, queries: Queries, version: str | None) -> Vocabulary:
        """Read the vocabularies' things (vocabulary.rq) from the store."""
        triples: dict[Term, dict[ox.Triple, None]] = {}
        parents: dict[Term, dict[Term, None]] = {}
        for row in queries.run(store, "vocabulary"):
            thing = row["thing"]
            triples.setdefault(thing, {})
            if row["label"] is not None:
                triples[thing][ox.Triple(thing, row["labelP"], row["label"])] = None
            if row["parent"] is not None:
                parents.setdefault(thing, {})[row["parent"]] = None
        return cls(version, {t: tuple(found) for t, found in triples.items()},
                   {t: tuple(found) for t, found in parents.items()},
                   {t: [(x.predicate.value, x.object) for x in found]
                    for t, found in triples.items()})


def version(store, queries: Queries) -> str | None:
    """The vocabularies' version: their closure's content hash (None before any load)."""
    for row in queries.run(store, "vocabulary-version"):
        return row["hash"].value
    return None


class VocabularyCache:
    """The vocabulary of one app's store, read again when its version (or the store) changes.
    A store that tells its generation (the embedded one, read-only) is not asked the version
    again while its generation holds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._generation: object = None
        self._value = Vocabulary()

    def get(self, store, queries: Queries) -> Vocabulary:
        """The current vocabulary: at most one small query, and a read when it has changed."""
        generation = store.generation
        key = self._key
        if generation is not None and generation == self._generation and key is not None \
                and key[:2] == (id(store), queries.base):
            return self._value
        key = (id(store), queries.base, version(store, queries))
        if key != self._key:
            with self._lock:
                if key != self._key:
                    self._value = Vocabulary.read(store, queries, key[2])
                    self._key = key
        self._generation = generation
        return self._value
