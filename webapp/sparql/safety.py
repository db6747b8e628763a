"""Nothing a client sends makes this server call another host: SERVICE is refused unless its
endpoint is allowed, LOAD is refused; and the protocol's using-graph parameters become USING
clauses of an update.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from policykg.graph.rdf.sparql_text import tokens
from policykg.webapp.context import app_settings
from policykg.webapp.sparql.requests import ProtocolError


def with_using(text: str, using: list[str], using_named: list[str]) -> str:
    """An update with the protocol's using-graph-uri / using-named-graph-uri as USING clauses.

    They apply to every DELETE/INSERT ... WHERE operation; an update that has its own USING or
    WITH cannot take them (400).
    """
    if not using and not using_named:
        return text
    clauses = "".join(f"USING <{iri}> " for iri in using)
    clauses += "".join(f"USING NAMED <{iri}> " for iri in using_named)
    pieces, last, depth, previous = [], 0, 0, ""
    for token in tokens(text):
        kind, word, offset = token.kind, token.word, token.start
        if kind == "punct" and word in "{}":
            depth += 1 if word == "{" else -1
        elif depth == 0 and kind == "name":
            if word in ("USING", "WITH"):
                raise ProtocolError(400, f"the update has its own {word} clause: it cannot "
                                         "also take using-graph-uri or using-named-graph-uri")
            if word == "WHERE" and previous != "DELETE":
                pieces += [text[last:offset], clauses]
                last = offset
        if depth == 0:
            previous = word
    return "".join([*pieces, text[last:]])


_SERVICE = re.compile(r"(?i)\bservice\b")
_LOAD = re.compile(r"(?i)\bload\b")


def check_safety(text: str, update: bool) -> None:
    """Refuse SERVICE outside ``service_allow`` and LOAD: no request may make us call out.

    Only a request whose text has the word SERVICE (or LOAD) can do either; such a request is
    parsed with rdflib and refused when it names a SERVICE endpoint that is not allowed (or a
    variable), LOAD, or cannot be parsed.
    """
    words = [w for w, p in (("SERVICE", _SERVICE), ("LOAD", _LOAD)) if p.search(text)]
    if not words or (words == ["LOAD"] and not update):
        return
    try:
        nodes = list(_algebra_nodes(text, update))
    except Exception as error:
        raise ProtocolError(400, f"the request mentions {' and '.join(words)} and could not be "
                                 f"checked, so it is refused: {error}") from error
    allowed = set(app_settings().service_allow)
    for node in nodes:
        if node.name == "Load":
            raise ProtocolError(400, "LOAD is not allowed: this server fetches nothing")
        if node.name == "ServiceGraphPattern" and str(node.term) not in allowed:
            raise ProtocolError(400, f"SERVICE {node.term.n3()} is not allowed: federated "
                                     "queries may only call the endpoints in service_allow")


def _algebra_nodes(text: str, update: bool) -> Iterator[Any]:
    from rdflib.plugins.sparql.algebra import translateQuery, translateUpdate
    from rdflib.plugins.sparql.parser import parseQuery, parseUpdate
    from rdflib.plugins.sparql.parserutils import CompValue

    root = translateUpdate(parseUpdate(text)).algebra if update else (
        translateQuery(parseQuery(text)).algebra)
    stack: list[Any] = [root]
    while stack:
        value = stack.pop()
        if isinstance(value, CompValue):
            yield value
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list | tuple):
            stack.extend(value)
