"""The dataset as a whole: the home page, its VoID/DCAT description, and the full dump.

- ``/``                     what this is, its numbers, and where to go from here;
- ``/.well-known/void``     VoID + DCAT (Turtle by default; other RDF syntaxes by Accept);
- ``/dump/policykg.nq.gz``  every quad as gzipped N-Quads, streamed (``application/gzip``).

Statistics are computed once and cached per app: they are computed again only when the store
object, the app's ``policykg.generation`` counter or the store's marker (count and newest
``prov:generatedAtTime`` of the records) changes; the marker is checked at most every few seconds.
"""

from __future__ import annotations

import threading
import time
import tomllib
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from itertools import islice

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, render_template, request

from policykg.graph.rdf.namespaces import DCAT, DCTERMS, FOAF, VOID
from policykg.graph.rdf.queries import STORE_QUERIES
from policykg.graph.rdf.terms import OxTerm, serialized, value_of
from policykg.graph.store import GraphStore
from policykg.graph.store.interface import Subject
from policykg.webapp.context import app_store, app_uris, served_root
from policykg.webapp.site.glance import collection_charts

blueprint = Blueprint("dataset", __name__)

RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
DATASET = ".well-known/void#policykg"
DUMP_PATH = "dump/policykg.nq.gz"
DUMP_MEDIA_TYPE = "application/gzip"
DUMP_CHUNK = 5_000  # quads serialised, then compressed, at a time
STATISTICS = "policykg.statistics"
GENERATION = "policykg.generation"

# Media types offered by /.well-known/void, the first being the default.
VOID_FORMATS = {
    format.media_type: format
    for format in (ox.RdfFormat.TURTLE, ox.RdfFormat.N_TRIPLES, ox.RdfFormat.RDF_XML,
                   ox.RdfFormat.JSON_LD, ox.RdfFormat.N_QUADS, ox.RdfFormat.TRIG,
                   ox.RdfFormat.N3)
}

# Where the description says the dataset is served: under the address the server answers at.
LOCATIONS = {VOID + "sparqlEndpoint", VOID + "dataDump", DCAT + "downloadURL",
             DCAT + "accessURL", DCAT + "endpointURL", DCAT + "landingPage", FOAF + "homepage"}

# What the home page counts, by class (label, class IRI).
HOME_COUNTS = (
    ("publications", "https://w3id.org/policykg/ontology#Publication"),
    ("people", "http://xmlns.com/foaf/0.1/Person"),
    ("operations", "https://w3id.org/policykg/ontology#Operation"),
    ("concepts", "http://www.w3.org/2004/02/skos/core#Concept"),
)


@dataclass(frozen=True)
class Statistics:
    """The numbers of the dataset at one moment."""

    triples: int
    entities: int
    classes: tuple[tuple[str, int], ...]  # (class IRI, instances), most instances first
    examples: dict[str, str] = field(default_factory=dict)  # publication, person, jel -> IRI
    records: int = 0                      # records with provenance
    modified: OxTerm | None = None        # newest prov:generatedAtTime (a literal, as loaded)

    def instances(self, class_iri: str) -> int:
        """How many things have this class (asserted or inferred)."""
        return dict(self.classes).get(class_iri, 0)


@cache
def _resource(name: str) -> str:
    return (resources.files("policykg.webapp") / "templates" / name).read_text("utf-8")


@cache
def _queries() -> dict:
    queries = tomllib.loads(_resource("site_statistics.toml"))
    return {**queries, "classes": STORE_QUERIES.text("stats-classes.rq")}


def _select(store: GraphStore, query: str, base: str) -> list[dict[str, OxTerm | None]]:
    result = store.query(query, base_iri=base)
    names = [variable.value for variable in result.variables]
    return [{name: solution[name] for name in names} for solution in result]


def _number(term: OxTerm | None) -> int:
    return int(value_of(term)) if term is not None else 0


def marker(store: GraphStore, base: str) -> tuple[int, str | None]:
    """What changes whenever records are loaded, replaced or removed: (count, newest time)."""
    row = _select(store, _queries()["marker"], base)[0]
    modified = row["modified"]
    return _number(row["records"]), None if modified is None else value_of(modified)


def compute_statistics(store: GraphStore, base: str) -> Statistics:
    """Count everything (slow on a large store: callers cache the result)."""
    queries = _queries()
    classes = tuple(
        (row["class"].value, _number(row["count"]))
        for row in _select(store, queries["classes"], base)
        if isinstance(row["class"], ox.NamedNode)
    )
    examples = {}
    for name, example in queries["examples"].items():
        rows = _select(store, example["query"], base)
        if rows and rows[0]["example"] is not None:
            examples[name] = value_of(rows[0]["example"])
    row = _select(store, queries["marker"], base)[0]
    return Statistics(
        triples=_number(_select(store, queries["triples"], base)[0]["count"]),
        entities=_number(_select(store, queries["entities"], base)[0]["count"]),
        classes=classes,
        examples=examples,
        records=_number(row["records"]),
        modified=row["modified"],
    )


class StatisticsCache:
    """Statistics of one app's store, computed again only when the store has changed."""

    def __init__(self, recheck: float = 5.0) -> None:
        self.recheck = recheck  # seconds between two checks of the store's marker
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._value: Statistics | None = None
        self._checked = 0.0

    def get(self, store: GraphStore, base: str, generation: object = None) -> Statistics:
        """The statistics, from the cache when the store has not changed."""
        with self._lock:
            now = time.monotonic()
            quick_key = (id(store), base, generation)
            if (self._value is not None and self._key and self._key[:3] == quick_key
                    and now - self._checked < self.recheck):
                return self._value
            key = (*quick_key, marker(store, base))
            if self._value is None or key != self._key:
                self._value = compute_statistics(store, base)
                self._key = key
            self._checked = now
            return self._value

    def invalidate(self) -> None:
        """Forget the statistics (after a SPARQL Update, for instance)."""
        with self._lock:
            self._value = None


