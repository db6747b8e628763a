"""The lean store the loader validates on (policykg.graph.rdf.flatstore): whatever the pattern,
and whenever its lazily built indexes are built, it finds what rdflib's own store finds."""

from __future__ import annotations

import itertools
import random

import pytest
from rdflib import Graph, Literal, URIRef

from policykg.graph.rdf.flatstore import flat_graph

EX = "http://example.org/"
NODES = [URIRef(f"{EX}n{i}") for i in range(6)]
PREDICATES = [URIRef(f"{EX}p{i}") for i in range(3)]
OBJECTS = [*NODES, Literal("a"), Literal("a", lang="en"), Literal(1)]


def some_triples(seed: int, count: int = 60) -> list[tuple]:
    rng = random.Random(seed)
    return [(rng.choice(NODES), rng.choice(PREDICATES), rng.choice(OBJECTS))
            for _ in range(count)]


def patterns() -> list[tuple]:
    """Every kind of pattern: each position bound (to a present or an absent term) or not."""
    absent = URIRef(f"{EX}absent")
    return list(itertools.product([None, NODES[0], absent], [None, PREDICATES[0], absent],
                                  [None, NODES[1], Literal("a"), absent]))


def same(flat: Graph, memory: Graph) -> None:
    assert len(flat) == len(memory)
    for pattern in patterns():
        assert set(flat.triples(pattern)) == set(memory.triples(pattern)), pattern


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_pattern_finds_what_rdflib_finds(seed):
    triples = some_triples(seed)
    memory = Graph()
    for triple in triples:
        memory.add(triple)
    same(flat_graph(triples), memory)


@pytest.mark.parametrize("seed", [4, 5])
def test_adds_and_removes_after_the_indexes_are_built_are_seen_by_every_pattern(seed):
    triples = some_triples(seed)
    flat, memory = flat_graph(triples[:30]), Graph()
    for triple in triples[:30]:
        memory.add(triple)
    same(flat, memory)  # builds the predicate and object indexes
    for triple in triples[30:]:
        flat.add(triple)
        memory.add(triple)
    same(flat, memory)
    for pattern in [(NODES[2], None, None), (None, PREDICATES[1], None), (None, None, NODES[3])]:
        flat.remove(pattern)
        memory.remove(pattern)
        same(flat, memory)


def test_a_predicate_asked_for_before_it_has_triples_is_found_once_added():
    flat = flat_graph()
    assert list(flat.subjects(PREDICATES[0], NODES[1])) == []
    flat.add((NODES[0], PREDICATES[0], NODES[1]))
    assert list(flat.subjects(PREDICATES[0], NODES[1])) == [NODES[0]]
    assert list(flat.subjects(None, NODES[1])) == [NODES[0]]
