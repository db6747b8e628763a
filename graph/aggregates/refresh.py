"""Aggregates computed at load time, so that whole-graph questions become index lookups.

Per publication, in ``{base}graph/aggregates/publication/{key}``, written by a load together
with its record (``publication_nquads``, computed where the record is prepared, in parallel),
else by ``refresh`` when missing or out of date (the vocabulary hierarchy changed):

    pkg:jelRollup     each JEL code the publication carries and every broader code
    pkg:jelTop        its top-level JEL categories (A .. Z)
    pkg:regionRollup  each region or country it is about and every broader region
    pkg:issuedYear    the year of dcterms:issued, an xsd:integer
    pkg:word          each word of its title and abstract, folded (the word index)

The word index is two thirds of all quads (~200 a publication). On an embedded Oxigraph store it
is kept in the default graph instead (``Words.DEFAULT``), which Oxigraph indexes three ways rather
than six and which its union default graph includes: loads write and compact a third less. A
publication's words are then removed by pattern (``remove_words``) wherever its aggregate graph
is, after that graph, so a stamp never outlives the words it vouches for.

Tallies, each in ``{base}graph/aggregates/{name}``, recomputed at the end of a load that changed
anything (``mark_pending`` before the first change; a load cut short leaves the mark, and the
next refresh recounts): ``jel``, ``year``, ``division-year``, ``region-year``, ``coauthors``,
``keyword-pairs``, counted by the SPARQL queries of graph/data/aggregates/ over the links above
and the records. Joins there are between subqueries, which Oxigraph joins by hash: at 100k
records a plain join seeks once per row (minutes), and turning every term into Python text
costs as much; only the tallies come back. Each tally is a node ``a pkg:...Tally`` with its
dimensions (pkg:tallyJel, pkg:tallyPerson ...) and pkg:publicationCount. Pair tallies keep the most
frequent pairs (all of them up to MAX_PAIRS) and rank the first RANKED (pkg:rank); a pair's node
is an IRI named by the pair (pair_node). On an embedded store they are read from its pair counts
file (pair_counts), told of each change by loads and removals, rather than counted over the
whole store (13 s at 100k records), and only the pairs whose count or rank changed are
rewritten; a remote store counts them with pairs.rq. The four dimension tallies are read from
that file too on an embedded store (``dimension_quads``: the nodes their queries would make).

    refresh(store, uris)   # after a load or a removal; cheap when nothing changed

Stale aggregate graphs are found by their pkg:aggregateStamp (record content hash, hierarchy
digest, VERSION), so one call after any change finds what to redo. On the embedded store the
aggregates are written with Oxigraph's bulk loader (not transactional: they are derived data,
and a stamp is written last, so an interrupted refresh is redone by the next).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from importlib.resources import files
from itertools import chain, islice

import pyoxigraph as ox
from rdflib import URIRef

from policykg.graph.aggregates import pair_counts
from policykg.graph.aggregates.pair_counts import PairCounts, Ranked, pair_minimum
from policykg.graph.mapping.normalise import fold
from policykg.graph.rdf.uris import Uris
from policykg.graph.store.embedded import GraphStore, embedded_engine

PKG = "https://w3id.org/policykg/ontology#"
DCTERMS = "http://purl.org/dc/terms/"
RECORD_KIND = "publication"
AGGREGATES = "graph/aggregates/"
VERSION = "1"  # bump when what is computed per publication changes: all are recomputed
BUFFER = 200_000  # quads written at a time
MAX_PAIRS = 50_000  # pair tallies keep the most frequent pairs, this many at most
RANKED = 1000  # the most frequent pairs also get a pkg:rank (1 = most publications)
REMOVE_EACH = 5000  # stale records up to which each one's old aggregate graph is removed
WORDS_CHUNK = 5000  # publications whose words one update removes
PENDING = AGGREGATES + "pending"  # its stamp: records changed since the tallies were counted

RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
XSD_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")


def _pkg(name: str) -> ox.NamedNode:
    return ox.NamedNode(PKG + name)


JEL_ROLLUP = _pkg("jelRollup")
JEL_TOP = _pkg("jelTop")
REGION_ROLLUP = _pkg("regionRollup")
ISSUED_YEAR = _pkg("issuedYear")
WORD = _pkg("word")
STAMP = _pkg("aggregateStamp")
PUBLICATION_COUNT = _pkg("publicationCount")
TALLY_YEAR = _pkg("tallyYear")
RANK = _pkg("rank")



class Words(Enum):
    """Where a store keeps the word index (the stamp tells them apart: changing it redoes
    every publication)."""

    NAMED = ""  # in each publication's aggregate graph
    DEFAULT = " default-graph-words"  # in the default graph: an embedded Oxigraph store
    NONE = " no-words"  # not indexed

    @classmethod
    def of(cls, store: GraphStore) -> Words:
        """Where the word index goes in a store: the default graph of an embedded Oxigraph
        store, else each publication's aggregate graph."""
        return cls.DEFAULT if embedded_engine(store) is not None else cls.NAMED


