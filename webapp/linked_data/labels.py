"""The labels of the things descriptions link to (people, keywords, subjects, classes...), kept
per app while the store holds still: a publication links to dozens of them, and reading their
labels, one index seek each, is much of the cost of its description (bench/page_cpu.py).

An embedded store opened read-only tells its generation (the fingerprint of the folder it
follows, which every committed write changes): the cache is emptied whenever that changes, so
a page never shows a label older than the data it reads. A store that tells no generation (a
remote one, or one this process writes) is not cached: each description reads the labels it
needs, in one query (linked-labels.rq).

    cache = LabelCache()
    known = cache.current(store)       # IRI -> its label triples, for this generation
"""

from __future__ import annotations

import threading

import pyoxigraph as ox

from policykg.webapp.linked_data.describe import Term

KEPT = 20_000  # IRIs remembered per app, then forgotten all at once


class LabelCache:
    """IRI -> label triples, for one app's store at its current generation."""

    def __init__(self, kept: int = KEPT) -> None:
        self.kept = kept
        self._lock = threading.Lock()
        self._generation: object = None
        self._labels: dict[Term, tuple[ox.Triple, ...]] = {}

    def current(self, store) -> dict[Term, tuple[ox.Triple, ...]]:
        """The labels known at the store's generation, to read and add to; a new, empty dict
        each time for a store that tells no generation."""
        generation = store.generation
        if generation is None:
            return {}
        with self._lock:
            if generation != self._generation or len(self._labels) >= self.kept:
                self._generation, self._labels = generation, {}
            return self._labels
