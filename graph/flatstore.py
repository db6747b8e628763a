"""A lean in-memory rdflib store for the graphs the loader builds and pyshacl reads.

rdflib's default ``Memory`` store keeps every triple's contexts and looks them up on every match,
which made up a third of the SHACL run over a batch. ``FlatStore`` holds one graph: three
indexes (subject, predicate, object first) of plain dicts and sets, and no contexts. It
declares itself context and graph aware only so that pyshacl (which wraps its data graph in an
rdflib Dataset) accepts it; every context argument is ignored, so put one graph in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from rdflib import Graph, URIRef
from rdflib.store import Store
from rdflib.term import Node

Triple = tuple[Node, Node, Node]
_NO_CONTEXTS: tuple = ()


class FlatStore(Store):
    """One graph's triples, indexed three ways; contexts are ignored."""

    context_aware = True
    graph_aware = True

    def __init__(self, configuration: str | None = None, identifier: Node | None = None) -> None:
        super().__init__(configuration)
        self.identifier = identifier
        self._spo: dict[Node, dict[Node, set[Node]]] = {}
        self._pos: dict[Node, dict[Node, set[Node]]] = {}
        self._osp: dict[Node, dict[Node, set[Node]]] = {}
        self._size = 0
        self._namespaces: dict[str, URIRef] = {}
        self._prefixes: dict[URIRef, str] = {}

    def add(self, triple: Triple, context: object = None, quoted: bool = False) -> None:
        """Add a triple (the context is ignored)."""
        s, p, o = triple
        by_predicate = self._spo.setdefault(s, {})
        objects = by_predicate.get(p)
        if objects is None:
            objects = by_predicate[p] = set()
        elif o in objects:
            return
        objects.add(o)
        self._pos.setdefault(p, {}).setdefault(o, set()).add(s)
        self._osp.setdefault(o, {}).setdefault(s, set()).add(p)
        self._size += 1

    def add_triples(self, triples: Iterable[Triple]) -> None:
        """Add many triples."""
        add = self.add
        for triple in triples:
            add(triple)

    def addN(self, quads: Iterable[tuple]) -> None:  # rdflib's name
        """Add quads (their graphs are ignored)."""
        for s, p, o, _ in quads:
            self.add((s, p, o))

    def remove(self, triple: tuple, context: object = None) -> None:
        """Remove the triples matching a pattern."""
        for found, _ in list(self.triples(triple)):
            s, p, o = found
            self._discard(self._spo, s, p, o)
            self._discard(self._pos, p, o, s)
            self._discard(self._osp, o, s, p)
            self._size -= 1

    @staticmethod
    def _discard(index: dict, a: Node, b: Node, c: Node) -> None:
        inner = index[a]
        leaf = inner[b]
        leaf.discard(c)
        if not leaf:
            del inner[b]
            if not inner:
                del index[a]

    def triples(self, triple_pattern: tuple, context: object = None) -> Iterator[tuple]:
        """The triples matching a pattern (None is a wildcard), each with no contexts."""
        s, p, o = triple_pattern
        if s is not None:
            by_predicate = self._spo.get(s)
            if by_predicate is None:
                return
            if p is not None:
                objects = by_predicate.get(p)
                if objects is None:
                    return
                if o is not None:
                    if o in objects:
                        yield (s, p, o), _NO_CONTEXTS
                    return
                for obj in list(objects):
                    yield (s, p, obj), _NO_CONTEXTS
                return
            for pred, objects in list(by_predicate.items()):
                if o is None:
                    for obj in list(objects):
                        yield (s, pred, obj), _NO_CONTEXTS
                elif o in objects:
                    yield (s, pred, o), _NO_CONTEXTS
        elif p is not None:
            by_object = self._pos.get(p)
            if by_object is None:
                return
            if o is not None:
                for subj in list(by_object.get(o, ())):
                    yield (subj, p, o), _NO_CONTEXTS
                return
            for obj, subjects in list(by_object.items()):
                for subj in list(subjects):
                    yield (subj, p, obj), _NO_CONTEXTS
        elif o is not None:
            for subj, predicates in list(self._osp.get(o, {}).items()):
                for pred in list(predicates):
                    yield (subj, pred, o), _NO_CONTEXTS
        else:
            for subj, by_predicate in list(self._spo.items()):
                for pred, objects in list(by_predicate.items()):
                    for obj in list(objects):
                        yield (subj, pred, obj), _NO_CONTEXTS

    def subjects(self) -> Iterable[Node]:
        """The distinct subjects."""
        return self._spo.keys()

    def __len__(self, context: object = None) -> int:
        return self._size

    def contexts(self, triple: tuple | None = None) -> Iterator:
        """No contexts."""
        return iter(())

    def add_graph(self, graph: Graph) -> None:
        """Graphs are not kept apart: nothing to do."""

    def remove_graph(self, graph: Graph) -> None:
        """Graphs are not kept apart: nothing to do."""

    def bind(self, prefix: str, namespace: URIRef, override: bool = True) -> None:
        """Bind a prefix (as rdflib's Memory store does, without the replacement rules)."""
        if not override and (prefix in self._namespaces or namespace in self._prefixes):
            return
        old = self._namespaces.pop(prefix, None)
        if old is not None:
            self._prefixes.pop(old, None)
        self._prefixes.pop(namespace, None)
        self._namespaces[prefix] = namespace
        self._prefixes[namespace] = prefix

    def namespace(self, prefix: str) -> URIRef | None:
        return self._namespaces.get(prefix)

    def prefix(self, namespace: URIRef) -> str | None:
        return self._prefixes.get(namespace)

    def namespaces(self) -> Iterator[tuple[str, URIRef]]:
        return iter(list(self._namespaces.items()))


def flat_graph(triples: Iterable[Triple] = ()) -> Graph:
    """A Graph on a new FlatStore holding some triples, with no namespace bindings."""
    store = FlatStore()
    store.add_triples(triples)
    return Graph(store=store, bind_namespaces="none")
