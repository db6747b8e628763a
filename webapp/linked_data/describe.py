"""Descriptions of things and graphs, each built by a few indexed SPARQL queries on the store.

The description of an IRI holds its own triples (asserted and inferred, from every graph), the
cells of the RDF lists it starts (``bibo:authorList``), the labels of the IRIs it links to, the
provenance of the graph whose primary topic it is, and one page of the links to it. Queries are
data (webapp/queries/*.rq, with prefixes.rq prepended); the IRI is bound with pyoxigraph
substitutions, never pasted into the text; only integers the app computes ($limit, $offset,
$cap) are filled in, and the IRIs the store linked to, as N-Triples terms written by pyoxigraph
(the labels to read, linked-labels.rq). No query scans a whole graph or counts a large set:
lists are paged and probed with one extra row.

    queries = Queries(base)
    description = describe(store, queries, "http://localhost:8000/id/jel/O", page=2)
    description.triples()     # what the RDF representations serialise
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from string import Template
from typing import TYPE_CHECKING

import pyoxigraph as ox

from policykg.graph.rdf.namespaces import DCTERMS, FOAF, PROV, RDF, RDFS, SKOS
from policykg.graph.rdf.queries import QueryFolder
from policykg.graph.rdf.terms import value_of
from policykg.graph.store import GraphStore
from policykg.graph.store.interface import Subject

if TYPE_CHECKING:
    from policykg.webapp.linked_data.vocabulary import Vocabulary

PER_PAGE = 100
# Label properties, most preferred first (rdfs:label also carries the inferred altLabels).
LABEL_PROPERTIES = (SKOS + "prefLabel", FOAF + "name", DCTERMS + "title", RDFS + "label",
                    SKOS + "notation")
GENERATED_AT = PROV + "generatedAtTime"
RDF_REST = ox.NamedNode(RDF + "rest")
PRIMARY_TOPIC = FOAF + "primaryTopic"
_PREFIX = re.compile(r"^PREFIX\s+([\w-]*):\s*<([^>]*)>", re.MULTILINE)
# The vocabularies' namespaces (prefixes.rq names): describe.rq leaves the labels of the IRIs
# under them to the app's copy of the vocabularies (vocabulary.py).
VOCABULARY_PREFIXES = ("jel", "region", "unit", "doctype")
CURIES_KEPT = 10_000  # CURIEs remembered per Queries (then forgotten all at once)
# A term of a triple as pyoxigraph gives it: an RDF 1.2 triple term too (a SPARQL update may
# write one), which has no value (value_of)
Term = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple


PAGE_QUERIES = QueryFolder("policykg.webapp.linked_data", "queries")


def _read(name: str) -> str:
    return PAGE_QUERIES.text(name)


@functools.cache
def _text(name: str) -> str:
    """A query file with the shared prefixes in front."""
    return _read("prefixes.rq") + _read(f"{name}.rq")


class Queries:
    """The linked-data queries for one base: run with ?this (and ?graph...) substituted."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.prefixes = {name: iri if ":" in iri else base + iri
                         for name, iri in _PREFIX.findall(_read("prefixes.rq"))}
        self.vocabulary_namespaces = tuple(self.prefixes[name] for name in VOCABULARY_PREFIXES)
        self._curies: dict[str, str] = {}

    def run(self, store, name: str, bindings: dict[str, Term] | None = None,
            replacing: dict[str, str] | None = None, **numbers: int):
        """Run a query file; ``bindings`` are substituted, ``numbers`` fill its $slots and
        ``replacing`` its markers (``#LINKED``), with SPARQL the app wrote (N-Triples terms)."""
        text = _text(name)
        for marker, replacement in (replacing or {}).items():
            text = text.replace(marker, replacement)
        if numbers:
            text = Template(text).substitute({k: int(v) for k, v in numbers.items()})
        substitutions = {ox.Variable(k): v for k, v in (bindings or {}).items()}
        return store.query(text, base_iri=self.base, substitutions=substitutions)

    def about(self, store, name: str, iri: str, **numbers: int):
        """Run a query file about one IRI (bound to ?this)."""
        return self.run(store, name, {"this": ox.NamedNode(iri)}, None, **numbers)

    def curie(self, iri: str) -> str:
        """An IRI abbreviated with the shared prefixes, or the IRI itself (remembered: a page
        asks for the same predicates again and again)."""
        found = self._curies.get(iri)
        if found is None:
            if len(self._curies) >= CURIES_KEPT:
                self._curies.clear()
            found = self._curies[iri] = self._curie(iri)
        return found

    def _curie(self, iri: str) -> str:
        best = max((ns for ns in self.prefixes.values() if iri.startswith(ns)), key=len,
                   default=None)
        if best is None or best == iri:
            return iri
        name = next(n for n, ns in self.prefixes.items() if ns == best)
        return f"{name}:{iri[len(best):]}"


