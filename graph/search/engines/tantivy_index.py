"""The text index of an embedded store: tantivy (BM25, phrases, prefixes, fast fields), in a
folder beside the store's own files, or in memory beside a store in memory.

One document a publication (``document.SearchDocument``): each text in the fields of its
language, stemmed (``title_en``, ``abstract_es`` ...) or, in another language, only folded
(``*_fold``; every title and abstract is also there, for prefixes); names in ``people``; each
facet's IRIs in a raw field counted by a terms aggregation; the year and date of issue as fast
integer fields. A sentinel document holds the token of the last commit (see ``consistency``).

Any number of processes read the folder (each reloads at each search); one writes it at a
time, the one that writes the store.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import suppress
from functools import cache
from pathlib import Path
from typing import Any

import tantivy
from tantivy import Filter, Occur, Order, Query, TextAnalyzerBuilder, Tokenizer

from policykg.graph.search import syntax
from policykg.graph.search.analysis import FOLDED, LONGEST, STEMMED, analyzer_name
from policykg.graph.search.document import FACET_PROPERTIES, SearchDocument
from policykg.graph.search.request import (
    MANY_VALUED,
    TOP,
    Hit,
    SearchRequest,
    SearchResult,
)
from policykg.graph.search.sparql import MatchPattern, values_block

FOLDER = "text-index"
HEAP = 100_000_000  # bytes the writer buffers before it writes a segment
STATE = "urn:policykg:text-index-state"  # the iri of the sentinel document
LANGUAGE_FIELDS = {kind: [f"{kind}_{code}" for code in STEMMED] + [f"{kind}_fold"]
                   for kind in ("title", "abstract", "topics")}
TEXT_FIELDS = {"title": LANGUAGE_FIELDS["title"], "abstract": LANGUAGE_FIELDS["abstract"],
               "keyword": LANGUAGE_FIELDS["topics"], "author": ["people"]}
BOOSTS = {"title": 3.0, "people": 2.0, "topics": 1.5, "abstract": 1.0}
TITLE_WORDS, TITLE_PHRASE = 100.0, 1000.0  # what a title holding every word, or the phrase, adds
SORTS = {"newest": ("date", Order.Desc), "oldest": ("date", Order.Asc),
         "title": ("title_sort", Order.Asc)}
FACET_SIZES = {name: TOP if name in MANY_VALUED else 5000 for name in FACET_PROPERTIES}


def _analyzers() -> dict[str, tantivy.TextAnalyzer]:
    def base(tokenizer: tantivy.Tokenizer) -> TextAnalyzerBuilder:
        return (TextAnalyzerBuilder(tokenizer).filter(Filter.remove_long(LONGEST + 1))
                .filter(Filter.lowercase()).filter(Filter.ascii_fold()))

    found = {analyzer_name(code): base(Tokenizer.simple()).filter(Filter.stemmer(name)).build()
             for code, name in STEMMED.items()}
    found[FOLDED] = base(Tokenizer.simple()).build()
    found["sortkey"] = (TextAnalyzerBuilder(Tokenizer.raw()).filter(Filter.lowercase())
                        .filter(Filter.ascii_fold()).build())
    return found


ANALYZERS = _analyzers()


def _field_analyzer(name: str) -> str:
    suffix = name.rsplit("_", 1)[-1]
    return FOLDED if name == "people" or suffix == "fold" else analyzer_name(suffix)


@cache
def schema() -> tantivy.Schema:
    """The schema of the index (a change of it makes an index be rebuilt)."""
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("iri", stored=True, tokenizer_name="raw")
    for fields in LANGUAGE_FIELDS.values():
        for name in fields:
            basic = name == "abstract_fold"  # only to find prefixes: no positions, no counts
            builder.add_text_field(name, tokenizer_name=_field_analyzer(name),
                                   index_option="basic" if basic else "position")
    builder.add_text_field("people", tokenizer_name=FOLDED)
    builder.add_text_field("title_sort", tokenizer_name="sortkey", fast=True)
    builder.add_integer_field("year", indexed=True, fast=True)
    builder.add_integer_field("date", fast=True)
    for facet in FACET_PROPERTIES:
        builder.add_text_field(f"f_{facet}", tokenizer_name="raw", fast=True)
    builder.add_text_field("state", stored=True, tokenizer_name="raw")
    return builder.build()


class TantivyIndex:
    """The text index of one store (``read_only``: opened by a reader, which never creates
    nor writes it; an index not made yet reads as empty)."""

    keeps_documents = True

    def __init__(self, folder: Path | None, read_only: bool = False) -> None:
        self.folder = folder
        self.read_only = read_only
        self._lock = threading.Lock()
        self._writer: tantivy.IndexWriter | None = None
        self._in_folder = False  # opened from the folder (a reader may find none there yet)
        self.index = self._open()

    def _open(self) -> tantivy.Index:
        self._in_folder = self.folder is not None and (not self.read_only or self._exists())
        if not self._in_folder:
            index = tantivy.Index(schema())
        elif self.read_only:
            index = tantivy.Index.open(str(self.folder))
        else:
            assert self.folder is not None
            self.folder.mkdir(parents=True, exist_ok=True)
            try:
                index = tantivy.Index(schema(), path=str(self.folder), reuse=True)
            except ValueError:  # another schema: this index is rebuilt from the store
                for path in self.folder.iterdir():
                    path.unlink()
                index = tantivy.Index(schema(), path=str(self.folder), reuse=True)
        for name, analyzer in ANALYZERS.items():
            index.register_tokenizer(name, analyzer)
        index.register_fast_field_tokenizer("sortkey", ANALYZERS["sortkey"])
        index.config_reader("manual")
        return index

    def _exists(self) -> bool:
        return (self.folder is not None and self.folder.is_dir()
                and tantivy.Index.exists(str(self.folder)))

    # --- reading -----------------------------------------------------------------------------

    def searcher(self) -> tantivy.Searcher:
        """A searcher of the last commit (one a request: its parts then agree)."""
        if self.folder is not None and not self._in_folder and self._exists():
            self.index = self._open()  # made since: read it
        self.index.reload()
        return self.index.searcher()

    def search(self, request: SearchRequest) -> SearchResult:
        """The page of hits a request asks for, the total and the facets' counts."""
        searcher = self.searcher()
        query = self.query(request)
        if query is None:
            return SearchResult(0, [], {})
        order = SORTS.get(request.sort)
        if order is None:
            found = searcher.search(query, request.size, offset=request.offset)
        else:
            found = searcher.search(query, request.size, offset=request.offset,
                                    order_by_field=order[0], order=order[1])
        hits = [Hit(_iri(searcher, address), float(score or 0.0)) for score, address in found.hits]
        total = _count(found)
        facets = self._facets(searcher, query, request) if request.facets and total else {}
        return SearchResult(total, hits, facets)

    def matches(self, text: str, limit: int) -> list[Hit]:
        """The publications that match a query text, best first, ``limit`` at most."""
        query = self.query(SearchRequest(q=text, facets=False))
        if query is None or not text.strip():
            return []
        searcher = self.searcher()
        found = searcher.search(query, limit, count=False)
        return [Hit(_iri(searcher, address), float(score)) for score, address in found.hits]

    def sparql_pattern(self, variables: Sequence[str], text: str, limit: int) -> MatchPattern:
        """The VALUES of the best matches, for a SPARQL query to join with the store."""
        return MatchPattern(values_block(variables, self.matches(text, limit)))

    def count(self) -> int:
        """How many publications the index holds."""
        searcher = self.searcher()
        return _count(searcher.search(self._documents(), 1, count=True))

    def size(self) -> int:
        """Bytes the index takes on disk (0 in memory, or none written yet)."""
        if self.folder is None or not self.folder.is_dir():
            return 0
        return sum(path.stat().st_size for path in self.folder.iterdir() if path.is_file())

    def token(self) -> str | None:
        """The token of the last commit (None: nothing committed, or no token)."""
        searcher = self.searcher()
        found = searcher.search(Query.term_query(schema(), "iri", STATE), 1, count=False)
        for _, address in found.hits:
            value = searcher.doc(address).get_first("state")
            return str(value) if value is not None else None
        return None

    def _facets(self, searcher: tantivy.Searcher, query: Query,
                asked: SearchRequest) -> dict[str, list[tuple[str, int]]]:
        request: dict[str, Any] = {"year": {"terms": {"field": "year", "size": 1000}}}
        request.update({name: {"terms": {"field": f"f_{name}", "size": size}}
                        for name, size in FACET_SIZES.items()})
        request = {name: counted for name, counted in request.items() if asked.counts(name)}
        if not request:
            return {}
        answer = searcher.aggregate(query, request)
        return {name: [(str(bucket["key"]), int(bucket["doc_count"]))
                       for bucket in answer.get(name, {}).get("buckets", [])]
                for name in request}

    # --- queries -----------------------------------------------------------------------------

    def query(self, request: SearchRequest) -> Query | None:
        """The query of a request: its text (all publications without one) within its
        filters; None when its text can match nothing."""
        tree = syntax.parse(request.q)
        if tree is None and request.q.strip():
            return None  # words typed, none to search for: nothing found
        clauses: list[tuple[Occur, Query]] = []
        if tree is not None:
            text = self._text_query(tree)
            if text is None:
                return None
            clauses.append((Occur.Must, self._ranked(text, tree)))
        else:
            clauses.append((Occur.Must, self._documents()))
        for name, values in request.filters.items():
            field = f"f_{name}"
            match = (Query.term_query(schema(), field, values[0]) if len(values) == 1
                     else Query.term_set_query(schema(), field, list(values)))
            clauses.append((Occur.Must, Query.const_score_query(match, 0.0)))
        years = request.years
        if years is not None:
            span = Query.range_query(schema(), "year", tantivy.FieldType.Integer, *years)
            clauses.append((Occur.Must, Query.const_score_query(span, 0.0)))
        return clauses[0][1] if len(clauses) == 1 else Query.boolean_query(clauses)

    def _documents(self) -> Query:
        """Every publication (the sentinel document left out)."""
        return Query.boolean_query([(Occur.Must, Query.all_query()),
                                    (Occur.MustNot, Query.term_query(schema(), "iri", STATE))])

    def _text_query(self, node: syntax.Node) -> Query | None:
        """A node of the query tree as a tantivy query (None: it can match nothing)."""
        if isinstance(node, syntax.Term):
            return self._term_query(node)
        if isinstance(node, syntax.Not):
            inner = self._text_query(node.part)
            clauses = [(Occur.Must, self._documents())]
            if inner is not None:
                clauses.append((Occur.MustNot, inner))
            return Query.boolean_query(clauses)
        if isinstance(node, syntax.AnyOf):
            found = [q for part in node.parts if (q := self._text_query(part)) is not None]
            return Query.boolean_query([(Occur.Should, q) for q in found]) if found else None
        parts: list[tuple[Occur, Query]] = []
        for part in node.parts:
            inner = self._text_query(part.part if isinstance(part, syntax.Not) else part)
            if isinstance(part, syntax.Not):
                if inner is not None:
                    parts.append((Occur.MustNot, inner))
            elif inner is None:
                return None  # a required part that matches nothing
            else:
                parts.append((Occur.Must, inner))
        if not any(occur == Occur.Must for occur, _ in parts):
            parts.insert(0, (Occur.Must, self._documents()))
        return Query.boolean_query(parts)

    def _term_query(self, term: syntax.Term) -> Query | None:
        """A term in each of its fields, the best field's score counting (a disjunction max)."""
        groups = [term.field] if term.field else ["title", "abstract", "keyword", "author"]
        queries = []
        for group in groups:
            for name in TEXT_FIELDS[group]:
                query = _field_query(name, term)
                if query is not None:
                    kind = "people" if name == "people" else name.rsplit("_", 1)[0]
                    queries.append(Query.boost_query(query, BOOSTS[kind]))
        return Query.disjunction_max_query(queries, tie_breaker=0.1) if queries else None

    def _ranked(self, text: Query, tree: syntax.Node) -> Query:
        """The text query, with a title holding every word, or the words as a phrase, ranked
        first (for a query of plain words)."""
        words = syntax.terms(tree)
        if not words or any(t.prefix or t.field for t in words) or not isinstance(
                tree, syntax.Term | syntax.AllOf) or any(
                isinstance(p, syntax.Not | syntax.AnyOf) for p in getattr(tree, "parts", ())):
            return text
        clauses = [(Occur.Must, text)]
        in_title = [_group_query("title", t) for t in words]
        if all(q is not None for q in in_title):
            every = Query.boolean_query([(Occur.Must, q) for q in in_title if q is not None])
            clauses.append((Occur.Should, Query.const_score_query(every, TITLE_WORDS)))
        phrase = " ".join(t.text for t in words)
        whole = _group_query("title", syntax.Term(phrase, phrase=True))
        if whole is not None and len(phrase.split()) > 1:
            clauses.append((Occur.Should, Query.const_score_query(whole, TITLE_PHRASE)))
        return Query.boolean_query(clauses)

    # --- writing -----------------------------------------------------------------------------

    def writer(self) -> tantivy.IndexWriter:
        """The index's writer, made on first use (it locks the index against other writers
        until ``close``)."""
        with self._lock:
            if self._writer is None:
                self._writer = self.index.writer(HEAP, 1)
            return self._writer

    def write(self, documents: Iterable[SearchDocument], removed: Iterable[str] = ()) -> None:
        """Replace publications' documents (uncommitted until ``commit``), and remove those of
        ``removed`` publications."""
        writer = self.writer()
        for iri in removed:
            writer.delete_documents_by_term("iri", iri)
        for found in documents:
            writer.delete_documents_by_term("iri", found.iri)
            writer.add_document(tantivy_document(found))

    def clear(self) -> None:
        """Remove every document (uncommitted until ``commit``)."""
        self.writer().delete_all_documents()

    def commit(self, token: str) -> None:
        """Make what was written searchable, with the sentinel document holding ``token``."""
        writer = self.writer()
        writer.delete_documents_by_term("iri", STATE)
        sentinel = tantivy.Document()
        sentinel.add_text("iri", STATE)
        sentinel.add_text("state", token)
        writer.add_document(sentinel)
        writer.commit()

    def rollback(self) -> None:
        """Forget what was written since the last commit."""
        if self._writer is not None:
            self._writer.rollback()

    def close(self) -> None:
        """Let merges finish and release the writer's lock."""
        with self._lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            with suppress(ValueError):
                writer.garbage_collect_files()
            writer.wait_merging_threads()