@dataclass(frozen=True)
class Tally:
    """A kind of tally: a CONSTRUCT of graph/data/aggregates/, or unordered pairs of the
    objects of a property that publications share (bounded and ranked)."""

    query: str | None = None
    pair_property: str | None = None
    tally_class: str = ""
    dimension: str = ""
    dimensions: tuple[str, ...] = ()  # a dimension tally's, for pair_counts.DIMENSIONS


TALLY_KINDS = {
    "jel": Tally("tally-jel.rq", tally_class="JelTally", dimensions=("tallyJel",)),
    "year": Tally("tally-year.rq", tally_class="YearTally", dimensions=("tallyYear",)),
    "division-year": Tally("tally-division-year.rq", tally_class="DivisionYearTally",
                           dimensions=("tallyDivision", "tallyYear")),
    "region-year": Tally("tally-region-year.rq", tally_class="RegionYearTally",
                         dimensions=("tallyRegion", "tallyYear")),
    "coauthors": Tally(pair_property=DCTERMS + "creator", tally_class="CoauthorTally",
                       dimension="tallyPerson"),
    "keyword-pairs": Tally(pair_property=PKG + "keyword", tally_class="KeywordPairTally",
                           dimension="tallyKeyword"),
}
TALLIES = tuple(TALLY_KINDS)
PAIR_PROPERTIES = tuple(t.pair_property for t in TALLY_KINDS.values() if t.pair_property)
DIVISION = PKG + "division"
# The members of the dimension tallies that a publication's aggregate graph holds (the rest,
# its division, is in its record graph).
AGGREGATE_MEMBERS = (JEL_ROLLUP.value, REGION_ROLLUP.value, ISSUED_YEAR.value)
RECORD_MEMBERS = (*PAIR_PROPERTIES, DIVISION)


@dataclass
class RefreshSummary:
    """What a refresh did."""

    updated: int = 0
    removed: int = 0
    tallies: dict[str, int] = field(default_factory=dict)
    rebuilt: bool = False  # the pair counts file was rebuilt from the store's records
    seconds: float = 0.0

    def line(self) -> str:
        """One line for the load summary."""
        parts = [f"{self.updated} publication(s) re-indexed"] if self.updated else []
        parts += [f"{self.removed} removed"] if self.removed else []
        if self.tallies:
            parts.append("tallies recounted (" + ", ".join(
                f"{name} {count}" for name, count in self.tallies.items()) + ")")
        if self.rebuilt:
            parts.append("pair counts rebuilt from the records")
        return f"aggregates: {'; '.join(parts) or 'up to date'} in {self.seconds:.1f} s"


# --- data files ---------------------------------------------------------------------------


@cache
def query_text(name: str) -> str:
    """A query of graph/data/aggregates/."""
    return (files("policykg.graph") / "data" / "aggregates" / name).read_text(encoding="utf-8")


@cache
def stopwords() -> frozenset[str]:
    """The words the word index leaves out (graph/data/aggregates/stopwords.txt)."""
    lines = query_text("stopwords.txt").splitlines()
    return frozenset(w for line in lines if not line.startswith("#") for w in line.split())


_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> set[str]:
    """The index words of a text: runs of letters and digits, folded (lower case, no accents),
    two characters or more, less stop words. A word search folds its word the same way."""
    return {w for w in _WORD.findall(fold(text)) if len(w) > 1 and w not in stopwords()}


# --- the vocabulary hierarchy -------------------------------------------------------------