@dataclass
class Description:
    """What is said about one IRI: its triples and one page of the links to it."""

    iri: ox.NamedNode
    own: set[ox.Triple] = field(default_factory=set)
    incoming: list[ox.Triple] = field(default_factory=list)
    incoming_labels: set[ox.Triple] = field(default_factory=set)
    page: int = 1
    per_page: int = PER_PAGE
    more: bool = False
    times: set[datetime] = field(default_factory=set)

    @property
    def exists(self) -> bool:
        """Whether the store says anything about the IRI."""
        return bool(self.own or self.incoming)

    @property
    def modified(self) -> datetime | None:
        """The newest generation time of the record graphs involved, if any."""
        return max(self.times, default=None)

    def triples(self) -> list[ox.Triple]:
        """Every triple of the description, each once, grouped by subject, the thing first."""
        return sorted(self.own | set(self.incoming) | self.incoming_labels,
                      key=lambda t: (t.subject != self.iri, *_triple_key(t)))

    @functools.cached_property
    def _by_subject(self) -> dict[tuple[Term, str], list[Term]]:
        index: dict[tuple[Term, str], list[Term]] = {}
        for triple in self.own:
            index.setdefault((triple.subject, triple.predicate.value), []).append(triple.object)
        return index

    def objects(self, predicate: str, subject: Term | None = None) -> list[Term]:
        """The objects of (subject, predicate, ?) in the description, sorted."""
        return sorted(self._by_subject.get((subject or self.iri, predicate), ()), key=str)

    def subjects(self, predicate: str, obj: Term) -> list[Term]:
        """The subjects of (?, predicate, obj) in the description."""
        return sorted({t.subject for t in self.own
                       if t.object == obj and t.predicate.value == predicate}, key=str)

    @functools.cached_property
    def labels(self) -> dict[Term, list[tuple[str, ox.Literal]]]:
        """Label property and value of every labelled term."""
        labels: dict[Term, list[tuple[str, ox.Literal]]] = {}
        for triple in (*self.own, *self.incoming_labels):
            if triple.predicate.value in LABEL_PROPERTIES and isinstance(triple.object,
                                                                         ox.Literal):
                labels.setdefault(triple.subject, []).append((triple.predicate.value,
                                                              triple.object))
        return labels

    def rdf_list(self, head: Term) -> list[Term]:
        """The members of the RDF list starting at ``head`` (its cells are in the description)."""
        members: list[Term] = []
        seen: set[Term] = set()
        while (first := self._by_subject.get((head, RDF + "first"))) and head not in seen:
            seen.add(head)
            members.append(first[0])
            rest = self._by_subject.get((head, RDF + "rest"))
            if not rest:
                break
            head = rest[0]
        return members


def _triple_key(triple: ox.Triple) -> tuple[str, str, str]:
    return (str(triple.subject), triple.predicate.value, str(triple.object))


def describe(store, queries: Queries, iri: str, page: int = 1, per_page: int = PER_PAGE,
             vocabulary: Vocabulary | None = None,
             labels: dict[Term, tuple[ox.Triple, ...]] | None = None) -> Description:
    """The description of ``iri``: one query for its own triples, one for a page of links; the
    labels of the IRIs it links to from ``vocabulary`` (the vocabularies' things), ``labels``
    (a label cache: read and added to) and one query for the rest."""
    description = Description(ox.NamedNode(iri), page=page, per_page=per_page)
    description.own = set(queries.about(store, "describe", iri))
    description.own.update(_list_cells(store, queries, description))
    _add_linked_labels(store, queries, description, vocabulary,
                       {} if labels is None else labels)
    description.times = set(_record_times(description))
    _add_incoming(store, queries, description)
    return description


def _list_cells(store, queries: Queries, description: Description) -> Iterable[ox.Triple]:
    """The triples of the cells of the RDF lists the thing starts: walked in the index of a
    store in this process (a seek a cell), else read by one query (lists.rq)."""
    heads = [t.object for t in description.own
             if t.subject == description.iri and isinstance(t.object, ox.BlankNode)]
    if not heads:
        return ()
    if not store.in_process:
        return queries.about(store, "lists", description.iri.value)
    return _walk_lists(store, heads)


