"""Virtuoso Open Source 7, as policykg speaks to it: what graph/data/virtuoso.toml says of it,
the SPARQL dialect that absorbs its deviations from SPARQL 1.1 (``VirtuosoDialect``, beside the
standard ``Dialect``), and the SQL that readies a new Virtuoso for policykg.

Virtuoso deviates from the SPARQL protocols in ways the dialect absorbs (see virtuoso.toml and
``VirtuosoDialect``): its default graph also holds its own system graphs (made private once,
``virtuoso_setup_sql``, so that the anonymous user queries run as does not see them; its
``input:*-graph-exclude`` pragmas would break ``GRAPH <iri>`` patterns); ``STRSTARTS(x, "")``
is false; blank nodes come back as ``nodeID://b123``; its TSV is not SPARQL TSV (JSON is read
instead); ``LIMIT``/``OFFSET`` without ``ORDER BY`` gives pages that overlap; it has no unnamed
default graph for updates; ``DROP GRAPH`` fails on a graph it did not see created and
``CLEAR ALL`` / ``DROP ALL`` clear nothing; it caps result rows (``ResultSetMaxRows``) and
answers a query that ran out of time with partial results (``X-SQL-State: S1TAT``), which are
refused here; its SPARQL Update is slow (it compiles INSERT DATA to SQL), so quads go to its
N-Quads loader instead.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib.resources import files
from typing import Any

from policykg.graph.rdf.sparql_text import body_index, operations


@cache
def virtuoso_profile() -> dict[str, Any]:
    """What policykg knows of Virtuoso (graph/data/virtuoso.toml)."""
    text = (files("policykg.graph") / "data" / "virtuoso.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


# --- dialects ----------------------------------------------------------------------------------

class Dialect:
    """Standard SPARQL 1.1: the store's own default graph is the union of its graphs."""

    name = "sparql11"
    default_graph: str | None = None      # the IRI standing for the default graph, if any
    bnode_pattern: bytes | None = None    # what to strip from blank node ids in JSON results
    system_graphs: tuple[str, ...] = ()   # graphs of the store itself, never policykg's
    index_texts: str | None = None        # what brings its free-text index in step, if needed

    def rewrite_update(self, text: str) -> str:
        """An update as this store must read it to do what SPARQL 1.1 says."""
        return text

    def blank(self, label: str) -> str:
        """A blank node of the store, written in a query (where blank nodes are variables)."""
        raise ValueError("a blank node cannot be bound in a query to this store")

    def query_parameters(self, timeout: float) -> dict[str, str]:
        """Extra parameters of a query request."""
        return {}


class VirtuosoDialect(Dialect):
    """Virtuoso Open Source 7: see graph/data/virtuoso.toml."""

    name = "virtuoso"
    bnode_pattern = b'"bnode", "value": "nodeID://'

    def __init__(self) -> None:
        profile = virtuoso_profile()
        self.system_graphs = tuple(profile["system_graphs"])
        self.default_graph = profile["default_graph"]
        self.index_texts = profile["index_texts"]

    def rewrite_update(self, text: str) -> str:
        """CLEAR/DROP ALL, NAMED, DEFAULT, DROP GRAPH, and INSERT/DELETE DATA of triples
        outside GRAPH, as SPARQL 1.1 defines them (Virtuoso has no unnamed default graph)."""
        return " ;\n".join(self._operation(text, start, end, found)
                            for start, end, found in operations(text) if found)

    def _operation(self, text: str, start: int, end: int, found: list) -> str:
        body = body_index(found)
        if body >= len(found):
            return text[start:end]
        prologue = text[start:found[body].start]
        words = [t.word for t in found[body:] if t.word != "SILENT"]
        keep = " && ".join(f"?g != <{g}>" for g in self.system_graphs) or "true"
        if words[0] in ("CLEAR", "DROP") and words[1:] in (["ALL"], ["NAMED"]):
            if words[1] == "NAMED":
                keep += f" && ?g != <{self.default_graph}>"
            return (prologue + "DELETE { GRAPH ?g { ?s ?p ?o } } "
                    f"WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER({keep}) }}")
        if words[0] in ("CLEAR", "DROP") and words[1:] == ["DEFAULT"]:
            return prologue + f"CLEAR SILENT GRAPH <{self.default_graph}>"
        if words[:2] == ["DROP", "GRAPH"]:
            return f"{prologue}DROP SILENT GRAPH {text[found[-1].start:end]}"
        if words[:2] in (["INSERT", "DATA"], ["DELETE", "DATA"]):
            return self._data(text, start, end, found, body)
        return text[start:end]

    def _data(self, text: str, start: int, end: int, found: list, body: int) -> str:
        """INSERT/DELETE DATA with the triples outside GRAPH put in the default graph."""
        opening = next(i for i in range(body, len(found)) if found[i].word == "{")
        closing = _closing(found, opening)
        triples, graphs, index = [], [], opening + 1
        piece = found[index].start
        while index < closing:
            if found[index].word == "GRAPH":
                triples.append(text[piece:found[index].start])
                block = _closing(found, index + 2)
                graphs.append(text[found[index].start:found[block].end])
                index = block + 1
                piece = found[index].start if index < closing else found[closing].start
                continue
            index += 1
        triples.append(text[piece:found[closing].start])
        kept = [t.strip().rstrip(".").strip() for t in triples]
        kept = [t for t in kept if t]
        if not kept:
            return text[start:end]
        default = f"GRAPH <{self.default_graph}> {{ {' . '.join(kept)} }}"
        return (text[start:found[opening].end] + f" {default} " + " ".join(graphs)
                + " " + text[found[closing].start:end])

    def blank(self, label: str) -> str:
        return f"<nodeID://{label}>"

    def query_parameters(self, timeout: float) -> dict[str, str]:
        return {"timeout": str(int(timeout * 1000))}


def _closing(found: list, index: int) -> int:
    """The index of the '}' closing the '{' at ``index``."""
    depth = 0
    for position in range(index, len(found)):
        if found[position].word == "{":
            depth += 1
        elif found[position].word == "}":
            depth -= 1
            if depth == 0:
                return position
    raise ValueError("unbalanced braces in the update")


def virtuoso_setup_sql() -> str:
    """The SQL (for isql-vt, as dba) that readies a Virtuoso for policykg: its system graphs
    private, so that queries (run as the anonymous user) see policykg's graphs only, and its
    free-text index over the literals that search reads."""
    group = "http://www.openlinksw.com/schemas/virtrdf#PrivateGraphs"
    lines = [f"DB.DBA.RDF_GRAPH_GROUP_CREATE ('{group}', 1);"]
    lines += [f"DB.DBA.RDF_GRAPH_GROUP_INS ('{group}', '{graph}');"
              for graph in virtuoso_profile()["system_graphs"]]
    lines += ["DB.DBA.RDF_DEFAULT_USER_PERMS_SET ('nobody', 1, 0);",
              "DB.DBA.RDF_DEFAULT_USER_PERMS_SET ('nobody', 0, 1);"]
    lines += [f"DB.DBA.RDF_OBJ_FT_RULE_ADD (null, '{predicate}', 'policykg {predicate}');"
              for predicate in virtuoso_profile()["searched_predicates"]]
    return "\n".join(lines) + "\n"