@dataclass(frozen=True)
class Hierarchy:
    """Every concept's ancestors, read from the materialised skos:broaderTransitive."""

    ancestors: dict[str, frozenset[str]]
    digest: str

    @classmethod
    def read(cls, store: GraphStore) -> Hierarchy:
        """The hierarchy as the store holds it now."""
        pairs = sorted({
            (row["concept"].value, row["ancestor"].value)
            for row in store.query(query_text("hierarchy.rq"))
            if row["concept"] != row["ancestor"]
        })
        ancestors: dict[str, set[str]] = defaultdict(set)
        for concept, ancestor in pairs:
            ancestors[concept].add(ancestor)
        digest = hashlib.sha256("\n".join(f"{c} {a}" for c, a in pairs).encode()).hexdigest()
        return cls({c: frozenset(a) for c, a in ancestors.items()}, digest[:16])

    def rollup(self, concepts: Iterable[str]) -> set[str]:
        """The concepts and every concept above them."""
        found = set()
        for concept in concepts:
            found.add(concept)
            found.update(self.ancestors.get(concept, ()))
        return found

    def tops(self, concepts: Iterable[str]) -> set[str]:
        """The top concepts (those with nothing above) at or above the concepts."""
        return {c for c in self.rollup(concepts) if not self.ancestors.get(c)}


# --- per publication ----------------------------------------------------------------------


def aggregate_graph(record_graph: str) -> str:
    """The aggregate graph of a record graph: {base}graph/publication/K ->
    {base}graph/aggregates/publication/K."""
    return record_graph.replace("/graph/", "/" + AGGREGATES, 1)


def record_graph(aggregate: str) -> str:
    """The record graph an aggregate graph was computed from."""
    return aggregate.replace("/" + AGGREGATES, "/graph/", 1)


def publication_of(record: str) -> str:
    """The publication a record graph describes: {base}graph/publication/K ->
    {base}id/publication/K (uris.graph and uris.id of the same key)."""
    return record.replace("/graph/", "/id/", 1)


Fact = tuple[str, ox.NamedNode, str, ox.NamedNode | ox.Literal]  # graph, publication, p, value


def record_facts(store: GraphStore, graphs: Iterable[str], total: int,
                 texts: bool = True) -> Iterator[Fact]:
    """The facts (facts.rq; without title and abstract unless ``texts``) of some record graphs:
    one query per graph, or one query over all graphs when they are more than a third of the
    ``total``."""
    wanted = set(graphs)
    query = query_text("facts.rq" if texts else "facts-no-words.rq")
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


class _Writer:
    """Aggregate quads of facts as N-Quads lines, one fact at a time (a publication's roll-ups
    are the union of each of its values' roll-ups, so nothing waits for the rest of the
    record). Lines, not pyoxigraph terms: at 100k records the word index is 20M quads."""

    def __init__(self, hierarchy: Hierarchy, words: Words) -> None:
        self.hierarchy = hierarchy
        self.words = words
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
        if self.words is not Words.NONE and isinstance(value, ox.Literal):
            # folded words are letters and digits only: nothing to escape
            if self.words is Words.DEFAULT:
                tail = " .\n"
            return [f'{head} {WORD} "{w}"{tail}' for w in words(value.value)]
        return []


def issued_year(issued: str) -> str | None:
    """The year (four digits) of a dcterms:issued value, if it begins with one."""
    match = re.match(r"(\d{4})", issued)
    return match.group(1) if match else None


def dimension_members(triples: Iterable[tuple[object, object, object]], publication: object,
                      hierarchy: Hierarchy) -> dict[str, tuple[str, ...]]:
    """A publication's members of the dimension tallies' properties (pair_counts.DIMENSIONS),
    from its record's triples (rdflib terms): the roll-ups and year its aggregate graph
    holds (as ``_Writer`` writes them), and its divisions."""
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


FACT_PROPERTIES = frozenset({PKG + "jel", DCTERMS + "spatial", DCTERMS + "issued",
                             DCTERMS + "title", DCTERMS + "abstract"})  # as in facts.rq