def _walk_lists(store: GraphStore, heads: list[ox.BlankNode]) -> set[ox.Triple]:
    """Every triple, in any graph, of the nodes reached from ``heads`` by rdf:rest*."""
    found: set[ox.Triple] = set()
    seen: set[Term] = set()
    todo: list[Term] = list(heads)
    while todo:
        node = todo.pop()
        if node in seen or isinstance(node, ox.Literal):
            continue
        seen.add(node)
        for quad in store.quads_matching(node, None, None, None):
            found.add(ox.Triple(quad.subject, quad.predicate, quad.object))
            if quad.predicate == RDF_REST:
                todo.append(quad.object)
    return found


def _add_linked_labels(store, queries: Queries, description: Description,
                       vocabulary: Vocabulary | None,
                       known: dict[Term, tuple[ox.Triple, ...]]) -> None:
    """The label triples of the IRIs the thing links to: the vocabularies' things from the
    vocabulary, the others from ``known``, else from the store (linked-labels.rq), which are
    then added to ``known``."""
    namespaces = queries.vocabulary_namespaces
    in_vocabulary = vocabulary.triples if vocabulary else {}
    linked = {t.object for t in description.own
              if t.subject == description.iri and isinstance(t.object, ox.NamedNode)}
    missing = []
    for term in linked:
        found = known.get(term)
        if found is None and term.value.startswith(namespaces):
            found = in_vocabulary.get(term)
        if found is None:
            missing.append(term)
        else:
            description.own.update(found)
    for labelled, found in _read_labels(store, queries, missing).items():
        known[labelled] = found
        description.own.update(found)


def _read_labels(store, queries: Queries,
                 terms: list[ox.NamedNode]) -> dict[Term, tuple[ox.Triple, ...]]:
    """term -> its label triples (empty for those with none), in one query."""
    if not terms:
        return {}
    listed = " ".join(str(term) for term in terms)  # N-Triples terms: nothing to escape
    found: dict[Term, list[ox.Triple]] = {term: [] for term in terms}
    for triple in queries.run(store, "linked-labels", replacing={"#LINKED": listed}):
        found[triple.subject].append(triple)
    return {term: tuple(triples) for term, triples in found.items()}


def _record_times(description: Description) -> Iterator[datetime]:
    graphs = description.subjects(PRIMARY_TOPIC, description.iri)
    for graph in graphs:
        for value in description.objects(GENERATED_AT, graph):
            if (moment := parse_time(value)) is not None:
                yield moment


def _add_incoming(store, queries: Queries, description: Description) -> None:
    per_page = description.per_page
    rows = queries.about(store, "incoming", description.iri.value,
                         limit=per_page + 1, offset=(description.page - 1) * per_page)
    links: dict[tuple[Subject, ox.NamedNode], None] = {}
    labels: set[ox.Triple] = set()
    times: dict[Term, datetime] = {}
    for row in rows:
        subject = row["s"]
        links[(subject, row["p"])] = None
        if row["label"] is not None:
            labels.add(ox.Triple(subject, row["labelP"], row["label"]))
        if (moment := parse_time(row["modified"])) is not None:
            times[subject] = moment
    pairs = list(links)
    description.more = len(pairs) > per_page  # the probe: one link more than a page
    kept = pairs[:per_page]
    subjects = {s for s, _ in kept}
    description.incoming = [ox.Triple(s, p, description.iri) for s, p in kept]
    description.incoming_labels = {t for t in labels if t.subject in subjects}
    description.times.update(t for s, t in times.items() if s in subjects)


def parse_time(term: Term | None) -> datetime | None:
    """An xsd:dateTime literal as an aware datetime (UTC when it has no zone), else None."""
    if not isinstance(term, ox.Literal):
        return None
    try:
        moment = datetime.fromisoformat(term.value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def exists(store, queries: Queries, iri: str) -> bool:
    """Whether the store has any triple with ``iri`` as subject or object."""
    return bool(queries.about(store, "exists", iri))


def graph_triples(store, queries: Queries, graph: str) -> list[ox.Triple] | None:
    """The triples of a named graph, sorted, or None when there is no such graph."""
    if not store.has_graph(graph):
        return None
    triples = queries.run(store, "graph", {"graph": ox.NamedNode(graph)})
    return sorted(triples, key=_triple_key)


def best_label(labels: Iterable[tuple[str, Term]], language: str = "en") -> str | None:
    """The preferred label: by property (prefLabel first), then language (en, none, other)."""
    def rank(item: tuple[str, Term]) -> tuple[int, int, str]:
        prop, literal = item
        assert isinstance(literal, ox.Literal), f"a label that is no literal: {literal}"
        lang = literal.language or ""
        return (LABEL_PROPERTIES.index(prop), 0 if lang == language else 1 if not lang else 2,
                literal.value)

    ranked = sorted(labels, key=rank)
    return value_of(ranked[0][1]) if ranked else None
