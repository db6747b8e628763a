"""Queries and updates checked by pyoxigraph before they reach a remote store, so that a syntax
error reads the same on every store and nothing but SPARQL 1.1 is sent.
"""

from __future__ import annotations

import re

import pyoxigraph as ox

from policykg.graph.rdf.sparql_text import check_nesting, short_texts_cached, tokens

_SERVICE = re.compile(r"(?i)\bservice\b")
_LOAD = re.compile(r"(?i)\bload\b")
_SCRATCH = ox.Store()    # parses queries (empty: evaluating nothing) for their syntax and form


def query_form(sparql: str, base_iri: str | None = None,
               prefixes: dict[str, str] | None = None) -> str:
    """The form of a query (select, ask, graph), its syntax checked by pyoxigraph (SyntaxError
    as on the embedded store). A query with SERVICE is not evaluated here (it would call out):
    its form is read from its first keyword. A query nested too deep for the parser is refused
    first (TooDeep, a ValueError). Forms of the last short queries are kept."""
    check_nesting(sparql)
    if prefixes:
        return _query_form(sparql, base_iri, tuple(sorted(prefixes.items())))
    return _query_form(sparql, base_iri, ())


@short_texts_cached(1024)
def _query_form(sparql: str, base_iri: str | None,
                prefix_items: tuple[tuple[str, str], ...]) -> str:
    prefixes = dict(prefix_items) or None
    if _SERVICE.search(sparql):
        found = [t.word for t in tokens(sparql) if t.kind == "name"]
        word = next((w for w in found if w in ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")), "")
        return {"SELECT": "select", "ASK": "ask"}.get(word, "graph")
    result = _SCRATCH.query(sparql, base_iri=base_iri, prefixes=prefixes,
                            use_default_graph_as_union=True)
    if isinstance(result, ox.QueryBoolean):
        return "ask"
    return "graph" if isinstance(result, ox.QueryTriples) else "select"


def check_update(sparql: str, base_iri: str | None = None) -> None:
    """Raise SyntaxError, as the embedded store would, for an update pyoxigraph cannot parse.
    (It is run on an empty store in memory, where its errors other than syntax do not matter;
    an update with LOAD or SERVICE is left to the store: it would call out.) An update nested
    too deep for the parser is refused first (TooDeep, a ValueError)."""
    check_nesting(sparql)
    if _SERVICE.search(sparql) or _LOAD.search(sparql):
        return
    try:
        ox.Store().update(sparql, base_iri=base_iri)
    except SyntaxError:
        raise
    except Exception:  # evaluated on an empty store: only the syntax counts
        pass
