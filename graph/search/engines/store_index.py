"""Search with a remote store's own free-text index (Virtuoso's ``bif:contains``), so that every
app server in front of a shared store searches the same index, and none keeps a copy.

A load writes each publication's texts into its aggregate graph, analyzed here
(``analysis``: folded, and stemmed in their language) so that the store's word matching needs
no language of its own: ``pkg:searchText`` (everything), ``pkg:searchTitle``,
``pkg:searchAbstract``, ``pkg:searchTopics``, ``pkg:searchPeople`` (for a field's terms). A
query term is looked for as each of its analyzed forms; the facets are counted by SPARQL over
the same aggregates the named queries read.
"""

from __future__ import annotations

import functools
import os
import re
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pyoxigraph as ox

from policykg.graph.rdf.namespaces import PKG
from policykg.graph.rdf.queries import QueryFolder
from policykg.graph.search import syntax
from policykg.graph.search.analysis import STEMMED, analyze, base_language, words
from policykg.graph.search.document import SearchDocument
from policykg.graph.search.request import (
    MANY_VALUED,
    TOP,
    Hit,
    SearchRequest,
    SearchResult,
)
from policykg.graph.search.sparql import PLACEHOLDER, MatchPattern, values_block

if TYPE_CHECKING:
    from policykg.graph.store.remote import RemoteStore

QUERIES = QueryFolder("policykg.graph.search", "queries")
FIELDS = {None: "searchText", "title": "searchTitle", "abstract": "searchAbstract",
          "keyword": "searchTopics", "author": "searchPeople"}
SEARCH_PROPERTIES = tuple(PKG + name for name in FIELDS.values())
PREFIX_LEADING = 4  # characters a prefix needs before its '*' (Virtuoso's rule)
TAG = "lg"  # before a stemmed word's language code
HIDDEN = "pkgMatch_"  # before the variables of a pkg:matches sub-query, out of a query's way
SEARCH_THREADS = 12  # a search's queries in flight at once: its total, hits and facets
# How each filter and facet reads a publication's values (?p: the publication).
PATTERNS = {
    "type": "?p dcterms:type ?value",
    "division": "?p pkg:division ?division . ?division org:transitiveSubOrganizationOf? ?value",
    "jel": "?p pkg:jelRollup ?value",
    "region": "?p pkg:regionRollup ?value",
    "language": "?p dcterms:language ?value",
    "author": "?p dcterms:creator ?value",
    "keyword": "?p pkg:keyword ?value",
    "year": "?p pkg:issuedYear ?value",
}
ORDERS = {"relevance": "DESC(?best)", "newest": "DESC(?date)", "oldest": "ASC(?date)",
          "title": "ASC(?sortTitle)"}


def search_text_quads(found: SearchDocument, graph: ox.NamedNode) -> list[ox.Quad]:
    """The analyzed texts of a publication, as the quads its aggregate graph holds."""
    subject = ox.NamedNode(found.iri)
    texts = {
        "searchTitle": _analyzed(found.titles),
        "searchAbstract": _analyzed(found.abstracts),
        "searchTopics": _analyzed(found.topics),
        "searchPeople": " ".join(w for name in found.people for w in words(name)),
    }
    texts["searchText"] = " | ".join(t for t in texts.values() if t)
    return [ox.Quad(subject, ox.NamedNode(PKG + name), ox.Literal(text), graph)
            for name, text in texts.items() if text]


def _analyzed(texts: Iterable[tuple[str, str | None]]) -> str:
    """Each text's stemmed words, tagged with their language, then its folded ones (a phrase
    is found in either run)."""
    runs = []
    for text, language in texts:
        code = base_language(language)
        if code in STEMMED:
            runs.append(_tagged(analyze(text, code), code))
        runs.append(" ".join(words(text)))
    return " | ".join(dict.fromkeys(run for run in runs if run))


