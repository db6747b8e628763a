"""Pair counts kept beside an embedded store, so that pair tallies follow a load's changes.

The co-author and keyword-pair tallies (aggregates) keep the most frequent of the pairs of
creators, or of keywords, that publications share. Counted in the quad store, that is a
self-join over every publication, paid by every load's closing refresh however few records it
changed, and growing with the store. Here each publication's members (the objects of a pair
property) and every pair's count are kept in a SQLite file in the store's folder (FILE; in
memory for an in-memory store): a load adds the pairs its records bring and takes away those
of the records it replaces or deletes, and a refresh reads the pairs to keep from the file.
The dimension tallies (publications per JEL code, year, division and year, region and year:
DIMENSIONS) are kept the same way, from each publication's members of their properties, instead
of the GROUP BY queries that count them over the whole store.
The statements are in graph/data/aggregates/pair-counts.sql.

The file is a cache of the store, trusted only in step with it. A refresh that writes the pair
tallies commits a new token to the file, then writes it in the store (TOKEN_GRAPH); a load
records its changes only when it starts with every aggregate current (no pending mark) and the
two tokens equal. Otherwise (a first load, a load or removal cut short, a file lost or older
than the store, publications re-indexed by a refresh) the refresh rebuilds the file from the
store's records and aggregate graphs (``read_members``: a scan of the whole store).
"""

from __future__ import annotations

import re
import sqlite3
import uuid
import weakref
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from itertools import combinations, product
from pathlib import Path

import pyoxigraph as ox
from rdflib import URIRef

from policykg.graph.rdf.namespaces import PKG
from policykg.graph.rdf.queries import AGGREGATE_QUERIES
from policykg.graph.rdf.terms import value_of
from policykg.graph.rdf.uris import Uris
from policykg.graph.store import GraphStore

FILE = "policykg-pair-counts.sqlite"
SCHEMA_VERSION = 3  # bump when pair-counts.sql's tables change: older files are made anew
TOKEN_GRAPH = "graph/aggregates/pair-counts"  # under the base: the token of the file in step
STAMP = "https://w3id.org/policykg/ontology#aggregateStamp"

# The dimension tallies counted here (named as in aggregates.TALLY_KINDS): publications per
# combination of members of these (one or two) properties, as tally-*.rq count them. Their
# members are the publication's aggregates (aggregates.dimension_members), a year as its digits.
DIMENSIONS: dict[str, tuple[str, ...]] = {
    "jel": (PKG + "jelRollup",),
    "year": (PKG + "issuedYear",),
    "division-year": (PKG + "division", PKG + "issuedYear"),
    "region-year": (PKG + "regionRollup", PKG + "issuedYear"),
}

Members = Mapping[str, tuple[str, ...]]  # property -> a publication's members (IRIs, years)
Ranked = dict[tuple[str, str], tuple[int, int | None]]  # pair -> (count, rank if ranked)

_OPEN: weakref.WeakKeyDictionary[object, PairCounts] = weakref.WeakKeyDictionary()


@cache
def statements() -> dict[str, str]:
    """The named statements of graph/data/aggregates/pair-counts.sql."""
    text = AGGREGATE_QUERIES.text("pair-counts.sql")
    parts = re.split(r"^-- name: (\S+)\n", text, flags=re.MULTILINE)
    return {name: body.strip() for name, body in zip(parts[1::2], parts[2::2], strict=True)}