def publication_nquads(graph: str, triples: Iterable[tuple[object, object, object]],
                       content_hash: str, hierarchy: Hierarchy,
                       words: Words = Words.NAMED) -> tuple[str, str]:
    """The aggregate graph of one record graph as N-Quads, from the record's triples (rdflib
    terms), and its stamp line apart (written last): what ``update_publications`` computes
    from the store, computed where the record is prepared, so that a load writes them with
    the record (``add_derived``)."""
    writer = _Writer(hierarchy, words)
    lines = []
    for subject, predicate, value in triples:
        if str(predicate) in FACT_PROPERTIES and isinstance(subject, URIRef):
            term = ox.NamedNode(str(value)) if isinstance(value, URIRef) else ox.Literal(str(value))
            lines += writer.lines((graph, ox.NamedNode(str(subject)), str(predicate), term))
    name = ox.NamedNode(aggregate_graph(graph))
    stamp = ox.Literal(_stamp(content_hash, hierarchy, words))
    return "".join(lines), f"{name} {STAMP} {stamp} {name} .\n"


def add_derived(store: GraphStore, text: str, stamps: str) -> None:
    """Write aggregate graphs (N-Quads), then their stamps: on the embedded store with the
    bulk loader (derived data: a write cut short leaves graphs without stamp, which the next
    refresh redoes), else in one transaction each."""
    for part in (text, stamps):
        if part:
            _load(store, [part])


def update_publications(store: GraphStore, uris: Uris, record_graphs: dict[str, str],
                        hierarchy: Hierarchy | None = None, words: Words | None = None,
                        existing: Iterable[str] | None = None, total: int = 0) -> int:
    """Rewrite the aggregate graphs of some record graphs of the store (record graph IRI ->
    content hash; refresh also drops those whose record is gone). ``words``: where the word
    index goes (None: where the store keeps it); ``existing``: the aggregate graphs there
    are (None: any may be); ``total``: how many records the store holds (to choose between a
    query per record and one over all). Returns how many."""
    hierarchy = hierarchy or Hierarchy.read(store)
    words = words or Words.of(store)
    targets = {aggregate_graph(g) for g in record_graphs}
    old = targets if existing is None else targets & set(existing)
    if old:
        store.replace(sorted(old), [])
    remove_words(store, record_graphs)  # stamped or not: a load cut short leaves some
    writer = _Writer(hierarchy, words)
    buffer: list[str] = []
    for fact in record_facts(store, record_graphs, total, words is not Words.NONE):
        buffer += writer.lines(fact)
        if len(buffer) >= BUFFER:
            _load(store, buffer)
            buffer = []
    for graph, content_hash in record_graphs.items():  # stamps last: a crash leaves them out
        name = ox.NamedNode(aggregate_graph(graph))
        stamp = ox.Literal(_stamp(content_hash, hierarchy, words))
        buffer.append(f"{name} {STAMP} {stamp} {name} .\n")
    _load(store, buffer)
    return len(record_graphs)


def remove_words(store: GraphStore, record_graphs: Iterable[str]) -> None:
    """Remove the default-graph word index of some record graphs' publications, a
    transaction per WORDS_CHUNK of them (nothing to do on a store that keeps words in the
    aggregate graphs). Removing by pattern again is harmless: a step cut short is redone."""
    engine = embedded_engine(store)
    if engine is None:
        return
    graphs = iter(record_graphs)
    while chunk := list(islice(graphs, WORDS_CHUNK)):
        publications = " ".join(str(ox.NamedNode(publication_of(g))) for g in chunk)
        engine.update(query_text("remove-words.ru").replace("#PUBLICATIONS", publications))


def _load(store: GraphStore, lines: list[str]) -> None:
    """Add N-Quads lines, as ``_add`` does quads."""
    text = "".join(lines)
    engine = getattr(store, "engine", None)
    if engine is not None and hasattr(engine, "bulk_load"):
        engine.bulk_load(text.encode("utf-8"), ox.RdfFormat.N_QUADS)
    else:
        store.replace([], ox.parse(text, ox.RdfFormat.N_QUADS))


def _add(store: GraphStore, quads: list[ox.Quad]) -> None:
    """Add quads: with the bulk loader of an embedded Oxigraph store (derived data, rewritten
    whole if a refresh fails half-way), else in one transaction."""
    engine = getattr(store, "engine", None)
    if engine is not None and hasattr(engine, "bulk_extend"):
        engine.bulk_extend(quads)
    else:
        store.replace([], quads)