def _tagged(stems: list[str], code: str) -> str:
    """Stems of a language, each after its language's tag: the store splits "lgen_pension"
    into the phrase "lgen pension", which no stem of another language makes."""
    return " ".join(f"{TAG}{code}_{stem}" for stem in stems)


class StoreTextIndex:
    """Searching the publications of a store that indexes its literals' words. The texts are
    written with the records (``search_text_quads``), in their transactions: nothing is
    written here, and the index is always in step."""

    keeps_documents = False

    def __init__(self, store: RemoteStore) -> None:
        self.store = store

    def token(self) -> str | None:
        """Nothing to follow: the index is the store's, in step with it."""
        return None

    def count(self) -> int:
        """How many publications the store holds texts of."""
        rows = list(self.store.query(QUERIES.text("store-count.rq").replace(
            "#MATCH", "?p pkg:searchText ?text")))
        return int(rows[0]["count"].value) if rows else 0

    def size(self) -> int:
        """Nothing beside the store."""
        return 0

    def write(self, documents: Iterable[SearchDocument], removed: Iterable[str] = ()) -> None:
        """Nothing to write: the texts go with the records."""

    def clear(self) -> None:
        """Nothing to clear: the texts go with the records."""

    def commit(self, token: str) -> None:
        """Nothing to commit: the store's own writes are."""

    def rollback(self) -> None:
        """Nothing to forget."""

    def close(self) -> None:
        """Nothing to release."""

    def search(self, request: SearchRequest) -> SearchResult:
        """The page, the total and the facets, each by a query to the store, all sent at once
        (the store answers them side by side); the total and facets match without ranking."""
        ranked, found = self.pattern(request), self.pattern(request, ranked=False)
        if ranked is None or found is None:
            return SearchResult(0, [], {})
        counted = [name for name in PATTERNS if request.counts(name)]
        pool = _pool()
        total = pool.submit(self._count, found)
        hits = pool.submit(self._hits, ranked, request)
        facets = {name: pool.submit(self._facet, found, name) for name in counted}
        if not total.result():
            return SearchResult(0, [], {})
        return SearchResult(total.result(), hits.result(),
                            {name: future.result() for name, future in facets.items()})

    def matches(self, text: str, limit: int) -> list[Hit]:
        """The publications that match a query text, best first."""
        match = self.pattern(SearchRequest(q=text, facets=False))
        if match is None or not text.strip():
            return []
        return self._hits(match, SearchRequest(q=text, size=1, facets=False), limit)

    def sparql_pattern(self, variables: Sequence[str], text: str, limit: int) -> MatchPattern:
        """A sub-query in which the store matches the words itself (its text as a placeholder,
        the store's pattern in ``dialect``), binding the variables to its best matches."""
        match = self.pattern(SearchRequest(q=text, facets=False))
        if match is None or not text.strip():
            return MatchPattern(values_block(variables, []))
        publication, score = f"?{HIDDEN}p", f"?{HIDDEN}score"
        placeholder = f"{publication} <{PLACEHOLDER}{uuid.uuid4().hex}> {score} ."
        projection, order = f"({publication} AS ?{variables[0]})", f"DESC(MAX({score}))"
        if len(variables) > 1:
            projection += f" (MAX({score}) AS ?{variables[1]})"
            order = f"DESC(?{variables[1]})"
        subquery = (f"{{ SELECT {projection} WHERE {{ {placeholder} }} GROUP BY {publication} "
                    f"ORDER BY {order} {publication} LIMIT {limit} }}")
        return MatchPattern(subquery, {placeholder: _hidden(match)})

    # --- the pattern of a request -------------------------------------------------------------

    def pattern(self, request: SearchRequest, ranked: bool = True) -> str | None:
        """The SPARQL group pattern binding ?p (and, ``ranked``, ?score) to the publications a
        request finds; None when its text can match nothing."""
        tree = syntax.parse(request.q)
        if tree is None and request.q.strip():
            return None  # words typed, none to search for: nothing found
        parts = []
        if tree is None:
            parts.append("?p a pkg:Publication . BIND(0 AS ?score)")
        else:
            text = self._text_pattern(tree, ranked)
            if text is None:
                return None
            parts.append(text)
        for name, values in request.filters.items():
            iris = " ".join(str(ox.NamedNode(value)) for value in values)
            parts.append("{ " + PATTERNS[name].replace("?value", f"?{name}Filter")
                         + f" VALUES ?{name}Filter {{ {iris} }} }}")
        years = request.years
        if years is not None:
            parts.append(f"?p pkg:issuedYear ?yearFilter FILTER(?yearFilter >= {years[0]} "
                         f"&& ?yearFilter <= {years[1]})")
        return " ".join(parts)

    def _text_pattern(self, tree: syntax.Node, ranked: bool) -> str | None:
        """The publications a text finds, ?score their relevance when ``ranked``: one
        bif:contains a field (what must not match joined by AND NOT), and a title holding
        every word, or the words as a phrase, ranked first."""
        positive, negative = _split(tree)
        wanted: dict[str | None, list[str]] = {}
        for node in positive:
            expression = _expression(node)
            if expression is None:
                return None
            wanted.setdefault(_field_of(node), []).append(expression)
        unwanted: dict[str | None, list[str]] = {}
        for node in negative:
            expression = _expression(node)
            if expression is not None:
                unwanted.setdefault(_field_of(node), []).append(expression)
        clauses, scores = [], []
        for index, (field, expressions) in enumerate(wanted.items()):
            text = " AND ".join(expressions)
            for out in unwanted.pop(field, []):
                text = f"({text}) AND NOT {out}"
            clauses.append(_contains(field, text, f"?score{index}" if ranked else None))
            scores.append(f"?score{index}")
        if not clauses:
            clauses.append("?p a pkg:Publication .")
        for field, outs in unwanted.items():
            for out in outs:
                clauses.append(f"FILTER NOT EXISTS {{ {_contains(field, out, None, '?out')} }}")
        if not ranked:
            return " ".join(clauses)
        clauses += _title_ranking(tree)
        bonus = ["IF(BOUND(?inTitle), 100, 0)", "IF(BOUND(?asTitle), 1000, 0)"]
        total = " + ".join([*scores, *bonus]) if scores else "0"
        return " ".join(clauses) + f" BIND(({total}) AS ?score)"

    # --- the queries --------------------------------------------------------------------------

    def _count(self, match: str) -> int:
        text = QUERIES.text("store-count.rq").replace("#MATCH", match)
        rows = list(self.store.query_in_dialect(text))
        return int(rows[0]["count"].value) if rows else 0

    def _hits(self, match: str, request: SearchRequest, limit: int | None = None) -> list[Hit]:
        text = (QUERIES.text("store-hits.rq").replace("#MATCH", match)
                .replace("#ORDER", ORDERS[request.sort])
                .replace("#LIMIT", str(limit or request.size))
                .replace("#OFFSET", str(0 if limit else request.offset)))
        return [Hit(row["p"].value, float(row["best"].value) if row["best"] else 0.0)
                for row in self.store.query_in_dialect(text)]

    def _facet(self, match: str, name: str) -> list[tuple[str, int]]:
        size = TOP if name in MANY_VALUED else 5000
        text = (QUERIES.text("store-facet.rq").replace("#MATCH", match)
                .replace("#VALUE", PATTERNS[name]).replace("#LIMIT", str(size)))
        return [(row["value"].value, int(row["count"].value))
                for row in self.store.query_in_dialect(text)]