def members_of(triples: Iterable[tuple[object, object, object]], publication: object,
               properties: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """A publication's members, from its record's triples (rdflib terms): for each pair
    property, the IRIs it links the publication to, sorted."""
    wanted = set(properties)
    found: dict[str, set[str]] = defaultdict(set)
    for subject, predicate, value in triples:
        if subject == publication and str(predicate) in wanted and isinstance(value, URIRef):
            found[str(predicate)].add(str(value))
    return {prop: tuple(sorted(values)) for prop, values in found.items()}


def read_members(store: GraphStore, graphs: str, properties: Iterable[str]
                 ) -> Iterator[tuple[str, str, str]]:
    """(publication, property, member) in every graph whose IRI starts with ``graphs`` (record
    graphs, aggregate graphs) of a store in this process: members are IRIs, or literals'
    values (a store elsewhere has no pair counts file to rebuild)."""
    if not store.in_process:
        return
    for prop in properties:
        for quad in store.quads_matching(None, ox.NamedNode(prop), None, None):
            graph = quad.graph_name
            if (isinstance(graph, ox.NamedNode) and graph.value.startswith(graphs)
                    and isinstance(quad.object, ox.NamedNode | ox.Literal)):
                yield value_of(quad.subject), prop, quad.object.value


def stored_token(store: GraphStore, uris: Uris) -> str | None:
    """The token of the pair counts file the store's pair tallies were last written from."""
    if not store.in_process:
        return None
    graph = ox.NamedNode(uris.base + TOKEN_GRAPH)
    quad = next(store.quads_matching(graph, ox.NamedNode(STAMP), None, graph), None)
    return None if quad is None else value_of(quad.object)


def write_token(store: GraphStore, uris: Uris, token: str) -> None:
    """Say in the store that its pair tallies were written from the file with ``token``."""
    graph = ox.NamedNode(uris.base + TOKEN_GRAPH)
    store.replace([graph.value], [ox.Quad(graph, ox.NamedNode(STAMP), ox.Literal(token), graph)])


class PairCounts:
    """The pair counts file of one store: members per publication, counts per pair."""

    def __init__(self, location: str) -> None:
        self._db = _connect(location)
        self._ids: dict[str, int] = {}
        self._new_terms: list[tuple[int, str]] = []  # numbered, not yet written
        self._read_terms()

    @classmethod
    def of(cls, store: GraphStore) -> PairCounts | None:
        """The pair counts of an embedded, writable store (one per store object; None for
        another store: pair tallies are then counted in the store)."""
        if not store.in_process or store.read_only:
            return None
        counts = _OPEN.get(store)
        if counts is None:
            folder = store.folder
            location = str(folder / FILE) if folder is not None else ":memory:"
            counts = _OPEN[store] = cls(location)
        return counts

    def in_step(self, store: GraphStore, uris: Uris) -> bool:
        """Whether the store's pair tallies were last written from this file as it is."""
        token = self._scalar("token")
        return token is not None and token == stored_token(store, uris)

    def change(self, publications: Mapping[str, Members]) -> None:
        """Publications' new members (none: the publication is gone): their old pairs are
        taken away, their new ones added. Uncommitted until ``commit``."""
        self._begin()
        delta = _Delta(self._dimensions())
        members_of_, remove, add = (statements()[name] for name in
                                    ("members-of", "remove-members", "add-member"))
        rows = []
        for publication, members in publications.items():
            pid = self._id(publication)
            old: dict[int, list[int]] = defaultdict(list)
            for prop, member in self._db.execute(members_of_, (pid,)):
                old[prop].append(member)
            if old:
                self._db.execute(remove, (pid,))
            new = {self._id(prop): [self._id(m) for m in values]
                   for prop, values in members.items()}
            rows += [(pid, prop, m) for prop, values in new.items() for m in values]
            delta.count(old, -1)
            delta.count(new, 1)
        self._add_terms()
        self._db.executemany(add, rows)
        self._apply(delta)

    def rebuild(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """Start again from (publication, property, member) rows: the whole store's."""
        self._begin()
        for statement in statements()["clear"].split(";"):
            if statement.strip():
                self._db.execute(statement)  # not executescript: it would commit first
        self._read_terms()
        members: dict[int, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
        for publication, prop, member in rows:
            members[self._id(publication)][self._id(prop)].add(self._id(member))
        self._add_terms()
        self._db.executemany(statements()["add-member"], sorted(
            (pid, prop, member) for pid, found in members.items()
            for prop, values in found.items() for member in values))
        delta = _Delta(self._dimensions())
        for found in members.values():
            delta.count(found, 1)
        self._apply(delta)

    def kept(self, prop: str, most: int) -> tuple[Counter[tuple[str, str]], int]:
        """(pairs of ``prop`` shared most -> their counts, the least count kept): every pair
        with the least count m such that at most ``most`` pairs have m or more."""
        pid = self._ids.get(prop)
        if pid is None:
            return Counter(), 1
        distribution = Counter(dict(self._db.execute(statements()["distribution"], (pid,))))
        minimum = pair_minimum(distribution, most)
        rows = self._db.execute(statements()["pairs-from"], (pid, minimum))
        return Counter({(min(a, b), max(a, b)): count for a, b, count in rows}), minimum

    def dimension_counts(self, name: str) -> list[tuple[tuple[str, ...], int]]:
        """A dimension tally as counted: (its members, one per property of DIMENSIONS[name])
        -> how many publications have them, for every combination some publication has."""
        tally = self._ids.get(_tally_term(name))
        if tally is None:
            return []
        rows = self._db.execute(statements()["dimension-counts"], (tally,))
        return [((first,) if second is None else (first, second), count)
                for first, second, count in rows]

    def tallied(self, prop: str) -> Ranked:
        """What the store's tally of ``prop`` holds (``set_tallied``), as of the token."""
        pid = self._ids.get(prop)
        if pid is None:
            return {}
        rows = self._db.execute(statements()["tallied-of"], (pid,))
        return {(min(a, b), max(a, b)): (count, rank) for a, b, count, rank in rows}

    def set_tallied(self, prop: str, pairs: Ranked) -> None:
        """Remember what the store's tally of ``prop`` now holds (committed with the token)."""
        self._begin()
        pid = self._id(prop)
        rows = sorted((pid, *sorted((self._id(a), self._id(b))), count, rank)
                      for (a, b), (count, rank) in pairs.items())
        self._add_terms()
        self._db.execute(statements()["forget-tallied"], (pid,))
        self._db.executemany(statements()["add-tallied"], rows)

    def commit(self) -> str:
        """Commit what changed under a new token, and return it (write it in the store next:
        ``write_token``)."""
        self._begin()
        token = uuid.uuid4().hex
        self._db.execute(statements()["set-token"], (token,))
        self._db.execute("COMMIT")
        return token

    def rollback(self) -> None:
        """Forget what changed since the last commit."""
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")
        self._read_terms()

    def close(self) -> None:
        """Close the file (uncommitted changes are lost)."""
        self.rollback()
        self._db.close()

    def _scalar(self, name: str) -> str | None:
        row = self._db.execute(statements()[name]).fetchone()
        return None if row is None else row[0]

    def _begin(self) -> None:
        if not self._db.in_transaction:
            self._db.execute("BEGIN")

    def _read_terms(self) -> None:
        self._ids = dict(self._db.execute(statements()["terms"]))
        self._new_terms.clear()

    def _id(self, iri: str) -> int:
        number = self._ids.get(iri)
        if number is None:
            number = self._ids[iri] = len(self._ids) + 1
            self._new_terms.append((number, iri))
        return number

    def _add_terms(self) -> None:
        self._db.executemany(statements()["add-term"], self._new_terms)
        self._new_terms.clear()

    def _dimensions(self) -> dict[int, tuple[int, ...]]:
        """The dimension tallies by number: their properties' numbers (numbered if new)."""
        return {self._id(_tally_term(name)): tuple(self._id(p) for p in props)
                for name, props in DIMENSIONS.items()}

    def _apply(self, delta: _Delta) -> None:
        # in key order: each insert then lands next to the last in SQLite's B-tree
        for counts, add, drop in ((delta.pairs, "add-to-pair", "drop-unshared-pair"),
                                  (delta.combinations, "add-to-dimension",
                                   "drop-empty-dimension")):
            changed = sorted((*key, count) for key, count in counts.items() if count)
            self._db.executemany(statements()[add], changed)
            self._db.executemany(statements()[drop], [key for *key, count in changed
                                                      if count < 0])


def _connect(location: str) -> sqlite3.Connection:
    """The file at ``location`` with this version's tables, made anew when it is not a SQLite
    database (kept beside as FILE.broken, for a look) or was written with other tables: it
    is a cache, and the token it then lacks gets it rebuilt from the store."""
    db = sqlite3.connect(location, isolation_level=None, check_same_thread=False)
    try:
        if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            tables = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
            for (table,) in tables:
                db.execute(f'DROP TABLE "{table}"')
            db.executescript(statements()["schema"])
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except sqlite3.OperationalError:  # locked, unreadable: not the file's fault
        db.close()
        raise
    except sqlite3.DatabaseError:  # not a database
        db.close()
        Path(location).replace(location + ".broken")
        return _connect(location)
    return db


def pair_minimum(distribution: Counter[int], most: int) -> int:
    """The least count m such that at most ``most`` pairs have m or more, given how many pairs
    have each count (1 when all pairs fit)."""
    kept, minimum = 0, max(distribution, default=0) + 1
    for count in sorted(distribution, reverse=True):
        if kept + distribution[count] > most:
            break
        kept += distribution[count]
        minimum = count
    return 1 if kept == sum(distribution.values()) else minimum


def _tally_term(name: str) -> str:
    """How a dimension tally is named among the file's terms."""
    return f"tally:{name}"


class _Delta:
    """What some publications' members add to, or take from, the counts: pairs of each pair
    property's members, and combinations of each dimension tally's properties' members."""

    def __init__(self, dimensions: dict[int, tuple[int, ...]]) -> None:
        self.dimensions = dimensions
        self.dimension_properties = {p for props in dimensions.values() for p in props}
        self.pairs: Counter[tuple[int, int, int]] = Counter()
        self.combinations: Counter[tuple[int, int, int]] = Counter()

    def count(self, members: Mapping[int, Iterable[int]], sign: int) -> None:
        """Count a publication's members (by property) once, with ``sign``."""
        for prop, values in members.items():
            if prop not in self.dimension_properties:
                for first, second in combinations(sorted(set(values)), 2):
                    self.pairs[(prop, first, second)] += sign
        for tally, props in self.dimensions.items():
            for first, *rest in product(*(sorted(set(members.get(p, ()))) for p in props)):
                self.combinations[(tally, first, rest[0] if rest else 0)] += sign
