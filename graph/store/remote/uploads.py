"""Quads sent to a remote store in few, whole requests: grouped in families (a graph with its
entailments graph, the families that carry a content hash last), then posted as N-Quads chunks
to Virtuoso's own loader, or graph by graph with the Graph Store Protocol to any other store;
and a graph replaced whole in one step by more quads than one update takes, through a staging
graph.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from typing import Any

import pyoxigraph as ox

from policykg.graph.rdf.terms import serialized
from policykg.graph.store.interface import CONTENT_HASH, StoreError, exchange_update
from policykg.graph.store.remote.transport import JSON_RESULTS, N_TRIPLES, Endpoints, WriteClient
from policykg.graph.store.remote.virtuoso import virtuoso_profile


def load_into_virtuoso(writer: WriteClient, endpoints: Endpoints, timeout: float,
                       families: list[list[ox.Quad]]) -> None:
    """Chunks of N-Quads (whole families, at most chunk_bytes each) to Virtuoso's loader;
    a family larger than that (a tally graph) goes in pieces cut between subjects."""
    profile = virtuoso_profile()
    limit = profile["chunk_bytes"]
    query = profile["load_query"].format(default_graph=profile["default_graph"])
    chunk: list[bytes] = []
    size = 0
    for family in families:
        for data in pieces(family, limit):
            if chunk and size + len(data) > limit:
                _post_nquads(writer, endpoints, timeout, query, b"".join(chunk))
                chunk, size = [], 0
            chunk.append(data)
            size += len(data)
    if chunk:
        _post_nquads(writer, endpoints, timeout, query, b"".join(chunk))


def _post_nquads(writer: WriteClient, endpoints: Endpoints, timeout: float, query: str,
                 data: bytes) -> None:
    writer.send(
        "POST", endpoints.update, timeout=timeout, what="load",
        data={"query": query}, files={"data": ("quads.nq", data, "application/n-quads")},
        headers={"Accept": JSON_RESULTS})


def post_graphs(writer: WriteClient, endpoints: Endpoints, timeout: float,
                families: list[list[ox.Quad]]) -> None:
    """Each graph POSTed (added to) at the Graph Store endpoint, as N-Triples."""
    for family in families:
        by_graph: dict[Any, list[ox.Triple]] = {}
        for quad in family:
            by_graph.setdefault(quad.graph_name, []).append(quad.triple)
        for graph, triples in by_graph.items():
            params = ({"default": ""} if isinstance(graph, ox.DefaultGraph)
                      else {"graph": graph.value})
            data = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
            writer.send(
                "POST", endpoints.graph_store or "", timeout=timeout,
                what="Graph Store write", params=params, content=data,
                headers={"Content-Type": N_TRIPLES})


def families(quads: Iterable[ox.Quad]) -> list[list[ox.Quad]]:
    """Quads grouped by graph and its entailments graph ({base}graph/inferred/K/X goes with
    {base}graph/K/X), in order; the families holding a content hash last."""
    grouped: dict[str, list[ox.Quad]] = {}
    hashed: set[str] = set()
    for quad in quads:
        graph = quad.graph_name
        key = graph.value.replace("/graph/inferred/", "/graph/", 1) \
            if isinstance(graph, ox.NamedNode) else ""
        grouped.setdefault(key, []).append(quad)
        if quad.predicate == CONTENT_HASH:
            hashed.add(key)
    return ([f for k, f in grouped.items() if k not in hashed]
            + [f for k, f in grouped.items() if k in hashed])


def pieces(family: list[ox.Quad], limit: int) -> Iterator[bytes]:
    """A family as N-Quads, in pieces of about ``limit`` bytes at most, cut only where the
    subject changes and no blank node of the piece so far is named again (a blank node's
    triples stay in one request: Virtuoso's loader names blank nodes per request)."""
    data = serialized(family, ox.RdfFormat.N_QUADS)
    if len(data) <= limit:
        yield data
        return
    piece: list[ox.Quad] = []
    blanks: set[ox.BlankNode] = set()
    size = 0
    for quad in family:
        terms = {t for t in (quad.subject, quad.object) if isinstance(t, ox.BlankNode)}
        if (size > limit and piece and quad.subject != piece[-1].subject
                and not terms & blanks):
            yield serialized(piece, ox.RdfFormat.N_QUADS)
            piece, blanks, size = [], set(), 0
        piece.append(quad)
        blanks |= terms
        size += len(str(quad)) + 2
    if piece:
        yield serialized(piece, ox.RdfFormat.N_QUADS)



STAGING = "urn:x-policykg:staging:"  # before the name of a graph being staged


def replace_staged(send: Callable[[str], None], graph: ox.NamedNode, added: list[ox.Quad],
                   size: int) -> None:
    """A graph replaced whole by more quads than one update takes (a store turns an update
    into code of bounded size: Virtuoso refuses one whose SQL passes 10,000 lines): the quads
    ``send`` in updates of about ``size`` to a staging graph, a subject's together (its blank
    nodes stay one), then moved over the graph in one update, so that a reader sees the old
    graph or the new one. The staging graph is dropped if a step fails."""
    staging = ox.NamedNode(f"{STAGING}{uuid.uuid4().hex}")
    try:
        for piece in by_subject(added, size):
            send(exchange_update([], [ox.Quad(q.subject, q.predicate, q.object, staging)
                                      for q in piece]))
        send(f"MOVE SILENT GRAPH {staging} TO GRAPH {graph}")
    except BaseException:
        with suppress(StoreError, ValueError, OSError):
            send(f"DROP SILENT GRAPH {staging}")
        raise


def by_subject(quads: list[ox.Quad], size: int) -> Iterator[list[ox.Quad]]:
    """Quads in pieces of about ``size``, each subject's quads in one piece."""
    subjects: dict[Any, list[ox.Quad]] = {}
    for quad in quads:
        subjects.setdefault(quad.subject, []).append(quad)
    piece: list[ox.Quad] = []
    for group in subjects.values():
        if piece and len(piece) + len(group) > size:
            yield piece
            piece = []
        piece += group
    if piece:
        yield piece
