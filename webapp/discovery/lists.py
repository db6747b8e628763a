"""The publications of a thing, newest first, counted and paged, as its page lists them: a
search filtered by the thing (a person's, a JEL code's, a region's, a unit's, a keyword's, a
document type's), with the facets of those publications; for a subject or an operation, which
the text index does not count, a query ordered by date.

    found = thing_publications("person", iri, page=1, size=100)
    found.total, found.hits, found.within   # count, this page, the same list on /search
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox
from flask import request

from policykg.graph.rdf.queries import QueryFolder
from policykg.graph.search.request import MAX_PAGE, SearchRequest
from policykg.graph.search.service import FacetValue, FoundPublication
from policykg.webapp.api.search import app_search
from policykg.webapp.context import app_store, app_uris
from policykg.webapp.discovery.state import SearchState, shortener

# The kind of a thing's page -> the search filter that lists its publications.
FILTERS = {"person": "author", "jel": "jel", "region": "region", "org": "division",
           "keyword": "keyword", "doctype": "type"}
# The facets a kind's page shows of its publications (a person's co-authors and JEL areas, a
# unit's publications per year): only these are counted.
COUNTED = {"person": ("year", "author", "jel"), "org": ("year", "jel"), "region": ("year", "jel"),
           "jel": ("year",), "keyword": ("year",), "doctype": ("year",)}
# Kinds the text index has no facet for -> the query that lists their publications.
QUERIES = {"subject": "publications-subject", "operation": "publications-operation"}
LIST_QUERIES = QueryFolder("policykg.webapp.discovery", "queries")
LIST_SIZE = 20  # publications a page at most (the page's other lists may hold more)


@dataclass
class PublicationList:
    """One page of a list of publications, newest first."""

    total: int
    hits: list[FoundPublication]
    page: int
    size: int
    within: str | None = None  # the same list on the search page, to narrow it
    filter: tuple[str, str] | None = None  # (parameter, value) a search within it takes
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        """Pages of this size the list fills (as far as a search pages)."""
        return max(1, min(-(-self.total // self.size), MAX_PAGE // self.size))

    @property
    def start(self) -> int:
        """The number of the first publication of this page."""
        return (self.page - 1) * self.size + 1

    @property
    def more(self) -> bool:
        """Whether pages follow this one."""
        return self.page < self.pages


def thing_publications(kind: str, iri: str, page: int, size: int,
                       language: str = "en") -> PublicationList | None:
    """The page of a thing's publications (None: its kind lists none)."""
    if kind in FILTERS:
        return _searched(FILTERS[kind], iri, page, size, language, COUNTED.get(kind, ()))
    if kind in QUERIES:
        return _queried(QUERIES[kind], iri, page, size, language)
    return None


def all_publications(page: int, size: int, language: str = "en") -> PublicationList:
    """A page of every publication, newest first (the browse listing)."""
    size = min(size, LIST_SIZE)
    page = min(page, max(1, MAX_PAGE // size))
    found = app_search().search(SearchRequest(sort="newest", page=page, size=size,
                                              facets=False), language)
    within = SearchState(sort="newest").href(f"{request.script_root}/search")
    return PublicationList(found.total, found.hits, page, size, within)


def _searched(facet: str, iri: str, page: int, size: int, language: str,
              counted: tuple[str, ...]) -> PublicationList:
    size = min(size, LIST_SIZE)
    page = min(page, max(1, MAX_PAGE // size))
    asked = SearchRequest(filters={facet: (iri,)}, sort="newest", page=page, size=size,
                          facets=bool(counted), counted=counted)
    found = app_search().search(asked, language)
    short = shortener(app_uris())(facet, iri)
    within = SearchState(filters={facet: (short,)}, sort="newest").href(
        f"{request.script_root}/search")
    return PublicationList(found.total, found.hits, page, size, within, (facet, short),
                           found.facets)


def _queried(name: str, iri: str, page: int, size: int, language: str) -> PublicationList:
    size = min(size, LIST_SIZE)
    this = {ox.Variable("this"): ox.NamedNode(iri)}
    text = LIST_QUERIES.text(f"{name}.rq")
    counted = LIST_QUERIES.text(f"{name}-count.rq")
    total = next((int(row["count"].value) for row in
                  app_store().query(counted, substitutions=this)), 0)
    rows = app_store().query(text.replace("$limit", str(size))
                             .replace("$offset", str((page - 1) * size)), substitutions=this)
    iris = list(dict.fromkeys(row["publication"].value for row in rows))
    hits = app_search().publications(iris, language)
    return PublicationList(total, hits, page, size)
