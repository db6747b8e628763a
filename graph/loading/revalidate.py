"""Validating the stored records again (``policykg validate``) as a load validates them.

Each publication is validated with its own triples and those of the things it names (persons,
keywords, concepts: the triples its mapping made), without the provenance of its graphs,
against the part of the vocabularies the shapes read; a batch at a time, the first batches
smaller so that progress shows from the start. This process reads each batch from the store
(its graphs as N-Quads text, the graphs of the things named kept for the next batches) while
worker processes validate the batches before it (policykg.graph.loading.workers), as a load's
batches are prepared.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.term import Node

from policykg.graph.inference.reference import shapes_reference
from policykg.graph.loading.loader import batches
from policykg.graph.loading.prepare import RECORD_KIND
from policykg.graph.loading.workers import Pending, Preparers, default_workers
from policykg.graph.mapping.rules import Mapping
from policykg.graph.rdf.terms import OxTerm, Triple, serialized, to_rdflib
from policykg.graph.rdf.uris import Uris
from policykg.graph.readers.record import Problem
from policykg.graph.store import GraphStore
from policykg.graph.validation.shacl import Issue, validate_with_report

ENTITY_GRAPHS = 8192  # graphs of things records name kept between batches (they recur)
Batch = tuple[list[str], bytes]  # record graph names, and their graphs' N-Quads


@dataclass
class Validation:
    """What ``validate_store`` found: whether every record conforms, one line per problem
    (record, DSpace field, value, message), and the SHACL report (empty unless asked for)."""

    conforms: bool = True
    lines: list[str] = field(default_factory=list)
    report: Graph = field(default_factory=Graph)


@dataclass(frozen=True)
class _Check:
    """What validating a batch needs: sent once to each worker process."""

    reference: tuple[Triple, ...]
    base: str
    report: bool


def record_count(store: GraphStore, uris: Uris) -> int:
    """How many publications ``validate_store`` validates."""
    return len(store.graph_names(str(uris.graph(RECORD_KIND, ""))))


def validate_store(store: GraphStore, uris: Uris, mapping: Mapping, *, batch_size: int = 1000,
                   workers: int | None = None, report: bool = False,
                   progress: Callable[[int], None] | None = None) -> Validation:
    """Validate every publication in the store, naming the DSpace fields of ``mapping``;
    ``progress`` hears of each batch validated (its number of publications)."""
    with store.snapshot():  # one state of the store, and no check of its folder per read
        names = sorted(store.graph_names(str(uris.graph(RECORD_KIND, ""))))
        check = _Check(tuple(shapes_reference(store, uris)), uris.base, report)
        count = default_workers() if workers is None else workers
        preparers = Preparers(check, count if len(names) > batch_size else 0, task=_validate)
        found = Validation()
        _validate_all(names, _Reader(store, uris), preparers, found,
                      lambda chunk: _settle(chunk, preparers, found, uris, mapping, progress),
                      batch_size)
    found.conforms = not any(": Violation: " in line for line in found.lines)
    return found


def _validate_all(names: list[str], reader: _Reader, preparers: Preparers, found: Validation,
                  settle: Callable[[deque[tuple[int, Pending]]], None], batch_size: int) -> None:
    """Read batch after batch while the batches before are validated."""
    in_flight: deque[tuple[int, Pending]] = deque()
    try:
        for chunk in batches(iter(names), batch_size):
            in_flight.append((len(chunk), preparers.submit(reader.batch(chunk))))
            if len(in_flight) >= preparers.depth:
                settle(in_flight)
        while in_flight:
            settle(in_flight)
    finally:
        preparers.close()


def _settle(in_flight: deque[tuple[int, Pending]], preparers: Preparers, found: Validation,
            uris: Uris, mapping: Mapping, progress: Callable[[int], None] | None) -> None:
    """Take in the oldest batch's results (validating a later one here meanwhile, if it is
    this process's to validate)."""
    preparers.work_while_waiting(in_flight[0][1], (pending for _, pending in in_flight))
    size, pending = in_flight.popleft()
    issues, report = pending()
    found.lines.extend(_line(key, issue, uris, mapping) for key, listed in issues.items()
                       for issue in listed)
    if report:
        found.report.parse(data=report, format="nt")
    if progress is not None:
        progress(size)