def read_stamps(store: GraphStore, uris: Uris) -> dict[str, str]:
    """Every aggregate graph (per publication and tally) -> the stamp it was written with."""
    prefix = uris.base + AGGREGATES
    return {row["graph"].value: row["stamp"].value
            for row in store.query(query_text("stamps.rq"))
            if row["graph"].value.startswith(prefix)}


def _stamp(content_hash: str, hierarchy: Hierarchy, words: Words) -> str:
    return f"{content_hash} {hierarchy.digest} {VERSION}{words.value}"


def stale_publications(store: GraphStore, uris: Uris, hierarchy: Hierarchy,
                       stamps: dict[str, str], current: dict[str, str],
                       words: Words = Words.NAMED) -> tuple[dict[str, str], list[str]]:
    """(record graphs whose aggregates are missing or out of date -> content hash,
    aggregate graphs whose record is gone), given the ``current`` record graphs' hashes."""
    prefix = uris.base + AGGREGATES + RECORD_KIND + "/"
    done = {graph: stamp for graph, stamp in stamps.items() if graph.startswith(prefix)}
    stale = {graph: content_hash for graph, content_hash in current.items()
             if done.get(aggregate_graph(graph)) != _stamp(content_hash, hierarchy, words)}
    gone = [graph for graph in done if record_graph(graph) not in current]
    return stale, gone


# --- tallies ------------------------------------------------------------------------------


def tally_graph(uris: Uris, name: str) -> str:
    """The graph of one tally: {base}graph/aggregates/{name}."""
    return uris.base + AGGREGATES + name


def count_pairs(store: GraphStore, prop: str, hint: int = 1,
                most: int | None = None) -> tuple[Counter[tuple[str, str]], int]:
    """(unordered pairs of objects of a property -> how many subjects share them, the least
    count kept): the pairs shared most, ``most`` (MAX_PAIRS) at most (pair_minimum).

    ``hint``: the least count the last tally kept. Counts mostly grow, so the pairs with at
    least hint - 1 are fetched first: if they are more than are kept, the least count kept
    is above hint - 1 and they settle it exactly, and the self-join over every pair that
    reading the distribution costs is saved. Else the distribution is read, as without."""
    most = MAX_PAIRS if most is None else most
    if hint > 2:
        counts = _pairs(store, prop, hint - 1)
        if len(counts) > most:
            minimum = pair_minimum(Counter(counts.values()), most)
            return Counter({p: c for p, c in counts.items() if c >= minimum}), minimum
    bound = {ox.Variable("property"): ox.NamedNode(prop)}
    distribution = Counter({
        int(row["count"].value): int(row["pairs"].value) // 2
        for row in store.query(query_text("pair-distribution.rq"), substitutions=bound)})
    minimum = pair_minimum(distribution, most)
    return _pairs(store, prop, minimum), minimum


def _pairs(store: GraphStore, prop: str, minimum: int) -> Counter[tuple[str, str]]:
    """The unordered pairs of objects of a property shared by ``minimum`` subjects or more."""
    rows = store.query(query_text("pairs.rq"), substitutions={
        ox.Variable("property"): ox.NamedNode(prop), ox.Variable("minimum"): _integer(minimum)})
    return Counter({(row["first"].value, row["second"].value): int(row["count"].value)
                    for row in rows})


def least_count_kept(store: GraphStore, graph: ox.NamedNode) -> int:
    """The least pkg:publicationCount of a tally graph (1 when it has none)."""
    rows = list(store.query(query_text("least-count.rq"),
                            substitutions={ox.Variable("graph"): graph}))
    least = rows[0]["least"] if rows else None
    return int(least.value) if least is not None else 1


def tally_quads(store: GraphStore, tally: Tally, graph: ox.NamedNode) -> list[ox.Quad]:
    """The quads of one tally, computed in the store as it is (pair tallies: by pairs.rq)."""
    if tally.query:
        triples = store.query(query_text(tally.query))
        return [ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples]
    pairs, _ = count_pairs(store, tally.pair_property or "", least_count_kept(store, graph))
    return [q for pair, values in ranked_pairs(pairs).items()
            for q in pair_node_quads(tally, graph, pair, *values)]


