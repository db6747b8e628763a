"""What a text index does, whichever engine it is (``GraphStore.text_index``): tantivy beside the
embedded store (``tantivy_index``), or a remote store's own free-text index (``store_index``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from policykg.graph.search.document import SearchDocument
from policykg.graph.search.request import Hit, SearchRequest, SearchResult
from policykg.graph.search.sparql import MatchPattern


class TextIndex(Protocol):
    """Finding publications by their texts and counting them by facets."""

    # Whether documents are written here (an index beside the store), or the texts live in
    # the store's own aggregate graphs, written with the records (always in step).
    keeps_documents: bool

    def search(self, request: SearchRequest) -> SearchResult:
        """The hits of a request's page, the total and the facets' counts."""

    def matches(self, text: str, limit: int) -> list[Hit]:
        """The publications that match a query text, best first, ``limit`` at most."""

    def sparql_pattern(self, variables: Sequence[str], text: str, limit: int) -> MatchPattern:
        """What stands in a SPARQL query for ``pkg:matches``: a group pattern binding the
        variables (the publication, and its score if two) to the ``limit`` best matches."""

    def token(self) -> str | None:
        """The token of the last commit: what changes whenever the documents do."""

    def count(self) -> int:
        """How many publications the index holds."""

    def size(self) -> int:
        """Bytes it takes on disk beside the store (0: none)."""

    def write(self, documents: Iterable[SearchDocument], removed: Iterable[str] = ()) -> None:
        """Replace publications' documents, remove others' (searchable once committed)."""

    def clear(self) -> None:
        """Remove every document (searchable once committed)."""

    def commit(self, token: str) -> None:
        """Make what was written searchable, under a new token."""

    def rollback(self) -> None:
        """Forget what was written since the last commit."""

    def close(self) -> None:
        """Release what writing holds."""
