"""A lean in-memory rdflib store for the graphs the loader builds and pyshacl reads.

rdflib's default ``Memory`` store keeps every triple's contexts and looks them up on every match,
which made up a third of the SHACL run over a batch. ``FlatStore`` holds one graph in plain
dicts and sets, and no contexts. It declares itself context and graph aware only so that
pyshacl (which wraps its data graph in an rdflib Dataset) accepts it; every context argument is
ignored, so put one graph in it.

Triples are indexed by subject as they are added; the predicate-first index is built for a
predicate the first time a pattern asks for its subjects, and the object-first index the first
time a pattern gives only an object. pyshacl asks for a predicate's subjects for a few
predicates (its targets) and never by object alone, so a batch's graph is built a third as
dearly as with three full indexes.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator

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
        self._pos: dict[Node, dict[Node, set[Node]]] = {}  # only the predicates asked for
        self._osp: dict[Node, dict[Node, set[Node]]] | None = None  # once asked for
        self._size = 0
        self._namespaces: dict[str, URIRef] = {}
        self._prefixes: dict[URIRef, str] = {}

    def add(self, triple: Triple, context: object = None, quoted: bool = False) -> None:
        """Add a triple (the context is ignored)."""
        s, p, o = triple
        by_predicate = self._spo.get(s)
        if by_predicate is None:
            by_predicate = self._spo[s] = {}
        objects = by_predicate.get(p)
        if objects is None:
            objects = by_predicate[p] = set()
        elif o in objects:
            return
        objects.add(o)
        self._size += 1
        by_object = self._pos.get(p)
        if by_object is not None:
            by_object.setdefault(o, set()).add(s)
        if self._osp is not None:
            self._osp.setdefault(o, {}).setdefault(s, set()).add(p)

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
            if p in self._pos:
                self._discard(self._pos, p, o, s, keep=True)
            if self._osp is not None:
                self._discard(self._osp, o, s, p)
            self._size -= 1

    @staticmethod
    def _discard(index: dict, a: Node, b: Node, c: Node, keep: bool = False) -> None:
        """Remove c under index[a][b], dropping what is left empty (index[a] itself kept when
        ``keep``: a predicate's index, which stays built)."""
        inner = index[a]
        leaf = inner[b]
        leaf.discard(c)
        if not leaf:
            del inner[b]
            if not inner and not keep:
                del index[a]

    def _by_object(self, predicate: Node) -> dict[Node, set[Node]]:
        """The subjects of a predicate by object (built the first time it is asked for)."""
        by_object = self._pos.get(predicate)
        if by_object is None:
            by_object = {}  # whole before it is kept, for a reader in another thread
            for subject, by_predicate in self._spo.items():
                for obj in by_predicate.get(predicate, ()):
                    by_object.setdefault(obj, set()).add(subject)
            self._pos[predicate] = by_object
        return by_object

    def _by_subject_of(self) -> dict[Node, dict[Node, set[Node]]]:
        """The object-first index (built the first time it is asked for)."""
        if self._osp is None:
            osp: dict[Node, dict[Node, set[Node]]] = {}
            for subject, by_predicate in self._spo.items():
                for predicate, objects in by_predicate.items():
                    for obj in objects:
                        osp.setdefault(obj, {}).setdefault(subject, set()).add(predicate)
            self._osp = osp
        return self._osp

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
            by_object = self._by_object(p)
            if o is not None:
                for subj in list(by_object.get(o, ())):
                    yield (subj, p, o), _NO_CONTEXTS
                return
            for obj, subjects in list(by_object.items()):
                for subj in list(subjects):
                    yield (subj, p, obj), _NO_CONTEXTS
        elif o is not None:
            for subj, predicates in list(self._by_subject_of().get(o, {}).items()):
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

    def contexts(self, triple: tuple | None = None) -> Generator[Graph, None, None]:
        """No contexts (a generator, as rdflib's Store says)."""
        yield from ()

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


def flat_graph(triples: Iterable[Triple] = (),
               namespaces: Iterable[tuple[str, URIRef]] = ()) -> Graph:
    """A Graph on a new FlatStore holding some triples, with only the given namespace bindings
    (e.g. another graph's ``namespaces()``)."""
    store = FlatStore()
    store.add_triples(triples)
    graph = Graph(store=store, bind_namespaces="none")
    for prefix, namespace in namespaces:
        graph.bind(prefix, namespace)
    return graph
