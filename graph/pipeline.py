"""Loading: records in, validated and inferred graphs out, one batch at a time.

read -> map -> (unchanged? skip) -> validate (SHACL, batched) -> quarantine the rejected
-> materialise entailments -> write each record's graphs, replacing what was there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import pyoxigraph as ox
from rdflib import RDF, Literal, Namespace, URIRef
from rdflib.namespace import FOAF, PROV, XSD

from policykg.graph.mapping import MappedRecord, Mapping, map_record
from policykg.graph.quarantine import Quarantine
from policykg.graph.record import Problem, ReadError, Record
from policykg.graph.reference import Reference, prepare
from policykg.graph.store import GraphStore
from policykg.graph.terms import Triple, triple_quads
from policykg.graph.uris import Uris
from policykg.graph.validate import validate

PKG = Namespace("https://w3id.org/policykg/ontology#")
RECORD_KIND = "publication"


@dataclass
class LoadSummary:
    """What a load did, as the steward reads it at the end."""

    read: int = 0
    loaded: int = 0
    replaced: int = 0
    unchanged: int = 0
    rejected: int = 0
    deleted: int = 0
    warnings: int = 0
    unmapped: Counter[str] = field(default_factory=Counter)
    messages: list[str] = field(default_factory=list)

    def lines(self, quarantine: Path) -> list[str]:
        """The summary as printed by ``policykg load``."""
        lines = [
            f"read {self.read}, loaded {self.loaded}, replaced {self.replaced}, "
            f"unchanged {self.unchanged}, deleted {self.deleted}, rejected {self.rejected}, "
            f"warnings {self.warnings}"
        ]
        if self.unmapped:
            kept = ", ".join(f"{name} ({count})" for name, count in self.unmapped.most_common())
            lines.append(f"fields with no mapping rule, kept as dsf: literals: {kept}")
        if self.rejected:
            lines.append(f"rejected records are in {quarantine} (policykg rejected)")
        return lines


@dataclass
class Loader:
    """Loads records into a store under a mapping; one instance per load run."""

    store: GraphStore
    uris: Uris
    mapping: Mapping
    quarantine: Quarantine
    batch_size: int = 1000
    reference: Reference | None = None
    now: Callable[[], datetime] = lambda: datetime.now(UTC)

    def __post_init__(self) -> None:
        if self.reference is None:
            self.reference = prepare(self.store, self.uris)
        self._shacl_reference = self.reference.for_shapes()
        self._salt = f"{self.mapping.digest}|{self.uris.base}|{self.reference.digest}"
        self._hashes = self.store.graph_hashes(str(self.uris.graph(RECORD_KIND, "")))
        self._entities = self.store.graph_names(self.uris.base + "graph/")

    def load(self, items: Iterable[Record | ReadError],
             progress: Callable[[int], None] | None = None) -> LoadSummary:
        """Load records batch by batch; each batch is written before the next is read."""
        summary = LoadSummary()
        iterator = iter(items)
        while batch := list(islice(iterator, self.batch_size)):
            self._load_batch(batch, summary)
            if progress:
                progress(len(batch))
        return summary

    def _load_batch(self, batch: list[Record | ReadError], summary: LoadSummary) -> None:
        candidates: dict[str, tuple[MappedRecord, str]] = {}
        for item in batch:
            summary.read += 1
            if isinstance(item, ReadError):
                self._reject_input(item, summary)
            elif item.deleted:
                self._delete(item, summary)
            else:
                self.quarantine.release_input(item.source, item.source_id)
                mapped = map_record(item, self.mapping, self.uris, self.reference.lookups)
                summary.unmapped.update(mapped.unmapped_fields)
                digest = item.content_hash(self._salt)
                if self._hashes.get(str(self._record_graph(mapped))) == digest:
                    summary.unchanged += 1
                    self.quarantine.release(mapped.key)
                    continue
                candidates[mapped.key] = (mapped, digest)
        accepted = self._validate(candidates, summary)
        self._write(accepted, summary)

    def _validate(self, candidates: dict[str, tuple[MappedRecord, str]],
                  summary: LoadSummary) -> list[tuple[MappedRecord, str]]:
        if not candidates:
            return []
        issues = validate({key: m.graph for key, (m, _) in candidates.items()},
                          self._shacl_reference)
        accepted = []
        for key, (mapped, digest) in candidates.items():
            problems = mapped.problems + [self._problem(issue) for issue in issues.get(key, [])]
            if any(problem.severity == "Violation" for problem in problems):
                self._reject(mapped, problems, summary)
                continue
            summary.warnings += len(problems)
            summary.messages.extend(
                f"{mapped.record.source} [{mapped.key}]: {problem}" for problem in problems
            )
            accepted.append((mapped, digest))
        return accepted

    def _problem(self, issue) -> Problem:
        fields = self.mapping.fields_of(issue.path) if issue.path else []
        return Problem(issue.severity, fields[0] if fields else None, issue.value, issue.message)

    def _reject(self, mapped: MappedRecord, problems: list[Problem],
                summary: LoadSummary) -> None:
        summary.rejected += 1
        rejection = self.quarantine.reject_record(mapped.key, mapped.record, problems)
        summary.messages.extend(rejection.lines())

    def _reject_input(self, error: ReadError, summary: LoadSummary) -> None:
        summary.rejected += 1
        summary.messages.extend(self.quarantine.reject_input(error).lines())

    def _delete(self, record: Record, summary: LoadSummary) -> None:
        graphs = self.store.graphs_with_source(record.source_id)
        if not graphs:
            return
        for graph in graphs:
            self._hashes.pop(graph, None)
        self._entities -= remove_records(self.store, self.uris, graphs)
        summary.deleted += 1

    def _write(self, accepted: list[tuple[MappedRecord, str]], summary: LoadSummary) -> None:
        remove: list[str] = []
        quads: list[ox.Quad] = []
        previous: list[str] = []
        for mapped, digest in accepted:
            record_graph = str(self._record_graph(mapped))
            if record_graph in self._hashes:
                summary.replaced += 1
                previous.append(record_graph)
                remove += [record_graph, inferred_graph_of(record_graph)]
            else:
                summary.loaded += 1
            quads.extend(self._quads(mapped, digest))
            self._hashes[record_graph] = digest
            self.quarantine.release(mapped.key)
        orphans = linked_entities(self.store, self.uris, previous)
        self.store.replace(remove, quads)
        self._entities -= collect_orphans(self.store, self.uris, orphans)

    def _quads(self, mapped: MappedRecord, digest: str) -> Iterator[ox.Quad]:
        """The record's own graph, its entailments, and the graphs of things it first names."""
        for (kind, key), triples in self._partition(mapped).items():
            graph_iri = str(self.uris.graph(kind, key))
            if kind != RECORD_KIND:
                if graph_iri in self._entities:
                    continue
                self._entities.add(graph_iri)
                triples.append((URIRef(graph_iri), FOAF.primaryTopic, self.uris.id(kind, key)))
            else:
                triples.extend(self._provenance(URIRef(graph_iri), mapped, digest))
            yield from triple_quads(triples, graph_iri)
            inferred = self.reference.entailment.materialise(triples)
            yield from triple_quads(inferred, str(self.uris.inferred_graph(kind, key)))

    def _partition(self, mapped: MappedRecord) -> dict[tuple[str, str], list[Triple]]:
        """Split a record's triples: things other than the publication get graphs of their own,
        so that a person named by many records is described once, not once per record."""
        own = (RECORD_KIND, mapped.key)
        parts: dict[tuple[str, str], list[Triple]] = {own: []}
        for triple in mapped.graph:
            kind_key = self.uris.split(str(triple[0]))
            if kind_key is None or kind_key[0] == RECORD_KIND:
                kind_key = own
            parts.setdefault(kind_key, []).append(triple)
        return parts

    def _provenance(self, graph_iri: URIRef, mapped: MappedRecord,
                    digest: str) -> Iterator[Triple]:
        record = mapped.record
        source = record.source
        derived = URIRef(source) if "://" in source else URIRef(Path(source).resolve().as_uri())
        for predicate, obj in (
            (RDF.type, PROV.Entity),
            (FOAF.primaryTopic, mapped.iri),
            (PROV.wasDerivedFrom, derived),
            (PROV.generatedAtTime, Literal(self.now().isoformat(timespec="seconds"),
                                           datatype=XSD.dateTime)),
            (PKG.sourceFormat, Literal(record.format)),
            (PKG.sourceIdentifier, Literal(record.source_id)),
            (PKG.mapping, Literal(Path(self.mapping.name).name)),
            (PKG.contentHash, Literal(digest)),
        ):
            yield graph_iri, predicate, obj

    def _record_graph(self, mapped: MappedRecord) -> URIRef:
        return self.uris.graph(RECORD_KIND, mapped.key)


