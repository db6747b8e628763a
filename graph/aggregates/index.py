"""The aggregate index of a store as one object (``AggregateIndex``): what loads, removals and
updates tell it as they change records, and the refresh that brings every aggregate up to date
at their end.

Stale aggregate graphs are found by their pkg:aggregateStamp (record content hash, hierarchy
digest, VERSION), so one refresh after any change finds what to redo; the tallies are marked
pending before the first change (a run cut short leaves the mark, and the next refresh
recounts). Aggregates are derived data: a store may write them outside transactions (the
embedded store's bulk loader), their stamps last, so an interrupted refresh is redone.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import chain

import pyoxigraph as ox

from policykg.graph.aggregates import pair_counts
from policykg.graph.aggregates.hierarchy import ConceptHierarchy
from policykg.graph.aggregates.pair_counts import Members, PairCounts
from policykg.graph.aggregates.publication import (
    read_stamps,
    stale_publications,
    update_publications,
    with_legacy_words,
)
from policykg.graph.aggregates.tallies import PAIR_PROPERTIES, TALLIES, refresh_tallies
from policykg.graph.aggregates.terms import (
    DIVISION,
    ISSUED_YEAR,
    JEL_ROLLUP,
    PENDING,
    RECORD_KIND,
    REGION_ROLLUP,
    STAMP,
    VERSION,
    aggregate_graph,
    query_text,
    tally_graph,
)
from policykg.graph.aggregates.texts import Texts, word_removals
from policykg.graph.rdf.uris import Uris
from policykg.graph.store import GraphStore

REMOVE_EACH = 5000  # stale records up to which each one's old aggregate graph is removed
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


def mark_pending(store: GraphStore, uris: Uris) -> None:
    """Say that the tallies are out of date, before records are written or removed (a
    load writes each publication's aggregates itself, so nothing else tells a refresh that
    the counts changed). The recount removes the mark."""
    graph = ox.NamedNode(uris.base + PENDING)
    store.replace([], [ox.Quad(graph, STAMP, ox.Literal("records changed"), graph)])


def tallies_pending(store: GraphStore, uris: Uris) -> bool:
    """Whether records changed since the tallies were last counted."""
    return store.has_graph(uris.base + PENDING)


def tally_stamp(hierarchy: ConceptHierarchy, texts: Texts) -> str:
    """What tallies are stamped with: how every publication was indexed when a refresh
    counted them (the aggregates' version, the hierarchy, where the texts are searched)."""
    return f"{VERSION} {hierarchy.digest}{texts.value}"


def up_to_date(store: GraphStore, uris: Uris, hierarchy: ConceptHierarchy, texts: Texts) -> bool:
    """Whether the last refresh left every aggregate current, with no change since. A load
    that starts so and writes each record's aggregates with it leaves every publication
    indexed: its refresh need not look for stale ones (``refresh(indexed=True)``)."""
    if tallies_pending(store, uris):
        return False
    wanted = tally_stamp(hierarchy, texts)
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


def refresh(store: GraphStore, uris: Uris, texts: Texts | None = None,
            hierarchy: ConceptHierarchy | None = None, indexed: bool = False,
            counted: bool = False, fresh: bool = False) -> RefreshSummary:
    """Bring every aggregate up to date with the records in the store: the per-publication
    graphs of new or changed records, then (if anything changed) the tallies. ``texts``:
    where the texts are searched (None: where the store searches them); ``hierarchy``: the
    vocabularies' hierarchy when the caller has read it already; ``indexed``: the caller
    knows every publication's aggregates are current (``up_to_date`` before a load that
    wrote them with its records), so only the tallies are recounted, without reading every
    publication's stamp (a scan of the store); ``counted``: the caller told the store's
    pair counts file every change it made (a load that began in step with it), so the pair
    tallies are read from it as it is; ``fresh``: the store held no record before the load
    that calls (its first: every tally is written whole)."""
    started = time.perf_counter()
    texts = texts or Texts.of(store)
    hierarchy = hierarchy or ConceptHierarchy.read(store)
    summary = RefreshSummary()
    stamps: dict[str, str] = {}
    stale: dict[str, str] = {}
    gone: list[str] = []
    pending = indexed or tallies_pending(store, uris)  # an indexed refresh: records changed
    if not indexed:
        stamps = read_stamps(store, uris)
        current = store.graph_hashes(str(uris.graph(RECORD_KIND, "")))
        stale, gone = stale_publications(store, uris, hierarchy, stamps, current, texts)
        for update in word_removals(with_legacy_words(stamps)):
            store.update(update)
    if stale:
        # a few: remove each one's graph, stamped or not (a refresh cut short leaves graphs
        # without stamp); many (a first load): only those stamped, not a lookup per record
        existing = None if len(stale) <= REMOVE_EACH else set(stamps)
        summary.updated = update_publications(store, uris, stale, hierarchy, texts,
                                              existing=existing, total=len(current))
    if gone:
        store.replace(gone, [])
        summary.removed = len(gone)
    stamp = tally_stamp(hierarchy, texts)
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


class AggregateIndex:
    """The aggregates of one store, told of the changes a run of loads or removals makes:

        index = AggregateIndex(store, uris)
        index.begin()             # before the first change
        index.changing()          # before each change (marks the tallies pending, once)
        index.tell(members)       # the members of publications written (none: removed)
        summary = index.finish()  # after the last: the closing refresh, if one is due

    When every aggregate was current at ``begin`` and the store keeps a pair counts file in
    step with it, the file is told of each change and the closing refresh reads the tallies
    from it instead of counting them over the whole store.
    """

    def __init__(self, store: GraphStore, uris: Uris,
                 hierarchy: ConceptHierarchy | None = None) -> None:
        self.store = store
        self.uris = uris
        self.hierarchy = hierarchy or ConceptHierarchy.read(store)
        self.texts = Texts.of(store)
        self.counts: PairCounts | None = None  # told of each change, when in step
        self._indexed = False  # every aggregate current at begin(): the refresh recounts only
        self._changing = False
        self._fresh = False

    def begin(self, first: bool = False) -> None:
        """Start a run of changes (``first``: the store holds no record yet, so no aggregate
        can be stale and every pair is counted as it comes)."""
        self._indexed = up_to_date(self.store, self.uris, self.hierarchy, self.texts)
        self._changing = False
        self.counts = counts_to_tell(self.store, self.uris, self._indexed)
        self._fresh = self.counts is None and first
        if self._fresh:
            self.counts, self._indexed = counts_from_scratch(self.store), True

    @property
    def telling(self) -> bool:
        """Whether the pair counts file is told of each change (in step since ``begin``)."""
        return self.counts is not None

    def changing(self) -> None:
        """A change to the records follows: the tallies are out of date until ``finish``."""
        if not self._changing:
            mark_pending(self.store, self.uris)
            self._changing = True

    def tell(self, members: Mapping[str, Members]) -> None:
        """Publications' new members (none: removed), once their change is in the store."""
        if self.counts is not None:
            self.counts.change(members)

    def abandon(self) -> None:
        """The run failed: the pair counts file forgets what it was told (it is then out of
        step with the store, and the next refresh rebuilds it)."""
        if self.counts is not None:
            self.counts.rollback()

    def finish(self) -> RefreshSummary | None:
        """After the last change: bring every aggregate up to date, if anything changed (or
        a run cut short before this one left the tallies pending)."""
        if not (self._changing or tallies_pending(self.store, self.uris)):
            return None
        return refresh(self.store, self.uris, hierarchy=self.hierarchy,
                       indexed=self._indexed and self._changing,
                       counted=self.counts is not None, fresh=self._fresh)

    @staticmethod
    def pending_update() -> str:
        """The SPARQL update that marks the tallies pending, run with the store's base IRI as
        base: for changes made by SPARQL Update, which tell nothing else."""
        return query_text("mark-pending.ru")
