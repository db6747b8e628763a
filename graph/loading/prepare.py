"""Preparing records for the store, a batch at a time: map, validate (SHACL), materialise the
entailments, and write every graph out as N-Quads text.

This is the CPU-heavy part of a load. It runs in worker processes (``workers``) or
in the loading process itself, and takes and returns plain picklable values, so that what
crosses between processes is cheap: records in, problems and N-Quads text out. What depends on
the store (is the record unchanged? is a person's graph already written?) is decided by the
loader (policykg.graph.loading.loader), not here.
"""

from __future__ import annotations

import gc
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox
from rdflib import RDF, Literal, URIRef
from rdflib.namespace import FOAF, PROV, XSD

from policykg.graph.aggregates import (
    PAIR_PROPERTIES,
    ConceptHierarchy,
    Texts,
    aggregate_graph,
    dimension_members,
    publication_nquads,
)
from policykg.graph.aggregates.pair_counts import Members, members_of
from policykg.graph.inference.entailment import Entailment
from policykg.graph.inference.reference import Reference
from policykg.graph.mapping.lookups import Lookups
from policykg.graph.mapping.rules import MappedRecord, Mapping, map_record
from policykg.graph.rdf.namespaces import PKG
from policykg.graph.rdf.terms import Triple, nquads
from policykg.graph.rdf.uris import Uris
from policykg.graph.readers.record import Problem, Record
from policykg.graph.search.document import SearchDocument, Text, document
from policykg.graph.search.engines.store_index import search_text_quads
from policykg.graph.search.rebuild import concept_labels
from policykg.graph.validation.shacl import Issue, validate

RECORD_KIND = "publication"
_PRIMARY_TOPIC = FOAF.primaryTopic
ENTITY_TEXTS = 8192  # entity graphs' N-Quads a process remembers (see EntityTexts)


@dataclass(frozen=True)
class RecordJob:
    """A record to prepare: its key, its content hash and the time its graph is generated."""

    record: Record
    key: str
    digest: str  # pkg:contentHash
    generated: str  # prov:generatedAtTime, an xsd:dateTime lexical form


@dataclass(frozen=True)
class Chunk:
    """A graph and its entailments graph, as N-Quads: the record's own graph, or the graph of a
    thing it names (``entity``: a person, a keyword...), which only the first record naming it
    writes."""

    graph: str
    entity: bool
    nquads: str


@dataclass
class Prepared:
    """A prepared record: its problems (mapping and SHACL), whether they reject it, and, when
    they do not, its graphs."""

    key: str
    problems: list[Problem]
    rejected: bool
    chunks: list[Chunk]
    aggregates: tuple[str, str] = ("", "")  # its aggregate graph and stamp, as N-Quads
    members: Members = field(default_factory=dict)  # its pairs' members (pair_counts)
    document: SearchDocument | None = None  # what the text index holds of it


class EntityTexts:
    """The N-Quads of the graphs of things records name (persons, keywords, operations), by
    graph and asserted triples, the last ENTITY_TEXTS used: records name the same people and
    keywords again and again (15 such graphs a synthetic record, about one in five new in
    3,000 records), and the same triples under the same tables give the same text. Not
    shipped to worker processes: each fills its own."""

    def __init__(self, size: int = ENTITY_TEXTS) -> None:
        self.size = size
        self._texts: OrderedDict[str, str] = OrderedDict()

    def get(self, asserted: str, compute: Callable[..., str], *arguments: object) -> str:
        """The text of an entity graph whose own triples are ``asserted`` (N-Quads) with
        their entailments: ``asserted + compute(*arguments)``, unless remembered."""
        key = "\n".join(sorted(asserted.splitlines()))  # its lines in any order: one graph
        text = self._texts.get(key)
        if text is not None:
            self._texts.move_to_end(key)
            return text
        text = self._texts[key] = asserted + compute(*arguments)
        if len(self._texts) > self.size:
            self._texts.popitem(last=False)
        return text

    def __getstate__(self) -> dict:
        return {"size": self.size}

    def __setstate__(self, state: dict) -> None:
        type(self).__init__(self, state["size"])


@dataclass(frozen=True)
class Context:
    """What preparing needs, for one load: sent once to each worker process."""

    mapping: Mapping
    uris: Uris
    lookups: Lookups
    entailment: Entailment
    shacl_reference: tuple[Triple, ...]
    hierarchy: ConceptHierarchy | None = None  # None: aggregates are left to aggregates.refresh
    texts: Texts = Texts.INDEX  # where the store's texts are searched
    concept_labels: dict[str, tuple[Text, ...]] = field(default_factory=dict)  # JEL labels
    entities: EntityTexts = field(default_factory=EntityTexts, compare=False, repr=False)

    @classmethod
    def of(cls, mapping: Mapping, uris: Uris, reference: Reference,
           hierarchy: ConceptHierarchy | None = None, texts: Texts = Texts.INDEX) -> Context:
        """The context of a load under a mapping against a reference (and, to compute each
        publication's aggregates and search document with it, the vocabularies' hierarchy and
        where the store's texts are searched)."""
        return cls(mapping, uris, reference.lookups, reference.entailment,
                   tuple(reference.for_shapes()), hierarchy, texts,
                   concept_labels(reference.graphs, uris))