@blueprint.record_once
def _setup(state) -> None:
    state.app.extensions.setdefault(STATISTICS, StatisticsCache())


def statistics() -> Statistics:
    """The current app's statistics."""
    extensions = current_app.extensions
    return extensions[STATISTICS].get(app_store(), app_uris().base,
                                      extensions.get(GENERATION))



@cache
def description_template(base: str) -> tuple[tuple[ox.Triple, ...], dict[str, str]]:
    """The fixed part of the description, for one base, and its prefixes."""
    parser = ox.parse(_resource("site_void.ttl").encode(), format=ox.RdfFormat.TURTLE,
                      base_iri=base)
    triples = tuple(quad.triple for quad in parser)
    return triples, dict(parser.prefixes)


def void_triples(base: str, stats: Statistics, root: str | None = None) -> list[ox.Triple]:
    """The VoID/DCAT description: the template plus the statistics. The dataset and its IRIs
    are under ``base``; where it is served (its home page, SPARQL endpoint and dump) is under
    ``root``, the address the server answers at (the base when not given)."""
    triples = [_located(triple, base, root or base) for triple in description_template(base)[0]]
    dataset = ox.NamedNode(base + DATASET)

    def add(subject: ox.NamedNode | ox.BlankNode, name: str, value: OxTerm) -> None:
        triples.append(ox.Triple(subject, ox.NamedNode(name), value))

    add(dataset, VOID + "uriSpace", ox.Literal(base + "id/"))
    add(dataset, VOID + "triples", ox.Literal(stats.triples))
    add(dataset, VOID + "entities", ox.Literal(stats.entities))
    add(dataset, VOID + "classes", ox.Literal(len(stats.classes)))
    for class_iri, count in stats.classes:
        partition = ox.BlankNode()
        add(dataset, VOID + "classPartition", partition)
        add(partition, VOID + "class", ox.NamedNode(class_iri))
        add(partition, VOID + "entities", ox.Literal(count))
    for example in stats.examples.values():
        add(dataset, VOID + "exampleResource", ox.NamedNode(example))
    if stats.modified is not None:
        add(dataset, DCTERMS + "modified", stats.modified)
    first: dict[Subject, int] = {}
    for triple in triples:
        first.setdefault(triple.subject, len(first))
    return sorted(triples, key=lambda triple: first[triple.subject])  # each subject in one block


def _located(triple: ox.Triple, base: str, root: str) -> ox.Triple:
    """The triple, its object moved from under the base to under the root when it names a
    place the server answers at."""
    target = triple.object
    if (root == base or triple.predicate.value not in LOCATIONS
            or not isinstance(target, ox.NamedNode) or not target.value.startswith(base)):
        return triple
    return ox.Triple(triple.subject, triple.predicate,
                     ox.NamedNode(root + target.value[len(base):]))


def dataset_text(base: str, name: str) -> str:
    """A literal of the dataset in the description template (dcterms:title, description)."""
    dataset = ox.NamedNode(base + DATASET)
    for triple in description_template(base)[0]:
        if triple.subject == dataset and triple.predicate.value == DCTERMS + name:
            return value_of(triple.object)
    return ""


@blueprint.get("/.well-known/void")
def void() -> Response:
    """The dataset description, in the RDF syntax the client asks for (Turtle by default)."""
    media_type = request.accept_mimetypes.best_match(list(VOID_FORMATS)) or "text/turtle"
    base = app_uris().base
    body = ox.serialize(void_triples(base, statistics(), served_root()),
                        format=VOID_FORMATS[media_type], prefixes=description_template(base)[1])
    response = Response(body, mimetype=media_type)
    response.vary.add("Accept")
    return response


def gzipped_nquads(quads: Iterable[ox.Quad], chunk: int = DUMP_CHUNK) -> Iterator[bytes]:
    """Quads as gzip-compressed N-Quads, a chunk at a time: memory stays flat."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: a gzip member
    iterator = iter(quads)
    while batch := list(islice(iterator, chunk)):
        data = compressor.compress(serialized(batch, ox.RdfFormat.N_QUADS))
        if data:
            yield data
    yield compressor.flush()


@blueprint.get("/" + DUMP_PATH)
def dump() -> Response:
    """The whole graph, every named graph, as a gzip file of N-Quads (streamed)."""
    store = app_store()
    response = Response(gzipped_nquads(store.quads()), mimetype=DUMP_MEDIA_TYPE)
    response.headers["Content-Disposition"] = 'attachment; filename="policykg.nq.gz"'
    return response


def local_link(iri: str) -> str:
    """A link that stays on this server for IRIs under the base (whatever host serves them)."""
    base = app_uris().base
    return request.script_root + "/" + iri[len(base):] if iri.startswith(base) else iri


@blueprint.get("/")
def home() -> str:
    """The home page: what this is, how big, the collection at a glance (charts), and
    where to go from here."""
    base = app_uris().base
    stats = statistics()
    counts = [(label, stats.instances(class_iri)) for label, class_iri in HOME_COUNTS]
    labels = {name: example["label"] for name, example in _queries()["examples"].items()}
    examples = [(labels[name], iri, local_link(iri)) for name, iri in stats.examples.items()]
    return render_template(
        "site_home.html", title=dataset_text(base, "title"),
        description=dataset_text(base, "description"), stats=stats, counts=counts,
        examples=examples, base=base, root=request.script_root, dump_path=DUMP_PATH,
        charts=collection_charts(stats),
    )
