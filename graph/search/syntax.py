"""The query syntax people type, read into a small tree both search engines translate.

    informal employment pensions    every word (AND is the default)
    pensions OR retirement          either
    -mexico   NOT mexico            without
    "informal employment"           the phrase
    innov*                          words that begin so
    title:pension  author:perez     in one field (title, abstract, author, keyword)
    (pension OR retirement) chile   grouping

Nothing here raises: a stray quote closes at the end, an unmatched parenthesis is ignored, an
unknown field name is read as a word, and a query with nothing to look for is ``None``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FIELDS = ("title", "abstract", "author", "keyword")
_TOKEN = re.compile(r'\s*(?:(?P<quote>"[^"]*"?)|(?P<paren>[()])|(?P<word>[^\s()"]+))')
MAX_CLAUSES = 64  # a query longer than this is cut: each clause is a query of each field


@dataclass(frozen=True)
class Term:
    """Words to find: one word, a phrase (``phrase``), or words that begin so (``prefix``),
    in every text field or one (``field``)."""

    text: str
    field: str | None = None
    phrase: bool = False
    prefix: bool = False


@dataclass(frozen=True)
class Not:
    """Documents that do not match ``part``."""

    part: Node


@dataclass(frozen=True)
class AnyOf:
    """Documents that match one of ``parts`` at least."""

    parts: tuple[Node, ...]


@dataclass(frozen=True)
class AllOf:
    """Documents that match every one of ``parts``."""

    parts: tuple[Node, ...]


Node = Term | Not | AnyOf | AllOf


def parse(text: str) -> Node | None:
    """The tree of a query as typed; None when it asks for nothing."""
    tokens = [m for m in _TOKEN.finditer(text) if m.lastgroup][:MAX_CLAUSES * 3]
    node, _ = _sequence(tokens, 0, top=True)
    return node


def terms(node: Node | None) -> list[Term]:
    """The terms a tree looks for (not those it excludes), for highlighting and ranking."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, AnyOf | AllOf):
        return [term for part in node.parts for term in terms(part)]
    return []


def _sequence(tokens: list[re.Match], index: int, top: bool) -> tuple[Node | None, int]:
    """Clauses up to the end (or a closing parenthesis), all required."""
    clauses: list[Node] = []
    while index < len(tokens):
        token = tokens[index]
        if token.group("paren") == ")":
            if not top:
                return _all(clauses), index + 1
            index += 1  # unmatched: ignored
            continue
        if token.group("word") == "AND":
            index += 1
            continue
        clause, index = _disjunction(tokens, index)
        if clause is not None:
            clauses.append(clause)
    return _all(clauses), index


def _disjunction(tokens: list[re.Match], index: int) -> tuple[Node | None, int]:
    """A clause, and those joined to it by OR."""
    first, index = _unary(tokens, index)
    parts = [first] if first is not None else []
    while index + 1 < len(tokens) and tokens[index].group("word") == "OR":
        other, index = _unary(tokens, index + 1)
        if other is not None:
            parts.append(other)
    if len(parts) > 1:
        return AnyOf(tuple(parts)), index
    return (parts[0] if parts else None), index


def _unary(tokens: list[re.Match], index: int) -> tuple[Node | None, int]:
    """A clause, possibly negated (``-x``, ``NOT x``) or required (``+x``)."""
    word = tokens[index].group("word")
    if word == "NOT" and index + 1 < len(tokens):
        part, index = _atom(tokens, index + 1)
        return (Not(part) if part is not None else None), index
    if word and word[0] in "-+" and len(word) > 1:
        part = _word(word[1:])
        return (Not(part) if word[0] == "-" and part is not None else part), index + 1
    if word in ("-", "+") and index + 1 < len(tokens) and not tokens[index + 1].group("word"):
        part, index = _atom(tokens, index + 1)  # -"a phrase", -(a group)
        return (Not(part) if word == "-" and part is not None else part), index
    return _atom(tokens, index)


def _atom(tokens: list[re.Match], index: int) -> tuple[Node | None, int]:
    token = tokens[index]
    if token.group("paren") == "(":
        return _sequence(tokens, index + 1, top=False)
    if token.group("paren") == ")":
        return None, index + 1
    quoted = token.group("quote")
    if quoted is not None:
        return _phrase(quoted.strip('"'), None), index + 1
    word = token.group("word")
    field, colon, rest = word.partition(":")
    if colon and field.lower() in FIELDS:
        if not rest and index + 1 < len(tokens) and tokens[index + 1].group("quote"):
            return _phrase(tokens[index + 1].group("quote").strip('"'), field.lower()), index + 2
        return _word(rest, field.lower()), index + 1
    return _word(word), index + 1


def _word(word: str, field: str | None = None) -> Term | None:
    if word.startswith('"'):
        return _phrase(word.strip('"'), field)
    prefix = word.endswith("*")
    text = word.rstrip("*")
    if not any(c.isalnum() for c in text):
        return None
    return Term(text, field, prefix=prefix)


def _phrase(text: str, field: str | None) -> Term | None:
    if not any(c.isalnum() for c in text):
        return None
    return Term(" ".join(text.split()), field, phrase=len(text.split()) > 1)


def _all(clauses: list[Node]) -> Node | None:
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else AllOf(tuple(clauses))