def _iri(searcher: tantivy.Searcher, address: tantivy.DocAddress) -> str:
    return str(searcher.doc(address).get_first("iri"))


def _count(found: tantivy.SearchResult) -> int:
    """How many documents a search matched (tantivy's stubs leave the count out)."""
    return int(found.count)  # type: ignore[attr-defined]


def _group_query(group: str, term: syntax.Term) -> Query | None:
    queries = [q for name in TEXT_FIELDS[group] if (q := _field_query(name, term)) is not None]
    if not queries:
        return None
    return queries[0] if len(queries) == 1 else Query.boolean_query(
        [(Occur.Should, q) for q in queries])


def _field_query(name: str, term: syntax.Term) -> Query | None:
    """A term in one field, analyzed as the field is: a word, a phrase, or a prefix (on the
    folded fields only: a stem is no prefix of the words it stands for)."""
    if term.prefix:
        if not (name.endswith("_fold") or name == "people"):
            return None
        tokens: list[str | tuple[int, str]] = list(ANALYZERS[FOLDED].analyze(term.text))
        if not tokens:
            return None
        if name == "abstract_fold" and len(tokens) > 1:
            return None  # no positions there
        return Query.phrase_prefix_query(schema(), name, tokens)
    if name == "abstract_fold":
        return None  # only for prefixes
    words: list[str | tuple[int, str]] = list(ANALYZERS[_field_analyzer(name)].analyze(term.text))
    if not words:
        return None
    if len(words) == 1:
        return Query.term_query(schema(), name, words[0])
    return Query.phrase_query(schema(), name, words)