def _pool() -> ThreadPoolExecutor:
    """The threads a search's queries are sent from (one process's, shared by its requests;
    a forked process makes its own)."""
    return _process_pool(os.getpid())


@functools.cache
def _process_pool(pid: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=SEARCH_THREADS, thread_name_prefix="search")


def _hidden(pattern: str) -> str:
    """A pattern with its variables renamed out of the way of a query's own, and its ``pkg:``
    names written whole (a query need not declare the prefix). Its literals are analyzed
    words, which hold neither '?' nor ':'."""
    pattern = re.sub(r"\?(\w+)", rf"?{HIDDEN}\1", pattern)
    return re.sub(r"\bpkg:(\w+)", rf"<{PKG}\1>", pattern)


def _contains(field: str | None, expression: str, score: str | None,
              variable: str | None = None) -> str:
    """A pattern binding ?p to publications whose ``field`` text matches an expression."""
    literal = variable or f"?{FIELDS[field]}"
    option = f" OPTION (score {score})" if score else ""
    return (f"?p pkg:{FIELDS[field]} {literal} . {literal} bif:contains "
            f"{_string(expression)}{option} .")


def _title_ranking(tree: syntax.Node) -> list[str]:
    """For a query of plain words: a title holding them all (?inTitle), or the phrase
    (?asTitle), found if there is one."""
    words = syntax.terms(tree)
    parts = tree.parts if isinstance(tree, syntax.AllOf) else (tree,)
    if not words or any(t.prefix or t.field for t in words) or any(
            not isinstance(p, syntax.Term) for p in parts):
        return []
    every = " AND ".join(e for t in words if (e := _term_expression(t)) is not None)
    found = [f"OPTIONAL {{ {_contains('title', every, '?inTitle', '?titleWords')} }}"]
    phrase = " ".join(t.text for t in words)
    whole = _term_expression(syntax.Term(phrase, phrase=True))
    if whole is not None and len(phrase.split()) > 1:
        found.append(f"OPTIONAL {{ {_contains('title', whole, '?asTitle', '?titlePhrase')} }}")
    return found


