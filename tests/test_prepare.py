"""Preparing records: the graphs of the things records name, remembered by content."""

from __future__ import annotations

import pickle

from policykg.graph.loading.prepare import EntityTexts

GRAPH = "<http://x/graph/person/a>"
ASSERTED = (f'<http://x/id/person/a> <http://xmlns.com/foaf/0.1/name> "A" {GRAPH} .\n'
            f"<http://x/id/person/a> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
            f"<http://xmlns.com/foaf/0.1/Person> {GRAPH} .\n")


def _entailed(computed: list[str]):
    def entail(name: str) -> str:
        computed.append(name)
        return f"<http://x/id/person/a> <http://x/p> <http://x/{name}> <http://x/i> .\n"
    return entail


def test_an_entity_graph_named_again_is_taken_from_memory_whatever_its_triples_order():
    computed: list[str] = []
    texts = EntityTexts()
    first = texts.get(ASSERTED, _entailed(computed), "first")
    reordered = "".join(reversed(ASSERTED.splitlines(keepends=True)))
    assert texts.get(reordered, _entailed(computed), "again") == first
    assert first.startswith(ASSERTED) and computed == ["first"]


def test_other_triples_for_the_same_graph_are_computed_for_themselves():
    computed: list[str] = []
    texts = EntityTexts()
    texts.get(ASSERTED, _entailed(computed), "first")
    renamed = ASSERTED.replace('"A"', '"A."')
    assert texts.get(renamed, _entailed(computed), "renamed").startswith(renamed)
    assert computed == ["first", "renamed"]


def test_only_the_last_used_texts_are_remembered():
    computed: list[str] = []
    texts = EntityTexts(size=2)
    graphs = {n: ASSERTED.replace("person/a", f"person/{n}") for n in "abc"}
    for name in "abcca":
        texts.get(graphs[name], _entailed(computed), name)
    assert computed == ["a", "b", "c", "a"]  # c was remembered, a forgotten


def test_a_worker_process_gets_the_size_not_the_texts():
    texts = EntityTexts(size=5)
    texts.get(ASSERTED, _entailed([]), "first")
    copy = pickle.loads(pickle.dumps(texts))
    computed: list[str] = []
    copy.get(ASSERTED, _entailed(computed), "again")
    assert (copy.size, computed) == (5, ["again"])
