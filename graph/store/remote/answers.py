"""A store's answer to a query read as pyoxigraph results (QuerySolutions, QueryBoolean,
QueryTriples), parsed as it streams in: small answers are read whole, large ones streamed, and
the store's own blank node labels written as SPARQL's.
"""

from __future__ import annotations

import io
from typing import IO, Any

import pyoxigraph as ox

from policykg.graph.store.interface import StoreError
from policykg.graph.store.remote.transport import (
    JSON_RESULTS,
    XML_RESULTS,
    QueryReply,
    StreamedAnswer,
    triples_answer,
)

EAGER_BYTES = 1 << 20    # answers up to this size are read whole (Virtuoso says its length)


def read_answer(response: QueryReply, form: str, host: str,
                bnode_pattern: bytes | None) -> Any:
    """The results of a query of ``form`` ("graph", "select", "ask") from the store at
    ``host``; ``bnode_pattern``: what the store writes before a blank node's label in JSON
    results, made SPARQL's own."""
    media = response.header("Content-Type").split(";")[0].strip()
    if form == "graph":
        return triples_answer(answer_body(response), media)
    if media not in (JSON_RESULTS, "application/json", XML_RESULTS):
        response.close()
        raise StoreError(f"the store at {host} answered a query with "
                         f"{media or 'no content type'}")
    if media == XML_RESULTS:
        body = answer_body(response, b"<bnode>nodeID://", b"<bnode>")
        return ox.parse_query_results(body, ox.QueryResultsFormat.XML)
    body = answer_body(response, bnode_pattern, b'"bnode", "value": "')
    return ox.parse_query_results(body, ox.QueryResultsFormat.JSON)


def answer_body(response: QueryReply, pattern: bytes | None = None,
                replacement: bytes = b"") -> IO[bytes]:
    """The answer as a file: read whole when it is small (its connection goes back to the
    pool at once), else streamed (a caller that stops early does not read the rest)."""
    length = response.header("Content-Length")
    if length.isdigit() and int(length) <= EAGER_BYTES:
        data = response.read()
        return io.BytesIO(data.replace(pattern, replacement) if pattern else data)
    # a file all the same: typeshed's typing.IO is a class io.RawIOBase does not derive from
    return StreamedAnswer(response, pattern, replacement)  # type: ignore[return-value]
