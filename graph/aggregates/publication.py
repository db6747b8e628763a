"""Each publication's aggregate graph, ``{base}graph/aggregates/publication/{key}``: its JEL
codes and regions rolled up the hierarchy, its top JEL categories and its year, stamped with
what they were computed from (so that a stale one is found by its stamp).

    pkg:jelRollup     each JEL code the publication carries and every broader code
    pkg:jelTop        its top-level JEL categories (A .. Z)
    pkg:regionRollup  each region or country it is about and every broader region
    pkg:issuedYear    the year of dcterms:issued, an xsd:integer
    pkg:search*       its texts, analyzed, where the store searches them itself (``texts``)

A load computes them where the record is prepared (``publication_nquads``) and writes them with
it; ``update_publications`` computes them from the store, for a refresh.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator

import pyoxigraph as ox
from rdflib import URIRef

from policykg.graph.aggregates.hierarchy import ConceptHierarchy
from policykg.graph.aggregates.terms import (
    AGGREGATES,
    DIVISION,
    ISSUED_YEAR,
    JEL_ROLLUP,
    JEL_TOP,
    RECORD_KIND,
    REGION_ROLLUP,
    STAMP,
    VERSION,
    XSD_INTEGER,
    aggregate_graph,
    query_text,
    record_graph,
)
from policykg.graph.aggregates.texts import LEGACY_WORDS, Texts
from policykg.graph.rdf.namespaces import DCTERMS, PKG
from policykg.graph.rdf.uris import Uris
from policykg.graph.store import GraphStore

BUFFER = 200_000  # quads written at a time
Fact = tuple[str, ox.NamedNode, str, ox.NamedNode | ox.Literal]  # graph, publication, p, value


def record_facts(store: GraphStore, graphs: Iterable[str], total: int) -> Iterator[Fact]:
    """The facts (facts.rq) of some record graphs: one query per graph, or one query over all
    graphs when they are more than a third of the ``total``."""
    wanted = set(graphs)
    query = query_text("facts.rq")
    solutions: Iterable[ox.QuerySolutions]
    if len(wanted) * 3 > total:
        solutions = [store.query(query)]
    else:
        solutions = (store.query(query, substitutions={ox.Variable("graph"): ox.NamedNode(g)})
                     for g in sorted(wanted))
    for rows in solutions:
        for row in rows:
            graph = row["graph"].value
            if graph in wanted:
                yield graph, row["publication"], row["property"].value, row["value"]


class AggregateLines:
    """Aggregate quads of facts as N-Quads lines, one fact at a time (a publication's roll-ups
    are the union of each of its values' roll-ups, so nothing waits for the rest of the
    record). Lines, not pyoxigraph terms: they go to the bulk loader as text."""

    def __init__(self, hierarchy: ConceptHierarchy) -> None:
        self.hierarchy = hierarchy
        self.tails: dict[str, str] = {}

    def tail(self, graph: str) -> str:
        """The graph name and end of an N-Quads line in a record graph's aggregate graph."""
        tail = self.tails.get(graph)
        if tail is None:
            tail = self.tails[graph] = f" {ox.NamedNode(aggregate_graph(graph))} .\n"
        return tail

    def lines(self, fact: Fact) -> list[str]:
        graph, publication, predicate, value = fact
        head, tail = str(publication), self.tail(graph)
        if predicate == PKG + "jel" and isinstance(value, ox.NamedNode):
            rollup = self.hierarchy.rollup([value.value])
            tops = self.hierarchy.tops([value.value])
            return ([f"{head} {JEL_ROLLUP} <{c}>{tail}" for c in rollup]
                    + [f"{head} {JEL_TOP} <{c}>{tail}" for c in tops])
        if predicate == DCTERMS + "spatial" and isinstance(value, ox.NamedNode):
            return [f"{head} {REGION_ROLLUP} <{c}>{tail}"
                    for c in self.hierarchy.rollup([value.value])]
        if predicate == DCTERMS + "issued":
            year = issued_year(value.value)
            return [f'{head} {ISSUED_YEAR} "{year}"^^{XSD_INTEGER}{tail}'] if year else []
        return []


def issued_year(issued: str) -> str | None:
    """The year (four digits) of a dcterms:issued value, if it begins with one."""
    match = re.match(r"(\d{4})", issued)
    return match.group(1) if match else None


def dimension_members(triples: Iterable[tuple[object, object, object]], publication: object,
                      hierarchy: ConceptHierarchy) -> dict[str, tuple[str, ...]]:
    """A publication's members of the dimension tallies' properties (pair_counts.DIMENSIONS),
    from its record's triples (rdflib terms): the roll-ups and year its aggregate graph
    holds (as ``AggregateLines`` writes them), and its divisions."""
    found: dict[str, set[str]] = defaultdict(set)
    for subject, predicate, value in triples:
        if subject != publication:
            continue
        name = str(predicate)
        if name == PKG + "jel" and isinstance(value, URIRef):
            found[JEL_ROLLUP.value].update(hierarchy.rollup([str(value)]))
        elif name == DCTERMS + "spatial" and isinstance(value, URIRef):
            found[REGION_ROLLUP.value].update(hierarchy.rollup([str(value)]))
        elif name == DCTERMS + "issued" and (year := issued_year(str(value))):
            found[ISSUED_YEAR.value].add(year)
        elif name == DIVISION and isinstance(value, URIRef):
            found[DIVISION].add(str(value))
    return {prop: tuple(sorted(values)) for prop, values in found.items()}


