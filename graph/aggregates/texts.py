"""Where a store's publications' texts are searched, which decides what their aggregate graphs
hold: nothing of the texts when a text index beside the store keeps them (``Texts.INDEX``: the
embedded store's), their analyzed texts when the store searches its own literals
(``Texts.STORE``: a remote store; ``search.engines.store_index``).

Aggregates stamped with ``LEGACY_WORDS`` come with a word index of ``pkg:word`` quads in the
store's default graph, which nothing reads: a refresh removes it with the publication's
aggregates (``word_removals``).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from itertools import islice

import pyoxigraph as ox

from policykg.graph.aggregates.terms import publication_of, query_text
from policykg.graph.store import GraphStore

WORDS_CHUNK = 5000  # publications whose default-graph words one update removes
LEGACY_WORDS = " default-graph-words"  # the stamp's mark of a word index in the default graph


class Texts(Enum):
    """Where the texts are searched (part of every stamp: changing it redoes every
    publication's aggregates)."""

    INDEX = " text-index"
    STORE = " store-texts"

    @classmethod
    def of(cls, store: GraphStore) -> Texts:
        """Where a store's texts are searched: by its text index, or in its aggregates."""
        return cls.INDEX if store.text_index().keeps_documents else cls.STORE


def word_removals(record_graphs: Iterable[str]) -> list[str]:
    """The SPARQL updates that remove the default-graph word index of some record graphs'
    publications, one per WORDS_CHUNK of them."""
    updates = []
    graphs = iter(record_graphs)
    while chunk := list(islice(graphs, WORDS_CHUNK)):
        publications = " ".join(str(ox.NamedNode(publication_of(g))) for g in chunk)
        updates.append(query_text("remove-words.ru").replace("#PUBLICATIONS", publications))
    return updates
