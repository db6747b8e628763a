"""A query's text as a remote store is sent it: pyoxigraph's query options (``substitutions``,
``default_graph``, ``named_graphs``, ``base_iri``, ``prefixes``) written into the text
(``policykg.graph.rdf.sparql_text``), in the store's dialect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyoxigraph as ox

from policykg.graph.rdf.sparql_text import (
    EMPTY_GRAPH,
    has_dataset_clause,
    with_dataset,
    with_ordered_pages,
    with_values,
)
from policykg.graph.store.remote.virtuoso import Dialect


def prepared_text(sparql: str, dialect: Callable[[], Dialect], *, base_iri: str | None = None,
                  prefixes: dict[str, str] | None = None,
                  use_default_graph_as_union: bool = True, default_graph: Any = None,
                  named_graphs: Any = None,
                  substitutions: dict[ox.Variable, Any] | None = None) -> str:
    """The text sent for ``sparql`` with these options; ``dialect`` gives the store's dialect,
    asked only when an option needs it."""
    text = _rewrite(with_ordered_pages(sparql), dialect, substitutions, default_graph,
                    named_graphs, use_default_graph_as_union)
    prologue = "".join(f"PREFIX {name}: <{iri}>\n" for name, iri in (prefixes or {}).items())
    if base_iri:
        prologue = f"BASE <{base_iri}>\n" + prologue
    return prologue + text


def _rewrite(text: str, dialect: Callable[[], Dialect],
             substitutions: dict[ox.Variable, Any] | None,
             default_graph: Any, named_graphs: Any, union: bool) -> str:
    if substitutions:
        text = with_values(text, {v.value: _term(t, dialect) for v, t in substitutions.items()})
    if default_graph is not None or named_graphs is not None:
        default = [_graph_iri(g, dialect) for g in _as_list(default_graph)]
        named = [_graph_iri(g, dialect) for g in _as_list(named_graphs)]
        text = with_dataset(text, default, named)
    elif not union and not has_dataset_clause(text):
        text = with_dataset(text, [dialect().default_graph or EMPTY_GRAPH], [])
    return text


def _term(term: Any, dialect: Callable[[], Dialect]) -> str:
    if isinstance(term, ox.BlankNode):
        return dialect().blank(term.value)
    if isinstance(term, ox.Triple):
        raise ValueError("a triple term cannot be bound in a query to a remote store")
    return str(term)


def _graph_iri(graph: Any, dialect: Callable[[], Dialect]) -> str:
    if isinstance(graph, ox.DefaultGraph):
        return dialect().default_graph or EMPTY_GRAPH
    return graph.value


def _as_list(graphs: Any) -> list[Any]:
    if graphs is None:
        return []
    return list(graphs) if isinstance(graphs, list | tuple) else [graphs]
