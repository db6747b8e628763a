"""Text search inside SPARQL, as jena-text's ``text:query`` does it: a triple pattern with the
property ``pkg:matches`` is answered by the search engine, and its hits join the rest of the
query as a ``VALUES`` block in its place, so the store evaluates the rest unchanged.

    ?publication pkg:matches "informal employment" .
    (?publication ?score) pkg:matches "informal employment" .      # with the relevance score
    ?publication pkg:matches ("informal employment" 50000) .        # more hits than the default
    ?publication pkg:matches ?words .      # ?words given by the caller (``bindings``)

The text is in the search syntax (``syntax``); the hits come best first, at most the limit
given or ``DEFAULT_LIMIT``. ``pkg:`` must be declared as the policykg namespace, or the full IRI
written.

How a pattern is answered is the text index's (``TextIndex.sparql_pattern``): an index beside
the store gives the VALUES of its hits; a store's own free-text index gives a sub-query in the
store's dialect, so that the store matches the words itself and no list of hits is sent.
Dialect is no SPARQL a parser checks: the sub-query holds a placeholder triple pattern, and
``Expanded.dialect`` says what the store is sent in its place once the query is checked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox

from policykg.graph.rdf.namespaces import PKG
from policykg.graph.rdf.sparql_text import Token, is_variable, tokens
from policykg.graph.search.request import Hit

MATCHES = PKG + "matches"
DEFAULT_LIMIT = 10_000
MAX_LIMIT = 1_000_000

PLACEHOLDER = "urn:x-policykg:matches:"  # the property of a placeholder's triple pattern


@dataclass(frozen=True)
class MatchPattern:
    """What stands for one ``pkg:matches`` pattern: a group pattern in SPARQL, and the store's
    own patterns to send in place of placeholders in it (none from an index beside the store)."""

    text: str
    dialect: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Expanded:
    """A query with its ``pkg:matches`` patterns answered: ``text`` is SPARQL, checked as any
    query is; ``dialect`` maps each placeholder in it to what the store is sent instead."""

    text: str
    dialect: dict[str, str] = field(default_factory=dict)

    def store_options(self) -> dict[str, Any]:
        """Keyword arguments for ``GraphStore.query``: the dialect, when there is one (only a
        remote store's own index writes any)."""
        return {"dialect": self.dialect} if self.dialect else {}


# (the variables of the publication and score, the query text, the most hits) -> the pattern
Answerer = Callable[[Sequence[str], str, int], MatchPattern]


class MatchError(ValueError):
    """A ``pkg:matches`` pattern that cannot be answered (a 400 for the client)."""


def mentions_matches(text: str) -> bool:
    """Whether a query may hold a ``pkg:matches`` pattern (a cheap look at its text)."""
    return "matches" in text


def expand_matches(text: str, answer: Answerer, default_limit: int = DEFAULT_LIMIT,
                   bindings: Mapping[str, str] | None = None) -> Expanded:
    """The query with each ``pkg:matches`` pattern replaced by what the text index answers for
    it (``answer``: ``TextIndex.sparql_pattern``; ``bindings``: the texts of variables the
    caller binds, for a pattern whose object is one)."""
    if not mentions_matches(text):
        return Expanded(text)
    found = tokens(text)
    prefixes = _prefixes(found)
    pieces, last = [], 0
    dialect: dict[str, str] = {}
    for index, token in enumerate(found):
        if not _is_matches(token, prefixes):
            continue
        start, variables = _subject(found, index)
        end, query, limit = _object(found, index, bindings or {})
        pattern = answer(variables, query, limit or default_limit)
        dialect.update(pattern.dialect)
        pieces += [text[last:found[start].start], pattern.text]
        last = found[end].end
        if end + 1 < len(found) and found[end + 1].word == ";":
            pieces.append(" . " + text[found[start].start:found[index].start].strip("() "))
            last = found[end + 1].end
    return Expanded("".join([*pieces, text[last:]]), dialect)


def _prefixes(found: list[Token]) -> dict[str, str]:
    """The query's PREFIX declarations: name -> namespace IRI."""
    declared = {}
    for index, token in enumerate(found[:-2]):
        if token.word == "PREFIX" and found[index + 2].kind == "iri":
            declared[found[index + 1].raw.rstrip(":")] = found[index + 2].raw[1:-1]
    return declared


def _is_matches(token: Token, prefixes: dict[str, str]) -> bool:
    if token.kind == "iri":
        return token.raw[1:-1] == MATCHES
    if token.kind == "name" and ":" in token.raw and not is_variable(token):
        prefix, _, local = token.raw.partition(":")
        return local == "matches" and prefixes.get(prefix) == PKG
    return False


def _subject(found: list[Token], index: int) -> tuple[int, list[str]]:
    """Where the pattern's subject starts, and its variables (the publication, the score)."""
    before = found[index - 1] if index else None
    if before is not None and is_variable(before):
        return index - 1, [before.raw[1:]]
    if before is not None and before.word == ")":
        opening = index - 2
        while opening >= 0 and found[opening].word != "(":
            opening -= 1
        inside = found[opening + 1:index - 1]
        if opening >= 0 and 1 <= len(inside) <= 2 and all(is_variable(t) for t in inside):
            return opening, [t.raw[1:] for t in inside]
    raise MatchError("pkg:matches needs a variable, or (?publication ?score), as its subject")


def _object(found: list[Token], index: int,
            bindings: Mapping[str, str]) -> tuple[int, str, int | None]:
    """Where the pattern's object ends, its query text and the limit it gives (if any)."""
    after = found[index + 1] if index + 1 < len(found) else None
    if after is not None and after.kind == "string":
        return index + 1, _string(after), None
    if after is not None and is_variable(after) and after.raw[1:] in bindings:
        return index + 1, bindings[after.raw[1:]], None
    if after is not None and after.word == "(" and index + 3 < len(found) \
            and found[index + 2].kind == "string":
        limit_token, closing = found[index + 3], index + 4
        if limit_token.word == ")":
            return index + 3, _string(found[index + 2]), None
        if closing < len(found) and found[closing].word == ")" and limit_token.raw.isdigit():
            limit = int(limit_token.raw)
            if not 1 <= limit <= MAX_LIMIT:
                raise MatchError(f"pkg:matches takes a limit of 1 to {MAX_LIMIT} hits")
            return closing, _string(found[index + 2]), limit
    raise MatchError('pkg:matches needs a text as its object: "words", or ("words" limit)')


def _string(token: Token) -> str:
    """The value of a string token, as SPARQL reads it."""
    try:
        solutions = ox.Store().query(f"SELECT ({token.raw} AS ?t) {{}}")
    except SyntaxError as error:
        raise MatchError(f"pkg:matches: the text {token.raw[:40]} is not a string") from error
    assert isinstance(solutions, ox.QuerySolutions)
    literal = next(iter(solutions))["t"]
    return str(literal.value) if literal is not None else ""


def values_block(variables: Sequence[str], hits: list[Hit]) -> str:
    """A VALUES block binding the publication (and score) variables to the hits."""
    if len(variables) == 1:
        rows = " ".join(str(ox.NamedNode(hit.iri)) for hit in hits)
        return f"VALUES ?{variables[0]} {{ {rows} }}"
    rows = " ".join(f"({ox.NamedNode(hit.iri)} {_score(hit.score)})" for hit in hits)
    return f"VALUES (?{variables[0]} ?{variables[1]}) {{ {rows} }}"


def _score(score: float) -> str:
    return str(ox.Literal(f"{score:.6g}", datatype=ox.NamedNode(
        "http://www.w3.org/2001/XMLSchema#double")))