class _Reader:
    """Reads batches of records from the store: each record graph, and the graphs of the
    things it names, the last ENTITY_GRAPHS of those kept."""

    def __init__(self, store: GraphStore, uris: Uris) -> None:
        self._store = store
        self._uris = uris
        self._entities: OrderedDict[str, list[ox.Quad]] = OrderedDict()

    def batch(self, names: list[str]) -> Batch:
        """The record graphs and the graphs of the things they name, as N-Quads text."""
        quads: list[ox.Quad] = []
        named: set[str] = set()
        for name in names:
            for quad in self._store.quads(name):
                quads.append(quad)
                graph = _entity_graph(quad.object, self._uris)
                if graph is not None:
                    named.add(graph)
        for graph in sorted(named):
            quads.extend(self._entity(graph))
        return names, serialized(quads, ox.RdfFormat.N_QUADS)

    def _entity(self, graph: str) -> list[ox.Quad]:
        quads = self._entities.get(graph)
        if quads is None:
            quads = self._entities[graph] = list(self._store.quads(graph))
            if len(self._entities) > ENTITY_GRAPHS:
                self._entities.popitem(last=False)
        else:
            self._entities.move_to_end(graph)
        return quads


def _entity_graph(term: object, uris: Uris) -> str | None:
    """The graph of the thing an IRI names, if it is minted under {base}id/ and no
    publication: {base}id/person/x -> {base}graph/person/x."""
    if not isinstance(term, ox.NamedNode):
        return None
    kind_key = uris.split(term.value)
    if kind_key is None or kind_key[0] == RECORD_KIND:
        return None
    return uris.base + "graph/" + term.value[len(uris.base) + len("id/"):]


def _validate(batch: Batch, check: _Check) -> tuple[dict[str, list[Issue]], str | None]:
    """Validate a batch (in a worker process, or this one): the issues of each publication
    (by key), and the SHACL report as N-Triples when asked for."""
    names, text = batch
    uris = Uris(check.base)
    graphs: dict[str, list[Triple]] = defaultdict(list)
    terms: dict[OxTerm, Node] = {}  # IRIs recur across a batch: each converted once

    def term(value: OxTerm) -> Node:
        found = terms.get(value)
        if found is None:
            found = terms[value] = to_rdflib(value)
        return found

    for quad in ox.parse(text, ox.RdfFormat.N_QUADS):
        graph = quad.graph_name
        assert isinstance(graph, ox.NamedNode)  # every graph read is named
        if quad.subject != graph:  # a graph's provenance, or what it is about
            graphs[graph.value].append((term(quad.subject), term(quad.predicate),
                                        term(quad.object)))
    records = {name.rsplit("/", 1)[-1]: list(_with_named(name, graphs, uris)) for name in names}
    issues, report = validate_with_report(records, check.reference)
    return issues, report.serialize(format="nt") if check.report else None


def _with_named(name: str, graphs: dict[str, list[Triple]], uris: Uris) -> Iterator[Triple]:
    """A record graph's triples, and those of the graphs of the things it names."""
    own = graphs.get(name, [])
    yield from own
    named = {_entity_graph(ox.NamedNode(str(obj)), uris) for _, _, obj in own
             if isinstance(obj, URIRef) and obj.startswith(uris.base + "id/")}
    for graph in named:
        if graph is not None:
            yield from graphs.get(graph, [])


def _line(key: str, issue: Issue, uris: Uris, mapping: Mapping) -> str:
    """An issue as the load tells it: the DSpace field (else the property), and a value the
    mapping minted an IRI from by the name it has (Z99 for id/jel/Z99)."""
    fields = mapping.fields_of(issue.path) if issue.path else []
    minted = issue.value is not None and uris.split(issue.value) is not None
    value = issue.named if minted else issue.value
    problem = Problem(issue.severity, fields[0] if fields else issue.path, value, issue.message)
    return f"{key}: {problem}"
