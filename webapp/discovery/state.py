"""The whole state of a search page as URL parameters, the same names as ``/api/search``:
``q``, a filter per facet (repeated for several values), ``year_from``/``year_to``, ``sort``,
``page``, ``size``. Filter values are written short (a key or code: ``O31``, ``ifd-cti``,
``perez-javier``, ``en``), so that a search reads well when it is bookmarked or shared.

    state = SearchState.of(request, shorten)
    state.href("/search", page=2)              # the same search, page 2
    state.toggled("jel", "O31").href("/search")  # with O31 ticked (or unticked), page 1
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from urllib.parse import unquote, urlencode

from policykg.graph.rdf.uris import Uris
from policykg.graph.search.names import KINDS
from policykg.graph.search.request import SearchRequest

DEFAULT_SORT, DEFAULT_SIZE = "relevance", 20
Shorten = Callable[[str, str], str]


def shortener(uris: Uris) -> Shorten:
    """(facet, IRI) -> the short value a filter takes for it (the IRI when it has none)."""
    def shorten(facet: str, iri: str) -> str:
        if facet == "language":
            return iri.rstrip("/").rsplit("/", 1)[-1]
        split = uris.split(iri)
        if split is None or split[0] != KINDS.get(facet):
            return iri
        return unquote(split[1])
    return shorten


@dataclass(frozen=True)
class SearchState:
    """What a search page shows, as its URL says it."""

    q: str = ""
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)  # facet -> short values
    year_from: int | None = None
    year_to: int | None = None
    sort: str = DEFAULT_SORT
    page: int = 1
    size: int = DEFAULT_SIZE

    @classmethod
    def of(cls, request: SearchRequest, shorten: Shorten) -> SearchState:
        """The state of a search request (its filters' IRIs written short)."""
        filters = {name: tuple(dict.fromkeys(shorten(name, iri) for iri in iris))
                   for name, iris in request.filters.items() if iris}
        return cls(request.q.strip(), filters, request.year_from, request.year_to,
                   request.sort, request.page, request.size)

    @property
    def narrowed(self) -> bool:
        """Whether anything narrows the search (words, filters or years)."""
        return bool(self.q or self.filters or self.year_from or self.year_to)

    def pairs(self) -> list[tuple[str, str]]:
        """The URL parameters, defaults left out."""
        found = [("q", self.q)] if self.q else []
        found += [(name, value) for name, values in self.filters.items() for value in values]
        found += [(name, str(year)) for name, year in (("year_from", self.year_from),
                                                        ("year_to", self.year_to)) if year]
        if self.sort != DEFAULT_SORT:
            found.append(("sort", self.sort))
        if self.size != DEFAULT_SIZE:
            found.append(("size", str(self.size)))
        if self.page > 1:
            found.append(("page", str(self.page)))
        return found

    def href(self, path: str, **changes: object) -> str:
        """The URL of this state at ``path``, with ``changes`` (fields of the state)."""
        state = replace(self, **changes) if changes else self  # type: ignore[arg-type]
        query = urlencode(state.pairs())
        return f"{path}?{query}" if query else path

    def selected(self, facet: str, value: str) -> bool:
        """Whether a facet's value is among the filters."""
        return value in self.filters.get(facet, ())

    def toggled(self, facet: str, value: str) -> SearchState:
        """This search with a facet's value added, or removed if it is there; page 1."""
        values = self.filters.get(facet, ())
        changed = tuple(v for v in values if v != value) if value in values \
            else (*values, value)
        filters = {name: found for name, found in {**self.filters, facet: changed}.items()
                   if found}
        return replace(self, filters=filters, page=1)

    def without_years(self) -> SearchState:
        """This search over every year; page 1."""
        return replace(self, year_from=None, year_to=None, page=1)

    def without_words(self) -> SearchState:
        """This search without its words; page 1."""
        return replace(self, q="", page=1)