def dimension_quads(tally: Tally, graph: ox.NamedNode,
                    counts: Iterable[tuple[tuple[str, ...], int]]) -> list[ox.Quad]:
    """The quads of a dimension tally from its counts (``PairCounts.dimension_counts``): the
    nodes its CONSTRUCT query makes from the same counts in the store."""
    quads = []
    kind, dimensions = _pkg(tally.tally_class), [_pkg(d) for d in tally.dimensions]
    for members, count in counts:
        node = ox.BlankNode()
        quads.append(ox.Quad(node, RDF_TYPE, kind, graph))
        quads += [ox.Quad(node, dimension, _member_term(dimension, member), graph)
                  for dimension, member in zip(dimensions, members, strict=True)]
        quads.append(ox.Quad(node, PUBLICATION_COUNT, _integer(count), graph))
    return quads


def _member_term(dimension: ox.NamedNode, member: str) -> ox.NamedNode | ox.Literal:
    """A dimension's member as a term: a year is an xsd:integer, the others IRIs."""
    return _integer(int(member)) if dimension == TALLY_YEAR else ox.NamedNode(member)


def ranked_pairs(counts: Counter[tuple[str, str]]) -> Ranked:
    """Pairs kept -> (count, rank): the first RANKED by count (ties by the pairs' IRIs) are
    ranked, the others not (None)."""
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return {pair: (count, rank if rank <= RANKED else None)
            for rank, (pair, count) in enumerate(ordered, start=1)}


def pair_node(graph: ox.NamedNode, pair: tuple[str, str]) -> ox.NamedNode:
    """The node of a pair in a pair tally: the tally graph's IRI with a fragment named by the
    pair, the same in every refresh (so that one writes only what changed)."""
    digest = hashlib.sha1(f"{pair[0]} {pair[1]}".encode(), usedforsecurity=False)
    return ox.NamedNode(f"{graph.value}#{digest.hexdigest()[:20]}")


def pair_node_quads(tally: Tally, graph: ox.NamedNode, pair: tuple[str, str], count: int,
                    rank: int | None, whole: bool = True) -> list[ox.Quad]:
    """A pair's node in a tally: its class, its two members, its count and rank (only the
    count and rank unless ``whole``)."""
    node, dimension = pair_node(graph, pair), _pkg(tally.dimension)
    quads = [ox.Quad(node, RDF_TYPE, _pkg(tally.tally_class), graph),
             ox.Quad(node, dimension, ox.NamedNode(pair[0]), graph),
             ox.Quad(node, dimension, ox.NamedNode(pair[1]), graph)] if whole else []
    quads.append(ox.Quad(node, PUBLICATION_COUNT, _integer(count), graph))
    if rank is not None:
        quads.append(ox.Quad(node, RANK, _integer(rank), graph))
    return quads


def _integer(number: int) -> ox.Literal:
    return ox.Literal(str(number), datatype=XSD_INTEGER)


def refresh_tallies(store: GraphStore, uris: Uris, stamp: str,
                    names: Iterable[str] = TALLIES, counts: PairCounts | None = None,
                    rewrite: bool = True) -> dict[str, int]:
    """Recompute tallies, stamped with ``stamp`` (tally_stamp); returns tally name -> number
    of tallies. Each replaces its graph, but for the pair tallies read from ``counts`` (the
    store's pair counts file, in step with it) when not ``rewrite``: those get only what
    changed since the file's last refresh (the tallies and their stamp as it left them).
    With ``counts``, the dimension tallies are read from it too instead of counted."""
    sizes = {}
    for name in names:
        tally = TALLY_KINDS[name]
        graph = ox.NamedNode(tally_graph(uris, name))
        if counts is not None and tally.pair_property:
            sizes[name] = _refresh_pair_tally(store, tally, graph, counts, stamp, rewrite)
            continue
        if counts is not None and tally.dimensions:
            quads = dimension_quads(tally, graph, counts.dimension_counts(name))
        else:
            quads = tally_quads(store, tally, graph)
        _rewrite(store, graph, quads, stamp)
        sizes[name] = sum(1 for q in quads if q.predicate == PUBLICATION_COUNT)
    return sizes


