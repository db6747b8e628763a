"""The word index: each word of a publication's title and abstract, folded, as ``pkg:word``.

It is kept in each publication's aggregate graph (``Words.NAMED``), or, on a store in this
process, in the default graph (``Words.DEFAULT``: indexed three ways rather than six, and
included in the union default graph), whence a publication's words are removed by pattern.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import Enum
from functools import cache
from itertools import islice

import pyoxigraph as ox

from policykg.graph.aggregates.terms import publication_of, query_text
from policykg.graph.mapping.normalise import fold
from policykg.graph.store import GraphStore

WORDS_CHUNK = 5000  # publications whose words one update removes


class Words(Enum):
    """Where a store keeps the word index (the stamp tells them apart: changing it redoes
    every publication)."""

    NAMED = ""  # in each publication's aggregate graph
    DEFAULT = " default-graph-words"  # in the default graph: an embedded Oxigraph store
    NONE = " no-words"  # not indexed

    @classmethod
    def of(cls, store: GraphStore) -> Words:
        """Where the word index goes in a store: the default graph of an embedded Oxigraph
        store, else each publication's aggregate graph."""
        return cls.DEFAULT if store.in_process else cls.NAMED


@cache
def stopwords() -> frozenset[str]:
    """The words the word index leaves out (graph/data/aggregates/stopwords.txt)."""
    lines = query_text("stopwords.txt").splitlines()
    return frozenset(w for line in lines if not line.startswith("#") for w in line.split())


WORD_PATTERN = re.compile(r"[^\W_]+")


def words(text: str) -> set[str]:
    """The index words of a text: runs of letters and digits, folded (lower case, no accents),
    two characters or more, less stop words. A word search folds its word the same way."""
    return {w for w in WORD_PATTERN.findall(fold(text)) if len(w) > 1 and w not in stopwords()}


def remove_words(store: GraphStore, record_graphs: Iterable[str]) -> None:
    """Remove the default-graph word index of some record graphs' publications (nothing to
    do on a store that keeps words in the aggregate graphs). Removing by pattern again is
    harmless: a step cut short is redone."""
    for update in word_removals(Words.of(store), record_graphs):
        store.update(update)


def word_removals(words: Words, record_graphs: Iterable[str]) -> list[str]:
    """The SPARQL updates that remove the default-graph word index of some record graphs'
    publications, one per WORDS_CHUNK of them (none unless ``words`` is Words.DEFAULT)."""
    if words is not Words.DEFAULT:
        return []
    updates = []
    graphs = iter(record_graphs)
    while chunk := list(islice(graphs, WORDS_CHUNK)):
        publications = " ".join(str(ox.NamedNode(publication_of(g))) for g in chunk)
        updates.append(query_text("remove-words.ru").replace("#PUBLICATIONS", publications))
    return updates
