"""``policykg rebase NEW``: move every IRI of a store from its base to another, for a store loaded
before its public address was known.

Every named graph is rewritten, a batch of graphs at a time: the quads that name an IRI under
the old base (as subject, predicate, object or graph) are copied with it under the new base,
then taken out (in this process for the embedded store; by the store itself, with a SPARQL
update, for a remote one). Copying before taking out makes a run cut short safe:
nothing is lost, and the store keeps recording the old base until the end, so running the same
rebase again finishes it. Then the vocabularies are installed under the new base, the store
records it, and what is kept beside the store is made anew: the text index at once, the pair
counts by the next load.

The records' content hashes name the base, so the next load of the same records replaces each
of them once (their graphs come out the same).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox

from policykg.graph.aggregates.pair_counts import TOKEN_GRAPH
from policykg.graph.inference.reference import reinstall
from policykg.graph.rdf.uris import Uris
from policykg.graph.search.indexing import reindex
from policykg.graph.store import GraphStore
from policykg.graph.store.ledger import LEDGER, record_base, stored_base

BATCH = 200  # graphs rewritten by one update
POSITIONS = ("g", "s", "p", "o")


@dataclass
class RebaseSummary:
    """What a rebase did."""

    old: str
    new: str
    graphs: int = 0        # named graphs looked at
    seconds: float = 0.0

    def line(self) -> str:
        """One line for the command line."""
        if self.old == self.new:
            return f"the store's IRIs are under {self.new} already: nothing to do"
        return (f"rebased {self.graphs} graph(s) from {self.old} to {self.new} in "
                f"{self.seconds:.1f} s; serve with --base {self.new}")


class RebaseError(ValueError):
    """A rebase that cannot be done (an empty store, a base that is no IRI)."""


def new_base(text: str) -> str:
    """The base a rebase moves to, checked: an absolute http(s) IRI ending with "/"."""
    base = Uris(text.strip()).base
    if not base.startswith(("http://", "https://")):
        raise RebaseError(f"the new base must be an http:// or https:// IRI, not {text!r}")
    try:
        ox.NamedNode(base)
    except ValueError as error:
        raise RebaseError(f"the new base is not an IRI: {text!r} ({error})") from error
    return base


def rebase(store: GraphStore, target: str,
           progress: Callable[[int, int], None] | None = None) -> RebaseSummary:
    """Move the store's IRIs under ``target``; ``progress(done, total)`` hears of each batch."""
    started = time.perf_counter()
    old = stored_base(store)
    if old is None:
        raise RebaseError("the store holds nothing yet: give --base to its first load instead")
    summary = RebaseSummary(old, new_base(target))
    if summary.old == summary.new:
        return summary
    graphs = sorted(name for name in store.graph_names("") if name != LEDGER)
    for start in range(0, len(graphs), BATCH):
        batch = graphs[start:start + BATCH]
        if store.in_process:
            _move(store, batch, _Mover(summary.old, summary.new))
        else:
            store.update(_rewrite(batch, summary.old, summary.new))
        if progress:
            progress(start + len(batch), len(graphs))
    uris = Uris(summary.new)
    reinstall(store, uris)  # the vocabularies' closure is stamped with its base
    store.replace([str(uris.named(TOKEN_GRAPH))], [])  # the pair counts are rebuilt
    record_base(store, summary.new)
    reindex(store, uris)
    summary.graphs = len(graphs)
    summary.seconds = time.perf_counter() - started
    return summary


class _Mover:
    """Moves the IRIs of terms from one base to another."""

    def __init__(self, old: str, new: str) -> None:
        self.old, self.new = old, new
        self.already = new.startswith(old)  # a new base under the old one: moved already

    def moves(self, term: object) -> bool:
        """Whether a term is an IRI under the old base, not yet moved."""
        return (isinstance(term, ox.NamedNode) and term.value.startswith(self.old)
                and not (self.already and term.value.startswith(self.new)))

    def term(self, term: Any) -> Any:
        """The term, moved if it is an IRI under the old base."""
        if self.moves(term):
            return ox.NamedNode(self.new + term.value[len(self.old):])
        return term

    def quad(self, quad: ox.Quad) -> ox.Quad | None:
        """The quad moved (None: it names nothing under the old base)."""
        if not any(self.moves(term) for term in quad):
            return None
        return ox.Quad(*(self.term(term) for term in quad))


def _move(store: GraphStore, graphs: list[str], mover: _Mover) -> None:
    """Move a batch of graphs in this process: the moved quads added, then the graphs moved
    away removed whole, and the quads moved out of the others removed."""
    old_quads: list[ox.Quad] = []
    new_quads: list[ox.Quad] = []
    for graph in graphs:
        for quad in store.quads(graph):
            moved = mover.quad(quad)
            if moved is not None:
                old_quads.append(quad)
                new_quads.append(moved)
    store.add_derived(new_quads)
    renamed = [graph for graph in graphs if mover.moves(ox.NamedNode(graph))]
    store.replace(renamed, [])
    store.remove_quads(quad for quad in old_quads
                       if not mover.moves(quad.graph_name))


def _rewrite(graphs: list[str], old: str, new: str) -> str:
    """The update that moves a batch of graphs' IRIs from ``old`` to ``new``: insert, then
    delete, in one request."""
    values = " ".join(f"<{graph}>" for graph in graphs)
    moved = " || ".join(_moves(name, old, new) for name in POSITIONS)
    binds = " ".join(
        f"BIND(IF({_moves(name, old, new)}, IRI(CONCAT({_string(new)}, "
        f"SUBSTR(STR(?{name}), {len(old) + 1}))), ?{name}) AS ?{name}2)"
        for name in POSITIONS)
    return (f"INSERT {{ GRAPH ?g2 {{ ?s2 ?p2 ?o2 }} }} WHERE {{ VALUES ?g {{ {values} }} "
            f"GRAPH ?g {{ ?s ?p ?o }} FILTER({moved}) {binds} }} ;\n"
            f"DELETE {{ GRAPH ?g {{ ?s ?p ?o }} }} WHERE {{ VALUES ?g {{ {values} }} "
            f"GRAPH ?g {{ ?s ?p ?o }} FILTER({moved}) }}")


def _moves(name: str, old: str, new: str) -> str:
    """Whether the term of variable ``name`` is an IRI under ``old`` not yet moved."""
    test = f"(isIRI(?{name}) && STRSTARTS(STR(?{name}), {_string(old)})"
    if new.startswith(old):  # a new base under the old one: its IRIs are moved already
        test += f" && !STRSTARTS(STR(?{name}), {_string(new)})"
    return test + ")"


def _string(text: str) -> str:
    return str(ox.Literal(text))