def _split(tree: syntax.Node) -> tuple[list[syntax.Node], list[syntax.Node]]:
    """The parts of a query that must match, and those that must not."""
    parts = tree.parts if isinstance(tree, syntax.AllOf) else (tree,)
    positive: list[syntax.Node] = [p for p in parts if not isinstance(p, syntax.Not)]
    negative = [p.part for p in parts if isinstance(p, syntax.Not)]
    return positive, negative


def _field_of(node: syntax.Node) -> str | None:
    """The one field a part's terms are all in, else None (every text)."""
    found = {t.field for t in syntax.terms(node)}
    return found.pop() if len(found) == 1 else None


def _expression(node: syntax.Node) -> str | None:
    """A part of the query as a bif:contains expression; None when it can match nothing."""
    if isinstance(node, syntax.Term):
        return _term_expression(node)
    if isinstance(node, syntax.Not):
        return None
    found = [_expression(part) for part in node.parts if not isinstance(part, syntax.Not)]
    if isinstance(node, syntax.AnyOf):
        kept = [f for f in found if f is not None]
        return "(" + " OR ".join(kept) + ")" if kept else None
    if any(f is None for f in found):
        return None
    outs = [_expression(p.part) for p in node.parts if isinstance(p, syntax.Not)]
    expression = " AND ".join(f for f in found if f is not None)
    for out in outs:
        if out is not None and expression:
            expression = f"({expression} AND NOT {out})"
    return f"({expression})" if expression else None


def _term_expression(term: syntax.Term) -> str | None:
    """The forms a term is indexed under: folded, and stemmed in each stemmed language."""
    if term.prefix:
        folded = words(term.text)
        if not folded:
            return None
        if len(folded[-1]) < PREFIX_LEADING:
            return _quoted(" ".join(folded))
        return _quoted(" ".join(folded) + "*")
    forms = {" ".join(words(term.text))}
    forms.update(_tagged(analyze(term.text, code), code).replace("_", " ") for code in STEMMED)
    forms.discard("")
    if not forms:
        return None
    return "(" + " OR ".join(_quoted(form) for form in sorted(forms)) + ")"


def _quoted(words_text: str) -> str:
    return '"' + words_text + '"'


def _string(text: str) -> str:
    """A SPARQL string literal of a bif:contains expression."""
    return str(ox.Literal(text))