FACT_PROPERTIES = frozenset({PKG + "jel", DCTERMS + "spatial", DCTERMS + "issued"})  # facts.rq


def publication_nquads(graph: str, triples: Iterable[tuple[object, object, object]],
                       content_hash: str, hierarchy: ConceptHierarchy,
                       texts: Texts = Texts.INDEX, searched: str = "") -> tuple[str, str]:
    """The aggregate graph of one record graph as N-Quads, from the record's triples (rdflib
    terms) and ``searched``, the N-Quads of its analyzed texts (Texts.STORE), and its stamp
    line apart (written last): what ``update_publications`` computes from the store, computed
    where the record is prepared, so that a load writes them with the record
    (``GraphStore.write_batch``)."""
    writer = AggregateLines(hierarchy)
    lines = []
    for subject, predicate, value in triples:
        if str(predicate) in FACT_PROPERTIES and isinstance(subject, URIRef):
            term = ox.NamedNode(str(value)) if isinstance(value, URIRef) else ox.Literal(str(value))
            lines += writer.lines((graph, ox.NamedNode(str(subject)), str(predicate), term))
    name = ox.NamedNode(aggregate_graph(graph))
    stamp = ox.Literal(publication_stamp(content_hash, hierarchy, texts))
    return "".join(lines) + searched, f"{name} {STAMP} {stamp} {name} .\n"


def update_publications(store: GraphStore, uris: Uris, record_graphs: dict[str, str],
                        hierarchy: ConceptHierarchy | None = None, texts: Texts | None = None,
                        existing: Iterable[str] | None = None, total: int = 0) -> int:
    """Rewrite the aggregate graphs of some record graphs of the store (record graph IRI ->
    content hash; refresh also drops those whose record is gone). ``texts``: where the texts
    are searched (None: where the store searches them); ``existing``: the aggregate graphs
    there are (None: any may be); ``total``: how many records the store holds (to choose
    between a query per record and one over all). Returns how many."""
    hierarchy = hierarchy or ConceptHierarchy.read(store)
    texts = texts or Texts.of(store)
    targets = {aggregate_graph(g) for g in record_graphs}
    old = targets if existing is None else targets & set(existing)
    if old:
        store.replace(sorted(old), [])
    writer = AggregateLines(hierarchy)
    buffer: list[str] = []
    for fact in record_facts(store, record_graphs, total):
        buffer += writer.lines(fact)
        if len(buffer) >= BUFFER:
            store.add_derived("".join(buffer))
            buffer = []
    if texts is Texts.STORE:
        buffer += _stored_texts(store, uris, record_graphs, hierarchy)
    for graph, content_hash in record_graphs.items():  # stamps last: a crash leaves them out
        name = ox.NamedNode(aggregate_graph(graph))
        stamp = ox.Literal(publication_stamp(content_hash, hierarchy, texts))
        buffer.append(f"{name} {STAMP} {stamp} {name} .\n")
    store.add_derived("".join(buffer))
    return len(record_graphs)


def read_stamps(store: GraphStore, uris: Uris) -> dict[str, str]:
    """Every aggregate graph (per publication and tally) -> the stamp it was written with."""
    prefix = uris.base + AGGREGATES
    return {row["graph"].value: row["stamp"].value
            for row in store.query(query_text("stamps.rq"))
            if row["graph"].value.startswith(prefix)}


def _stored_texts(store: GraphStore, uris: Uris, record_graphs: Iterable[str],
                  hierarchy: ConceptHierarchy) -> list[str]:
    """The N-Quads lines of the analyzed texts of some publications, read from the store."""
    from policykg.graph.search.engines.store_index import search_text_quads
    from policykg.graph.search.rebuild import stored_documents

    lines = []
    for found in stored_documents(store, uris, record_graphs, hierarchy):
        graph = ox.NamedNode(aggregate_graph(found.iri.replace("/id/", "/graph/", 1)))
        lines += [f"{quad} .\n" for quad in search_text_quads(found, graph)]
    return lines


def publication_stamp(content_hash: str, hierarchy: ConceptHierarchy, texts: Texts) -> str:
    return f"{content_hash} {hierarchy.digest} {VERSION}{texts.value}"


def stale_publications(store: GraphStore, uris: Uris, hierarchy: ConceptHierarchy,
                       stamps: dict[str, str], current: dict[str, str],
                       texts: Texts = Texts.INDEX) -> tuple[dict[str, str], list[str]]:
    """(record graphs whose aggregates are missing or out of date -> content hash,
    aggregate graphs whose record is gone), given the ``current`` record graphs' hashes."""
    prefix = uris.base + AGGREGATES + RECORD_KIND + "/"
    done = {graph: stamp for graph, stamp in stamps.items() if graph.startswith(prefix)}
    stale = {graph: content_hash for graph, content_hash in current.items()
             if done.get(aggregate_graph(graph))
             != publication_stamp(content_hash, hierarchy, texts)}
    gone = [graph for graph in done if record_graph(graph) not in current]
    return stale, gone


def with_legacy_words(stamps: dict[str, str]) -> list[str]:
    """The record graphs whose aggregates were stamped with a default-graph word index."""
    return [record_graph(graph) for graph, stamp in stamps.items()
            if stamp.endswith(LEGACY_WORDS) and RECORD_KIND in graph]