def inferred_graph_of(graph: str) -> str:
    """The graph of the entailments of a graph: {base}graph/K/X -> {base}graph/inferred/K/X."""
    return graph.replace("/graph/", "/graph/inferred/", 1)


def linked_entities(store: GraphStore, uris: Uris, record_graphs: list[str]) -> set[str]:
    """The things (other than publications) that some record graphs link to."""
    entities = set()
    for graph in record_graphs:
        for iri in store.objects_of(graph):
            kind_key = uris.split(iri)
            if kind_key and kind_key[0] != RECORD_KIND:
                entities.add(iri)
    return entities


def collect_orphans(store: GraphStore, uris: Uris, candidates: set[str]) -> set[str]:
    """Remove the graphs of things no record links to any more; return the graphs removed."""
    orphaned = set()
    for iri in candidates:
        kind, key = uris.split(iri)
        graph = str(uris.graph(kind, key))
        if store.has_graph(graph) and not store.is_referenced(iri, outside=graph):
            orphaned.add(graph)
    if orphaned:
        store.replace([name for g in orphaned for name in (g, inferred_graph_of(g))], [])
    return orphaned


def remove_records(store: GraphStore, uris: Uris, record_graphs: list[str]) -> set[str]:
    """Remove record graphs, their entailments, and the things only they linked to."""
    orphans = linked_entities(store, uris, record_graphs)
    store.replace([name for g in record_graphs for name in (g, inferred_graph_of(g))], [])
    return collect_orphans(store, uris, orphans)