def _rewrite(store: GraphStore, graph: ox.NamedNode, quads: list[ox.Quad], stamp: str) -> None:
    store.replace([graph.value], [])
    _add(store, [*quads, ox.Quad(graph, STAMP, ox.Literal(stamp), graph)])


def _refresh_pair_tally(store: GraphStore, tally: Tally, graph: ox.NamedNode,
                        counts: PairCounts, stamp: str, rewrite: bool) -> int:
    """A pair tally from the pair counts file: rewritten, or changed where it differs from
    what the file says the store holds. Even when most pairs changed, changing them costs
    less than a rewrite: a surviving pair's node keeps its class and members, and Oxigraph
    removes a quad for ~8 us, against ~19 us a quad to remove a whole graph."""
    prop = tally.pair_property or ""
    new = ranked_pairs(counts.kept(prop, MAX_PAIRS)[0])
    if rewrite:
        _rewrite(store, graph, [q for pair, values in new.items()
                                for q in pair_node_quads(tally, graph, pair, *values)], stamp)
    else:
        _change(store, *_differences(tally, graph, counts.tallied(prop), new))
    counts.set_tallied(prop, new)
    return len(new)


def _differences(tally: Tally, graph: ox.NamedNode, old: Ranked,
                 new: Ranked) -> tuple[list[ox.Quad], list[ox.Quad]]:
    """(quads to remove, quads to add) to turn a pair tally holding ``old`` into ``new``:
    whole nodes for pairs gone or added, the count and rank of pairs whose either changed."""
    changed = [pair for pair in new.keys() & old.keys() if new[pair] != old[pair]]
    removed = [q for pair in old.keys() - new.keys()
               for q in pair_node_quads(tally, graph, pair, *old[pair])]
    removed += [q for pair in changed
                for q in pair_node_quads(tally, graph, pair, *old[pair], whole=False)]
    added = [q for pair in new.keys() - old.keys()
             for q in pair_node_quads(tally, graph, pair, *new[pair])]
    added += [q for pair in changed
              for q in pair_node_quads(tally, graph, pair, *new[pair], whole=False)]
    return removed, added


def _change(store: GraphStore, removed: list[ox.Quad], added: list[ox.Quad]) -> None:
    """Remove some quads, one by one, then add others with ``_add`` (the embedded store:
    derived data; a refresh cut short leaves the pending mark, and the next rewrites)."""
    engine = embedded_engine(store)
    if engine is None:
        raise ValueError("pair tallies are changed in place only on an embedded store")
    for quad in removed:
        engine.remove(quad)
    if added:
        _add(store, added)


def mark_pending(store: GraphStore, uris: Uris) -> None:
    """Say that the tallies are out of date, before records are written or removed (a
    load writes each publication's aggregates itself, so nothing else tells a refresh that
    the counts changed). The recount removes the mark."""
    graph = ox.NamedNode(uris.base + PENDING)
    store.replace([], [ox.Quad(graph, STAMP, ox.Literal("records changed"), graph)])


def tallies_pending(store: GraphStore, uris: Uris) -> bool:
    """Whether records changed since the tallies were last counted."""
    return store.has_graph(uris.base + PENDING)


def tally_stamp(hierarchy: Hierarchy, words: Words) -> str:
    """What tallies are stamped with: how every publication was indexed when a refresh
    counted them (the aggregates' version, the hierarchy, where the words are)."""
    return f"{VERSION} {hierarchy.digest}{words.value}"


def up_to_date(store: GraphStore, uris: Uris, hierarchy: Hierarchy, words: Words) -> bool:
    """Whether the last refresh left every aggregate current, with no change since. A load
    that starts so and writes each record's aggregates with it leaves every publication
    indexed: its refresh need not look for stale ones (``refresh(indexed=True)``)."""
    if tallies_pending(store, uris):
        return False
    wanted = tally_stamp(hierarchy, words)
    for name in TALLIES:
        graph = {ox.Variable("graph"): ox.NamedNode(tally_graph(uris, name))}
        stamps = {row["stamp"].value for row in store.query(query_text("stamps.rq"),
                                                            substitutions=graph)}
        if stamps != {wanted}:
            return False
    return True


