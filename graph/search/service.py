"""Searching a store's publications, as the API and the pages show a search: an engine's hits
with what a reader sees of each (title, authors, year, type, divisions, a highlighted passage)
and each facet's values with their labels and, in a hierarchy, their parents.

    page = Search(store, engine, uris).search(SearchRequest(q="informal employment"))
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

import pyoxigraph as ox

from policykg.graph.aggregates.hierarchy import ConceptHierarchy
from policykg.graph.rdf.namespaces import DCTERMS, PKG
from policykg.graph.rdf.queries import QueryFolder
from policykg.graph.rdf.uris import Uris
from policykg.graph.search import syntax
from policykg.graph.search.document import HIERARCHICAL
from policykg.graph.search.engines.engine import TextIndex
from policykg.graph.search.highlight import Matchers, highlight, snippet
from policykg.graph.search.names import Names
from policykg.graph.search.request import Hit, SearchRequest
from policykg.graph.store import GraphStore

SEARCH_QUERIES = QueryFolder("policykg.graph.search", "queries")
LABELS_KEPT = 50_000  # labels a Search remembers, until the index changes (then forgotten)


@dataclass(frozen=True)
class Named:
    """A thing a page links to: its IRI and its label (the IRI when it has none)."""

    iri: str
    label: str


@dataclass(frozen=True)
class FacetValue:
    """One value of a facet: its IRI (a year: its digits), label, count among the results,
    and its parent in a hierarchical facet (None at the top)."""

    value: str
    label: str
    count: int
    parent: str | None = None


@dataclass
class FoundPublication:
    """A hit as a reader sees it; ``title_html`` and ``snippet_html`` are escaped HTML with
    the matching words in <mark>."""

    iri: str
    key: str | None
    score: float
    title: str = ""
    title_html: str = ""
    snippet_html: str = ""
    authors: list[Named] = field(default_factory=list)
    year: int | None = None
    issued: str | None = None
    type: Named | None = None
    divisions: list[Named] = field(default_factory=list)
    number: str | None = None


@dataclass
class SearchPage:
    """A search as answered: the request, the total, the page's publications, the facets."""

    request: SearchRequest
    total: int
    hits: list[FoundPublication]
    facets: dict[str, list[FacetValue]]

    @property
    def pages(self) -> int:
        """How many pages of this size the results fill."""
        return max(1, -(-self.total // self.request.size))


class Search:
    """Searches over one store with one engine."""

    def __init__(self, store: GraphStore, engine: TextIndex, uris: Uris) -> None:
        self.store = store
        self.engine = engine
        self.uris = uris
        self._labels: dict[str, dict[str | None, str]] = {}
        self._token: str | None = None
        self._hierarchy: ConceptHierarchy | None = None
        self._lock = threading.Lock()
        self.names = Names(store, uris)

    def search(self, request: SearchRequest, language: str = "en") -> SearchPage:
        """A request answered, labels in ``language`` where they have it."""
        result = self.engine.search(request)
        self._forget_if_changed()
        tree = syntax.parse(request.q)
        hits = self._found(result.hits, tree, language)
        facets = self._facets(result.facets, language)
        return SearchPage(request, result.total, hits, facets)

    def publications(self, iris: list[str], language: str = "en") -> list[FoundPublication]:
        """What a reader sees of these publications (as hits, with no passage), in order."""
        self._forget_if_changed()
        return self._found([Hit(iri) for iri in iris], None, language)

    def _forget_if_changed(self) -> None:
        token = self.engine.token()
        with self._lock:
            if token != self._token or len(self._labels) > LABELS_KEPT:
                self._labels, self._token, self._hierarchy = {}, token, None
                self.names = Names(self.store, self.uris)

    # --- hits ---------------------------------------------------------------------------------

    def _found(self, hits: list[Hit], tree: syntax.Node | None,
               language: str) -> list[FoundPublication]:
        if not hits:
            return []
        rows = self._display_rows([hit.iri for hit in hits])
        matchers = Matchers(tree)
        found = [self._publication(hit, rows.get(hit.iri, []), matchers, language)
                 for hit in hits]
        things = {named.iri for f in found for named in (*f.authors, *f.divisions,
                                                         *([f.type] if f.type else []))}
        labels = self.labels(things, language)
        for publication in found:
            publication.authors = [_relabel(a, labels) for a in publication.authors]
            publication.divisions = [_relabel(d, labels) for d in publication.divisions]
            publication.type = _relabel(publication.type, labels) if publication.type else None
        return found

    def _display_rows(self, iris: list[str]) -> dict[str, list[ox.QuerySolution]]:
        values = " ".join(str(ox.NamedNode(iri)) for iri in iris)
        text = SEARCH_QUERIES.text("display.rq").replace("#PUBLICATIONS", values)
        rows: dict[str, list[ox.QuerySolution]] = {}
        for row in self.store.query(text):
            rows.setdefault(row["publication"].value, []).append(row)
        return rows

    def _publication(self, hit: Hit, rows: list[ox.QuerySolution], matchers: Matchers,
                     language: str) -> FoundPublication:
        values: dict[str, list[ox.NamedNode | ox.Literal]] = {}
        cells: dict[str, tuple[str, str | None]] = {}
        for row in rows:
            prop, value, nxt = row["property"], row["value"], row["next"]
            if nxt is not None:  # a cell of the author list
                cells[prop.value] = (value.value, nxt.value)
            else:
                values.setdefault(prop.value, []).append(value)
        kind_key = self.uris.split(hit.iri)
        found = FoundPublication(hit.iri, kind_key[1] if kind_key else None, hit.score)
        title = _in_language(values.get(DCTERMS + "title", []), language)
        if title is not None:
            found.title = title.value
            found.title_html = highlight(title.value, matchers.of(title.language))
        abstract = _in_language(values.get(DCTERMS + "abstract", []), language)
        if abstract is not None:
            found.snippet_html = snippet(abstract.value, matchers.of(abstract.language))
        issued = sorted(v.value for v in values.get(DCTERMS + "issued", []))
        if issued:
            found.issued = issued[0]
            found.year = int(issued[0][:4]) if issued[0][:4].isdigit() else None
        found.authors = [Named(iri, iri) for iri in _authors(
            cells, [v.value for v in values.get(DCTERMS + "creator", [])])]
        found.divisions = [Named(v.value, v.value) for v in values.get(PKG + "division", [])]
        types = values.get(DCTERMS + "type", [])
        found.type = Named(types[0].value, types[0].value) if types else None
        numbers = values.get(PKG + "publicationNumber", [])
        found.number = numbers[0].value if numbers else None
        return found

    # --- facets -------------------------------------------------------------------------------

    def _facets(self, counted: dict[str, list[tuple[str, int]]],
                language: str) -> dict[str, list[FacetValue]]:
        labels = self.labels({value for name, values in counted.items() if name != "year"
                              for value, _ in values}, language)
        facets = {}
        for name, values in counted.items():
            parents = self._parents([v for v, _ in values]) if name in HIERARCHICAL else {}
            ordered = sorted(values, key=lambda item: (-int(item[0]), 0)) if name == "year" \
                else values
            facets[name] = [FacetValue(value, labels.get(value, value), count,
                                       parents.get(value)) for value, count in ordered]
        return facets

    def _parents(self, values: list[str]) -> dict[str, str]:
        """Each value's nearest broader value (the one with the most above it)."""
        hierarchy = self.hierarchy()
        parents = {}
        for value in values:
            above = hierarchy.ancestors.get(value, frozenset())
            if above:
                parents[value] = max(above, key=lambda a: (len(hierarchy.ancestors.get(a, ())), a))
        return parents

    def hierarchy(self) -> ConceptHierarchy:
        """The vocabularies' hierarchy, read once (until the index changes)."""
        if self._hierarchy is None:
            self._hierarchy = ConceptHierarchy.read(self.store)
        return self._hierarchy

    # --- labels -------------------------------------------------------------------------------

    def labels(self, iris: Iterable[str], language: str) -> dict[str, str]:
        """The label of each thing, in ``language`` if it has one, else in English, else any."""
        wanted = set(iris)
        missing = sorted(iri for iri in wanted if iri not in self._labels)
        if missing:
            read: dict[str, dict[str | None, str]] = {iri: {} for iri in missing}
            values = " ".join(str(ox.NamedNode(iri)) for iri in missing)
            text = SEARCH_QUERIES.text("labels.rq").replace("#THINGS", values)
            for row in self.store.query(text):
                label = row["label"]
                read[row["thing"].value].setdefault(
                    label.language.split("-")[0] if label.language else None, label.value)
            with self._lock:
                self._labels.update(read)
        return {iri: _best(self._labels.get(iri, {}), language) or iri for iri in wanted}


def _in_language(literals: list, language: str) -> ox.Literal | None:
    """The literal in ``language``, else in English, else the first."""
    texts = [v for v in literals if isinstance(v, ox.Literal)]
    for wanted in (language, "en"):
        for text in texts:
            if text.language and text.language.split("-")[0] == wanted:
                return text
    return texts[0] if texts else None


def _best(labels: dict[str | None, str], language: str) -> str | None:
    for wanted in (language, "en", None):
        if wanted in labels:
            return labels[wanted]
    return next(iter(labels.values()), None)


def _authors(cells: dict[str, tuple[str, str | None]], creators: list[str]) -> list[str]:
    """The creators in the order of the author list (its cells: cell -> (first, rest)),
    then the others."""
    pointed = {rest for _, rest in cells.values()}
    heads = [cell for cell in cells if cell not in pointed]
    ordered: list[str] = []
    for head in heads:
        cell: str | None = head
        while cell in cells and len(ordered) <= len(cells):
            first, cell = cells[cell]
            if first not in ordered:
                ordered.append(first)
    return ordered + sorted(c for c in set(creators) if c not in ordered)


def _relabel(named: Named, labels: dict[str, str]) -> Named:
    return Named(named.iri, labels.get(named.iri, named.iri))


