"""JSON-LD documents are compacted with the context the app serves at {base}context.jsonld:
readable keys rather than full IRIs, and still the same triples for rdflib and pyld.

Served by the ``site`` fixture of test_linked_data (its base is its own address, so a JSON-LD
processor fetches the context from the app itself).
"""

from __future__ import annotations

import json
import random
from importlib.resources import files

import pyoxigraph as ox
import pytest
from conftest import fetch
from pyld import jsonld
from rdflib import Graph
from rdflib.compare import isomorphic
from test_linked_data import site as site  # the shared session fixture

from policykg.webapp.linked_data.jsonld import compacted

DOCUMENTS = ["doc/publication/IDB-LM-00577", "doc/person/rabellotti-roberta", "doc/jel/O3",
             "graph/publication/IDB-LM-00577"]


def keys(node: object) -> set[str]:
    """Every key of a JSON value, at any depth."""
    if isinstance(node, dict):
        return set(node).union(*(keys(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(keys(value) for value in node))
    return set()


def test_the_context_is_served_at_a_stable_address_from_the_repository_file(site):
    reply = fetch(site.iri("context.jsonld"))

    assert reply.status == 200 and reply.media == "application/ld+json"
    shipped = files("policykg.webapp.linked_data").joinpath("context.jsonld").read_text()
    assert reply.json() == json.loads(shipped)


def test_a_json_ld_document_has_readable_keys(site):
    document = fetch(site.iri("doc/publication/IDB-LM-00577"),
                     headers={"Accept": "application/ld+json"}).json()

    assert document["@context"] == site.iri("context.jsonld")
    [publication] = [n for n in document["@graph"] if n["id"] == site.iri(
        "id/publication/IDB-LM-00577")]
    assert {"title", "creator", "issued", "jel", "keyword", "doi", "publisher",
            "language"} <= set(publication)
    assert publication["authorList"] == [site.iri("id/person/rabellotti-roberta"),
                                         site.iri("id/person/conz-elisa")]
    assert not [key for key in keys(document) if key.startswith(("http://", "https://"))]


@pytest.mark.parametrize("path", DOCUMENTS)
def test_a_compacted_document_parses_into_the_same_triples_with_rdflib(site, path):
    compact = fetch(site.iri(path + ".jsonld")).body
    triples = fetch(site.iri(path + ".nt")).body

    from_jsonld = Graph().parse(data=compact, format="json-ld")
    from_nt = Graph().parse(data=triples, format="nt")
    assert len(from_nt) > 10
    assert isomorphic(from_jsonld, from_nt)


def test_a_compacted_document_parses_into_the_same_triples_with_pyld(site):
    def load(url: str, options: dict | None = None) -> dict:
        reply = fetch(url)
        return {"contextUrl": None, "documentUrl": url, "document": reply.json()}

    compact = fetch(site.iri("doc/publication/IDB-LM-00577.jsonld")).json()
    nquads = jsonld.to_rdf(compact, {"format": "application/n-quads", "documentLoader": load})

    from_pyld = Graph().parse(data=nquads, format="nt")
    from_nt = Graph().parse(data=fetch(site.iri("doc/publication/IDB-LM-00577.nt")).body,
                            format="nt")
    assert isomorphic(from_pyld, from_nt)


def test_the_same_triples_in_any_order_give_the_same_bytes(site):
    """An ETag is a hash of the bytes: a store that answers in another order must not change it."""
    triples = list(ox.parse(fetch(site.iri("doc/publication/IDB-LM-00577.nt")).body,
                            format=ox.RdfFormat.N_TRIPLES))
    context, topic = site.iri("context.jsonld"), site.iri("id/publication/IDB-LM-00577")

    first = compacted(triples, context, topic)
    assert all(compacted(random.Random(seed).sample(triples, len(triples)), context, topic)
               == first
               for seed in range(5))
    publication = json.loads(first)["@graph"][0]
    assert publication["authorList"] == [site.iri("id/person/rabellotti-roberta"),
                                         site.iri("id/person/conz-elisa")]
