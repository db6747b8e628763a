"""The labels of shared things in every language records give them.

A thing many records name (a keyword, a subject) has a graph of its own, written by the first
record that names it. A later record may name it in another language ("Economía" in a Spanish
record, "Economia" in a Portuguese one: one keyword, ``id/keyword/economia``): its labels in
languages the thing has none in yet are added to the thing's graph (and their entailments to
its inferred graph), so that a page shows the label of its own language. The first label given
in a language stays (SKOS: one preferred label per language).

What a thing's graph holds is asked of the store once a load, when a record first names the
thing in a language (an index seek on an embedded store, a request on a remote one).
"""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph as ox

from policykg.graph.store import GraphStore

Held = set[tuple[str, str]]  # (label property, language) pairs of a thing


class EntityLabels:
    """Which (property, language) labels each thing's graph holds; one instance per load."""

    def __init__(self, store: GraphStore) -> None:
        self._store = store
        self._held: dict[str, Held] = {}

    def written(self, graph: str, nquads: str) -> None:
        """A thing's graph is being written whole, with these N-Quads."""
        self._held[graph] = set()
        self._hold(graph, ox.parse(nquads, ox.RdfFormat.N_QUADS))

    def missing(self, graph: str, nquads: str) -> list[ox.Quad]:
        """The N-Quads of a thing's graph and its inferred graph (``nquads``, as a record
        would write them) in the languages of its labels that the graph holds none of; they
        are then held."""
        quads = list(ox.parse(nquads, ox.RdfFormat.N_QUADS))
        asserted = {label for quad in quads
                    if quad.graph_name == ox.NamedNode(graph) and (label := _label_of(quad))}
        if not asserted:
            return []
        new = asserted - self._of(graph)
        languages = {language for _, language in new}
        added = [quad for quad in quads if (label := _label_of(quad)) and label[1] in languages]
        self._held[graph] |= new
        return added

    def _of(self, graph: str) -> Held:
        if graph not in self._held:
            self._held[graph] = set()
            self._hold(graph, self._store.quads_matching(None, None, None, ox.NamedNode(graph)))
        return self._held[graph]

    def _hold(self, graph: str, quads: Iterable[ox.Quad]) -> None:
        held = self._held.setdefault(graph, set())
        held.update(label for quad in quads if (label := _label_of(quad)))


def _label_of(quad: ox.Quad) -> tuple[str, str] | None:
    """(property, language) of a quad whose object is a literal with a language tag."""
    literal = quad.object
    if isinstance(literal, ox.Literal) and literal.language:
        return quad.predicate.value, literal.language
    return None


def undo(quads: list[ox.Quad]) -> str:
    """The update that takes added quads out again (a write cut short is undone by it)."""
    data = " ".join(f"GRAPH {quad.graph_name} {{ {quad.subject} {quad.predicate} "
                    f"{quad.object} }}" for quad in quads)
    return f"DELETE DATA {{ {data} }}"
