"""Tallies, each in ``{base}graph/aggregates/{name}``: ``jel``, ``year``, ``division-year``,
``region-year`` (dimension tallies) and ``coauthors``, ``keyword-pairs`` (pair tallies).

Each tally is a node ``a pkg:...Tally`` with its dimensions (pkg:tallyJel, pkg:tallyPerson ...)
and pkg:publicationCount. Dimension tallies are counted by the CONSTRUCT queries of
graph/data/aggregates/ (joins between subqueries, which Oxigraph joins by hash), or read from
the pair counts file of a store in this process. Pair tallies keep the most frequent pairs (all
of them up to MAX_PAIRS) and rank the first RANKED (pkg:rank); a pair's node is an IRI named by
the pair (``pair_node``), so that a refresh from the pair counts file rewrites only the pairs
whose count or rank changed; a store elsewhere counts them with pairs.rq.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import pyoxigraph as ox

from policykg.graph.aggregates.pair_counts import PairCounts, Ranked, pair_minimum
from policykg.graph.aggregates.terms import (
    PUBLICATION_COUNT,
    RANK,
    RDF_TYPE,
    STAMP,
    TALLY_YEAR,
    integer_literal,
    pkg_term,
    query_text,
    tally_graph,
)
from policykg.graph.rdf.namespaces import DCTERMS, PKG
from policykg.graph.rdf.uris import Uris
from policykg.graph.store import GraphStore

MAX_PAIRS = 50_000  # pair tallies keep the most frequent pairs, this many at most
RANKED = 1000  # the most frequent pairs also get a pkg:rank (1 = most publications)


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
        ox.Variable("property"): ox.NamedNode(prop),
        ox.Variable("minimum"): integer_literal(minimum)})
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
    kind, dimensions = pkg_term(tally.tally_class), [pkg_term(d) for d in tally.dimensions]
    for members, count in counts:
        node = ox.BlankNode()
        quads.append(ox.Quad(node, RDF_TYPE, kind, graph))
        quads += [ox.Quad(node, dimension, _member_term(dimension, member), graph)
                  for dimension, member in zip(dimensions, members, strict=True)]
        quads.append(ox.Quad(node, PUBLICATION_COUNT, integer_literal(count), graph))
    return quads


def _member_term(dimension: ox.NamedNode, member: str) -> ox.NamedNode | ox.Literal:
    """A dimension's member as a term: a year is an xsd:integer, the others IRIs."""
    return integer_literal(int(member)) if dimension == TALLY_YEAR else ox.NamedNode(member)


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
    node, dimension = pair_node(graph, pair), pkg_term(tally.dimension)
    quads = [ox.Quad(node, RDF_TYPE, pkg_term(tally.tally_class), graph),
             ox.Quad(node, dimension, ox.NamedNode(pair[0]), graph),
             ox.Quad(node, dimension, ox.NamedNode(pair[1]), graph)] if whole else []
    quads.append(ox.Quad(node, PUBLICATION_COUNT, integer_literal(count), graph))
    if rank is not None:
        quads.append(ox.Quad(node, RANK, integer_literal(rank), graph))
    return quads


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
    """The tally's graph replaced by the new one, stamped, in one step: a reader sees the old
    tally or the new one, never none."""
    store.exchange([], [*quads, ox.Quad(graph, STAMP, ox.Literal(stamp), graph)], graph.value)


def _refresh_pair_tally(store: GraphStore, tally: Tally, graph: ox.NamedNode,
                        counts: PairCounts, stamp: str, rewrite: bool) -> int:
    """A pair tally from the pair counts file: rewritten, or changed where it differs from
    what the file says the store holds. Even when most pairs changed, changing them costs
    less than a rewrite: a surviving pair's node keeps its class and members, and Oxigraph
    removes one quad for less than a quad of a whole graph costs."""
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
    """Remove some quads and add others in one step: a reader never sees a pair without its
    count."""
    store.exchange(removed, added)
