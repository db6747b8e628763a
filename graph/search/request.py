"""A search as asked (``SearchRequest``) and as answered by an engine (``SearchResult``), and
the facets results are counted under.

Filters hold IRIs: a publication passes a facet's filter when it has one of the values given
(a broader concept passes what it rolls up: a department its divisions, "O" every O code);
several facets' filters must all pass. A request is checked when it is made: ``RequestError``
names the parameter that is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from policykg.graph.search.document import FACET_PROPERTIES, HIERARCHICAL

SORTS = ("relevance", "newest", "oldest", "title")
FACETS = ("year", *FACET_PROPERTIES)  # year, type, division, jel, region, language, ...
TOP = 20  # values counted of the facets with many (author, keyword)
MANY_VALUED = ("author", "keyword")
MAX_SIZE = 100
MAX_PAGE = 10_000  # size x page at most: deeper pages are asked by narrowing the search
YEARS = (1000, 2999)

__all__ = ["FACETS", "HIERARCHICAL", "SORTS", "Hit", "RequestError", "SearchRequest",
           "SearchResult"]


class RequestError(ValueError):
    """A search parameter that cannot be taken: ``parameter`` names it."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter


@dataclass(frozen=True)
class SearchRequest:
    """What to find (``q``, in the syntax of ``syntax``), within which facet values and
    years, in which order, and which page of how many hits."""

    q: str = ""
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    year_from: int | None = None
    year_to: int | None = None
    sort: str = "relevance"
    page: int = 1
    size: int = 20
    facets: bool = True  # count the facets of the results too
    counted: tuple[str, ...] | None = None  # the facets to count (None: every one)

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise RequestError("sort", f"{self.sort!r} is not one of {', '.join(SORTS)}")
        if not 1 <= self.size <= MAX_SIZE:
            raise RequestError("size", f"{self.size} hits a page: give 1 to {MAX_SIZE}")
        if self.page < 1:
            raise RequestError("page", f"{self.page}: pages are numbered from 1")
        if self.page * self.size > MAX_PAGE:
            raise RequestError("page", f"page {self.page} of {self.size} is beyond the first "
                               f"{MAX_PAGE} hits: narrow the search instead")
        for name, year in (("year_from", self.year_from), ("year_to", self.year_to)):
            if year is not None and not YEARS[0] <= year <= YEARS[1]:
                raise RequestError(name, f"{year} is not a year")
        for name in self.counted or ():
            if name not in FACETS:
                raise RequestError("facets", f"no facet {name!r} (facets: {', '.join(FACETS)})")
        for name in self.filters:
            if name not in FACET_PROPERTIES:
                raise RequestError(name, f"no facet of that name (facets: {', '.join(FACETS)})")

    def counts(self, name: str) -> bool:
        """Whether the facet ``name`` is to be counted."""
        return self.facets and (self.counted is None or name in self.counted)

    @property
    def offset(self) -> int:
        """How many hits come before this page."""
        return (self.page - 1) * self.size

    @property
    def years(self) -> tuple[int, int] | None:
        """The year range asked for (either end open), None when none is."""
        if self.year_from is None and self.year_to is None:
            return None
        return (self.year_from or YEARS[0], self.year_to or YEARS[1])


@dataclass(frozen=True)
class Hit:
    """A publication found, and its relevance score (higher first)."""

    iri: str
    score: float = 0.0


@dataclass
class SearchResult:
    """What an engine found: how many publications in all, the hits of the page asked for,
    and, per facet, each value's count among all of them (values: IRIs; years as text)."""

    total: int
    hits: list[Hit]
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
