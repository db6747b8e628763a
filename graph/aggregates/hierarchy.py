"""The vocabularies' hierarchy as the aggregates roll concepts up along it."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from policykg.graph.aggregates.terms import query_text
from policykg.graph.store import GraphStore


@dataclass(frozen=True)
class ConceptHierarchy:
    """Every concept's ancestors, read from the materialised skos:broaderTransitive."""

    ancestors: dict[str, frozenset[str]]
    digest: str

    @classmethod
    def read(cls, store: GraphStore) -> ConceptHierarchy:
        """The hierarchy as the store holds it now."""
        pairs = sorted({
            (row["concept"].value, row["ancestor"].value)
            for row in store.query(query_text("hierarchy.rq"))
            if row["concept"] != row["ancestor"]
        })
        ancestors: dict[str, set[str]] = defaultdict(set)
        for concept, ancestor in pairs:
            ancestors[concept].add(ancestor)
        digest = hashlib.sha256("\n".join(f"{c} {a}" for c, a in pairs).encode()).hexdigest()
        return cls({c: frozenset(a) for c, a in ancestors.items()}, digest[:16])

    def rollup(self, concepts: Iterable[str]) -> set[str]:
        """The concepts and every concept above them."""
        found = set()
        for concept in concepts:
            found.add(concept)
            found.update(self.ancestors.get(concept, ()))
        return found

    def tops(self, concepts: Iterable[str]) -> set[str]:
        """The top concepts (those with nothing above) at or above the concepts."""
        return {c for c in self.rollup(concepts) if not self.ancestors.get(c)}