def counts_from_scratch(store: GraphStore) -> PairCounts | None:
    """The pair counts file of a store that holds no record yet, emptied (uncommitted until
    the closing refresh), to be told of each change of a first load."""
    counts = PairCounts.of(store)
    if counts is not None:
        counts.rebuild([])
    return counts


def counts_to_tell(store: GraphStore, uris: Uris, indexed: bool) -> PairCounts | None:
    """The store's pair counts file, to be told of each change to the records from now on
    (then ``refresh(counted=True)`` reads the pair tallies from it), if the aggregates are
    current (``indexed``: ``up_to_date``) and it is in step with the store; else None."""
    counts = PairCounts.of(store)
    return counts if indexed and counts is not None and counts.in_step(store, uris) else None


# --- the entry point ----------------------------------------------------------------------


def refresh(store: GraphStore, uris: Uris, words: Words | None = None,
            hierarchy: Hierarchy | None = None, indexed: bool = False,
            counted: bool = False, fresh: bool = False) -> RefreshSummary:
    """Bring every aggregate up to date with the records in the store: the per-publication
    graphs of new or changed records, then (if anything changed) the tallies. ``words``:
    where the word index goes (None: where the store keeps it); ``hierarchy``: the
    vocabularies' hierarchy when the caller has read it already; ``indexed``: the caller
    knows every publication's aggregates are current (``up_to_date`` before a load that
    wrote them with its records), so only the tallies are recounted, without reading every
    publication's stamp (seconds at 100k records); ``counted``: the caller told the store's
    pair counts file every change it made (a load that began in step with it), so the pair
    tallies are read from it as it is; ``fresh``: the store held no record before the load
    that calls (its first: every tally is written whole)."""
    started = time.perf_counter()
    words = words or Words.of(store)
    hierarchy = hierarchy or Hierarchy.read(store)
    summary = RefreshSummary()
    stamps: dict[str, str] = {}
    stale: dict[str, str] = {}
    gone: list[str] = []
    pending = indexed or tallies_pending(store, uris)  # an indexed refresh: records changed
    if not indexed:
        stamps = read_stamps(store, uris)
        current = store.graph_hashes(str(uris.graph(RECORD_KIND, "")))
        stale, gone = stale_publications(store, uris, hierarchy, stamps, current, words)
    if stale:
        # a few: remove each one's graph, stamped or not (a refresh cut short leaves graphs
        # without stamp); many (a first load): only those stamped, not a lookup per record
        existing = None if len(stale) <= REMOVE_EACH else set(stamps)
        summary.updated = update_publications(store, uris, stale, hierarchy, words,
                                              existing=existing, total=len(current))
    if gone:
        store.replace(gone, [])
        remove_words(store, [record_graph(g) for g in gone])
        summary.removed = len(gone)
    stamp = tally_stamp(hierarchy, words)
    tallied = all(stamps.get(tally_graph(uris, name)) == stamp for name in TALLIES)
    if stale or gone or pending or not tallied:
        # publications re-indexed here got other dimension members than the file was told
        counts, summary.rebuilt = _pair_counts(store, uris, counted and not stale,
                                               changed=bool(stale or gone or pending))
        # an indexed refresh: the load began with every tally stamped as now (up_to_date)
        summary.tallies = refresh_tallies(store, uris, stamp, counts=counts,
                                          rewrite=summary.rebuilt or fresh
                                          or not (indexed or tallied))
        if counts is not None:
            pair_counts.write_token(store, uris, counts.commit())
        store.replace([uris.base + PENDING], [])
    summary.seconds = time.perf_counter() - started
    return summary


def _pair_counts(store: GraphStore, uris: Uris, counted: bool,
                 changed: bool) -> tuple[PairCounts | None, bool]:
    """The store's pair counts file, in step with its records (None: a store without one),
    and whether it was rebuilt from them. It is trusted as it is when the caller told it of
    every change (``counted``), or when no record ``changed`` and its token is the store's."""
    counts = PairCounts.of(store)
    if counts is None or counted or (not changed and counts.in_step(store, uris)):
        return counts, False
    records = str(uris.graph(RECORD_KIND, ""))
    counts.rebuild(chain(pair_counts.read_members(store, records, RECORD_MEMBERS),
                         pair_counts.read_members(store, aggregate_graph(records),
                                                  AGGREGATE_MEMBERS)))
    return counts, True