def tantivy_document(found: SearchDocument) -> tantivy.Document:
    """A search document as tantivy's: its texts in the fields of their languages."""
    fields: dict[str, list[Any]] = {"iri": [found.iri]}

    def add(kind: str, texts: Iterable[tuple[str, str | None]]) -> None:
        for text, language in texts:
            analyzer = analyzer_name(language)
            name = f"{kind}_fold" if analyzer == FOLDED else f"{kind}_{analyzer[5:]}"
            fields.setdefault(name, []).append(text)
            if kind != "topics" and analyzer != FOLDED:
                fields.setdefault(f"{kind}_fold", []).append(text)

    add("title", found.titles)
    add("abstract", found.abstracts)
    add("topics", found.topics)
    if found.people:
        fields["people"] = list(found.people)
    fields["title_sort"] = [found.title[:200]]
    if found.year is not None:
        fields["year"] = [found.year]
    fields["date"] = [found.date or 0]
    for name, values in found.facets.items():
        fields[f"f_{name}"] = list(values)
    return tantivy.Document(**fields)


def documents_in(index: TantivyIndex) -> Iterator[str]:
    """The IRIs of every publication an index holds."""
    searcher = index.searcher()
    total = index.count()
    found = searcher.search(index._documents(), max(total, 1), count=False)
    for _, address in found.hits:
        yield _iri(searcher, address)