def prepare(jobs: list[RecordJob], context: Context) -> list[Prepared]:
    """Prepare a batch (one SHACL run for all of it), in the order of the jobs (distinct keys)."""
    if not jobs:
        return []
    with _no_cycle_collection():
        mapped = [map_record(job.record, context.mapping, context.uris, context.lookups,
                             job.key) for job in jobs]
        issues = validate({m.key: m.triples for m in mapped}, context.shacl_reference)
        return [_prepared(job, m, issues.get(m.key, []), context)
                for job, m in zip(jobs, mapped, strict=True)]


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector off while a batch is prepared: the batch allocates millions of
    short-lived objects (terms, triples, pyshacl's), and each full collection walks every live
    object, the reference data included: it cost a third of the time. Their cycles are
    collected once the batch is done."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _prepared(job: RecordJob, mapped: MappedRecord, issues: list[Issue],
              context: Context) -> Prepared:
    problems = mapped.problems + [_problem(issue, mapped, context.mapping) for issue in issues]
    if any(problem.severity == "Violation" for problem in problems):
        return Prepared(mapped.key, problems, True, [])
    found = _document(mapped, context)
    return Prepared(mapped.key, problems, False, list(_chunks(job, mapped, context)),
                    _aggregates(job, mapped, context, found),
                    _members(mapped, context), found)


def _document(mapped: MappedRecord, context: Context) -> SearchDocument | None:
    """The publication's search document (none without a hierarchy to roll it up along)."""
    if context.hierarchy is None:
        return None
    return document(mapped.iri, mapped.triples, context.hierarchy, context.concept_labels)


def _aggregates(job: RecordJob, mapped: MappedRecord, context: Context,
                found: SearchDocument | None) -> tuple[str, str]:
    """The publication's aggregate graph and stamp (none without a hierarchy), with its
    analyzed texts where the store searches them itself."""
    if context.hierarchy is None:
        return "", ""
    graph = str(context.uris.graph(RECORD_KIND, mapped.key))
    about = (triple for triple in mapped.triples if triple[0] == mapped.iri)
    searched = ""
    if context.texts is Texts.STORE and found is not None:
        aggregate = ox.NamedNode(aggregate_graph(graph))
        searched = "".join(f"{quad} .\n" for quad in search_text_quads(found, aggregate))
    return publication_nquads(graph, about, job.digest, context.hierarchy, context.texts,
                              searched)


def _members(mapped: MappedRecord, context: Context) -> Members:
    """The publication's members for the pair counts file: its creators and keywords, and
    (when the aggregates are computed here) its members of the dimension tallies."""
    members = members_of(mapped.triples, mapped.iri, PAIR_PROPERTIES)
    if context.hierarchy is not None:
        members.update(dimension_members(mapped.triples, mapped.iri, context.hierarchy))
    return members


def _problem(issue: Issue, mapped: MappedRecord, mapping: Mapping) -> Problem:
    """A SHACL issue as the librarian reads it: the DSpace field and the value as the record
    wrote it (not the term the mapping made of it), where they are known."""
    fields = mapping.fields_of(issue.path) if issue.path else []
    written = mapped.written(issue.value, fields) if issue.value is not None else None
    if written is not None:
        return Problem(issue.severity, written.field, written.value, issue.message)
    return Problem(issue.severity, fields[0] if fields else None, issue.value, issue.message)


def _chunks(job: RecordJob, mapped: MappedRecord, context: Context):
    """The record's own graph (with its provenance) and its entailments, and the graphs of the
    things it names, each with theirs."""
    uris = context.uris
    for (kind, key), triples in _partition(mapped, uris).items():
        graph_iri = str(uris.graph(kind, key))
        if kind == RECORD_KIND:
            triples.extend(_provenance(URIRef(graph_iri), mapped, job, context.mapping))
            text = nquads(triples, graph_iri) + _inferred_text(triples, kind, key, context)
            yield Chunk(graph_iri, False, text)
        else:
            triples.append((URIRef(graph_iri), _PRIMARY_TOPIC, uris.id(kind, key)))
            text = context.entities.get(nquads(triples, graph_iri), _inferred_text,
                                        triples, kind, key, context)
            yield Chunk(graph_iri, True, text)


def _inferred_text(triples: list[Triple], kind: str, key: str, context: Context) -> str:
    """The entailments of a graph's triples, as N-Quads in the graph's inferred graph."""
    inferred = context.entailment.materialise(triples)
    return nquads(inferred, str(context.uris.inferred_graph(kind, key)))


def _partition(mapped: MappedRecord, uris: Uris) -> dict[tuple[str, str], list[Triple]]:
    """Split a record's triples: things other than the publication get graphs of their own,
    so that a person named by many records is described once, not once per record."""
    own = (RECORD_KIND, mapped.key)
    parts: dict[tuple[str, str], list[Triple]] = {own: []}
    for triple in mapped.triples:
        kind_key = uris.split(str(triple[0]))
        if kind_key is None or kind_key[0] == RECORD_KIND:
            kind_key = own
        parts.setdefault(kind_key, []).append(triple)
    return parts


def _provenance(graph_iri: URIRef, mapped: MappedRecord, job: RecordJob,
                mapping: Mapping) -> list[Triple]:
    record = mapped.record
    return [
        (graph_iri, predicate, obj)
        for predicate, obj in (
            (RDF.type, PROV.Entity),
            (FOAF.primaryTopic, mapped.iri),
            (PROV.wasDerivedFrom, _derived_from(record.source)),
            (PROV.generatedAtTime, Literal(job.generated, datatype=XSD.dateTime)),
            (PKG.sourceFormat, Literal(record.format)),
            (PKG.sourceIdentifier, Literal(record.source_id)),
            (PKG.mapping, Literal(Path(mapping.name).name)),
            (PKG.contentHash, Literal(job.digest)),
        )
    ]


@lru_cache(maxsize=1024)
def _derived_from(source: str) -> URIRef:
    """The IRI of where a record came from: its URL, or its file's ``file:`` IRI."""
    return URIRef(source) if "://" in source else URIRef(Path(source).resolve().as_uri())
