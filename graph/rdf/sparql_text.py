"""Small rewrites of SPARQL text, for stores reached over the SPARQL protocol.

A remote store cannot take pyoxigraph's query options (substitutions, a dataset given apart
from the query), so they are written into the query itself. The input is a query that
pyoxigraph has already parsed: the token scanner below only has to find keywords, braces and
parentheses outside strings, IRIs and comments.

    with_values(text, {"this": "<http://x/a>"})   # a SELECT's ?this bound as by substitution
    with_dataset(text, ["http://x/g"], None)       # FROM <http://x/g>, replacing the query's own
    operations(update)                             # an update request cut at its top-level ';'
    with_limit(text, 21)                           # at most 21 rows (when it has no LIMIT)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache, wraps
from typing import TypeVar

_TOKENS = re.compile(r"""
    (?P<skip>\#[^\r\n]*|\s+)
  | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
      |'(?:[^'\\\r\n]|\\.)*'|"(?:[^"\\\r\n]|\\.)*")
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<name>[?$]?[\w\-:%\\]+(?:\.[\w\-:%\\]+)*)
  | (?P<punct>.)
""", re.X | re.S)
# What the nesting check reads: strings, IRIs and comments (skipped whole: a bracket in them
# does not count), and brackets; the regular expression passes over everything else itself.
_BRACKETS = re.compile(r"""
    (?P<skip>\#[^\r\n]*|'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
      |'(?:[^'\\\r\n]|\\.)*'|"(?:[^"\\\r\n]|\\.)*"|<[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<open>[{(\[])
  | (?P<close>[})\]])
""", re.X | re.S)
FORMS = ("SELECT", "CONSTRUCT", "ASK", "DESCRIBE")
MODIFIERS = ("GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET", "VALUES")


MAX_NESTING = 100  # brackets open at once ({, ( and [ together): real queries nest a few
CACHED_TEXT = 4096  # characters: longer texts (a client's, not policykg's own) are never cached
T = TypeVar("T")


class TooDeep(ValueError):
    """A query or update whose brackets nest deeper than MAX_NESTING."""


def check_nesting(text: str, most: int = MAX_NESTING) -> None:
    """Raise TooDeep when the brackets of a text nest deeper than ``most``: SPARQL parsers
    recurse once a level at least, and a native one crashes its process (a stack overflow)
    on a few thousand levels. Outside strings, IRIs and comments; in time linear in the text,
    keeping nothing."""
    depth = 0
    for match in _BRACKETS.finditer(text):
        if match.lastgroup == "open":
            depth += 1
            if depth > most:
                raise TooDeep(f"the request nests brackets ({{, ( or [) more than {most} "
                              f"levels deep (at character {match.start()}): this server "
                              "refuses deeper ones")
        elif match.lastgroup == "close":
            depth -= 1


def short_texts_cached(size: int) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Keep the results of a function of a SPARQL text (its first argument) for the last
    ``size`` texts of at most CACHED_TEXT characters: policykg's own queries, asked again and
    again, and never more memory than ``size`` short texts take, whatever clients send."""

    def decorate(function: Callable[..., T]) -> Callable[..., T]:
        cached = lru_cache(maxsize=size)(function)

        @wraps(function)
        def call(text: str, *args: object) -> T:
            return cached(text, *args) if len(text) <= CACHED_TEXT else function(text, *args)

        return call

    return decorate


@dataclass(frozen=True, slots=True)
class Token:
    """A token of a SPARQL text: kind (name, iri, string, punct), upper-cased text, span, and
    the text as written."""

    kind: str
    word: str
    start: int
    end: int
    raw: str = ""


@short_texts_cached(64)
def _tokens(text: str) -> tuple[Token, ...]:
    return tuple(Token(m.lastgroup or "punct", m.group().upper(), m.start(), m.end(), m.group())
            for m in _TOKENS.finditer(text) if m.lastgroup != "skip")


def tokens(text: str) -> list[Token]:
    """The tokens of a text, without spaces and comments (those of the last short texts
    kept)."""
    return list(_tokens(text))


def has_dataset_clause(text: str) -> bool:
    """Whether a query names its own dataset (FROM or FROM NAMED)."""
    return any(t.kind == "name" and t.word == "FROM" for t in tokens(text))


def is_variable(token: Token) -> bool:
    """Whether a token is a variable (?x or $x)."""
    return token.kind == "name" and token.word[:1] in "?$"


def _close(found: list[Token], index: int) -> int:
    """The index of the token closing the bracket at ``index``."""
    pairs = {"{": "}", "(": ")", "[": "]"}
    opening = found[index].word
    depth = 0
    for position in range(index, len(found)):
        word = found[position].word
        if word == opening:
            depth += 1
        elif word == pairs[opening]:
            depth -= 1
            if depth == 0:
                return position
    raise ValueError(f"unbalanced {opening} in the query")


def _form(found: list[Token]) -> int:
    """The index of the query form keyword (after the prologue)."""
    for index, token in enumerate(found):
        if token.kind == "name" and token.word in FORMS:
            return index
    raise ValueError("not a query: no SELECT, CONSTRUCT, ASK or DESCRIBE")


def _where_group(found: list[Token], start: int) -> int | None:
    """The index of the '{' opening the WHERE clause of the query whose form is at ``start``
    (None: a DESCRIBE without one). The CONSTRUCT template is skipped."""
    index = start + 1
    if found[start].word == "CONSTRUCT" and index < len(found) and found[index].word == "{":
        index = _close(found, index) + 1
    while index < len(found):
        token = found[index]
        if token.word == "(":
            index = _close(found, index) + 1
            continue
        if token.word == "{":
            return index
        if token.kind == "name" and token.word in MODIFIERS:
            return None
        index += 1
    return None


def _dataset_span(found: list[Token]) -> tuple[int, list[tuple[int, int]]]:
    """Where a query's dataset clause goes (a text offset), and the spans of its FROMs."""
    form = _form(found)
    group = _where_group(found, form)
    stop = len(found) if group is None else group
    spans, insert = [], None
    index = form + 1
    while index < stop:
        token = found[index]
        if token.word == "(":
            index = _close(found, index) + 1
            continue
        if token.kind == "name" and token.word == "FROM":
            end = index + (2 if found[index + 1].word == "NAMED" else 1)
            spans.append((token.start, found[end].end))
            insert = token.start if insert is None else insert
            index = end + 1
            continue
        if token.kind == "name" and token.word == "WHERE" and insert is None:
            insert = token.start
        index += 1
    if insert is None:
        insert = found[stop].start if stop < len(found) else None
    return (insert if insert is not None else -1), spans


def with_dataset(text: str, default: list[str], named: list[str]) -> str:
    """The query with FROM / FROM NAMED naming these graphs instead of its own (the protocol's
    default-graph-uri and named-graph-uri override the query's dataset clause). An empty
    ``default`` is an empty default graph, as the protocol has it.
    """
    found = tokens(text)
    insert, spans = _dataset_span(found)
    if insert < 0:
        insert = len(text)
    clauses = " ".join([*(f"FROM <{iri}>" for iri in default or [EMPTY_GRAPH]),
                        *(f"FROM NAMED <{iri}>" for iri in named)])
    pieces, last = [], 0
    for start, end in sorted([*spans, (insert, insert)]):
        pieces.append(text[last:start])
        if start == end == insert:
            pieces.append(f" {clauses} ")
        last = max(last, end)
    pieces.append(text[last:])
    return "".join(pieces)


EMPTY_GRAPH = "urn:x-policykg:empty-graph"  # a graph nobody writes: an empty default graph


def with_values(text: str, bindings: dict[str, str]) -> str:
    """The query with variables bound as pyoxigraph's substitutions bind them (SEP-0007): a
    ``VALUES`` block opens the WHERE clause of the query and of every sub-query that projects
    the variable, so that a sub-query's LIMIT applies after the binding.

    ``bindings``: variable name (without ?) -> the term in SPARQL syntax (``<iri>``, ``"x"``).
    """
    if not bindings:
        return text
    found = tokens(text)
    form = _form(found)
    if found[form].word == "CONSTRUCT" and found[form + 1].word == "WHERE":
        text = _long_construct(text, found, form)
        found = tokens(text)
        form = _form(found)
    inserts: list[tuple[int, str]] = []
    for index, token in enumerate(found):
        if token.kind != "name" or token.word not in FORMS:
            continue
        if index != form and token.word != "SELECT":
            continue
        group = _where_group(found, index)
        if group is None:
            continue
        names = sorted(bindings) if index == form else _projected(found, index, group, bindings)
        if names:
            inserts.append((found[group].end, _values_block(names, bindings)))
    for offset, block in sorted(inserts, reverse=True):
        text = text[:offset] + " " + block + " " + text[offset:]
    return text


def _projected(found: list[Token], start: int, group: int,
               bindings: dict[str, str]) -> list[str]:
    """The bound variables a sub-query projects (all of them for SELECT *)."""
    projection = found[start + 1:group]
    if any(t.word == "*" for t in projection):
        return sorted(bindings)
    names = {t.raw[1:] for t in projection if is_variable(t)}
    return sorted(name for name in bindings if name in names)


def _values_block(names: list[str], bindings: dict[str, str]) -> str:
    variables = " ".join(f"?{name}" for name in names)
    terms = " ".join(bindings[name] for name in names)
    return f"VALUES ({variables}) {{ ({terms}) }}"


def _long_construct(text: str, found: list[Token], form: int) -> str:
    """``CONSTRUCT WHERE { T }`` written ``CONSTRUCT { T } WHERE { T }``."""
    opening = form + 2
    closing = _close(found, opening)
    template = text[found[opening].start:found[closing].end]
    return f"{text[:found[form + 1].start]}{template} {text[found[form + 1].start:]}"


def operations(update: str) -> Iterator[tuple[int, int, list[Token]]]:
    """The operations of an update request, cut at the ';' outside braces: each one's start
    and end offsets and its tokens (its prologue included)."""
    found = tokens(update)
    depth, start, first = 0, 0, 0
    for index, token in enumerate(found):
        if token.word == "{":
            depth += 1
        elif token.word == "}":
            depth -= 1
        elif token.word == ";" and depth == 0:
            yield start, token.start, found[first:index]
            start, first = token.end, index + 1
    if first < len(found):
        yield start, len(update), found[first:]


def body_index(found: list[Token]) -> int:
    """The index of the first token after the prologue (BASE and PREFIX declarations)."""
    index = 0
    while index < len(found) and found[index].word in ("BASE", "PREFIX"):
        index += 2 if found[index].word == "BASE" else 3
    return index


@short_texts_cached(256)
def with_ordered_pages(text: str) -> str:
    """The query with ``ORDER BY`` (its projected variables) added to each sub-query that has
    LIMIT or OFFSET but no order: a store that does not return rows in one stable order
    (Virtuoso) would otherwise give pages that overlap and miss rows. The outer query is left
    as it is (sorting a whole result to cut it is the client's choice)."""
    found = tokens(text)
    try:
        form = _form(found)
    except ValueError:
        return text
    inserts: list[tuple[int, str]] = []
    for index, token in enumerate(found):
        if index == form or token.kind != "name" or token.word != "SELECT":
            continue
        group = _where_group(found, index)
        if group is None:
            continue
        variables = _projection(found, index, group)
        cut = _unordered_cut(found, _close(found, group) + 1)
        if variables and cut is not None:
            inserts.append((cut, "ORDER BY " + " ".join(variables) + " "))
    for offset, clause in sorted(inserts, reverse=True):
        text = text[:offset] + clause + text[offset:]
    return text


@short_texts_cached(256)
def with_limit(text: str, rows: int) -> str:
    """The query with ``LIMIT rows`` added when its outer query has no LIMIT, OFFSET or
    trailing VALUES (then it is left as it is), so that the store computes and sends only the
    rows a caller reads (a top-k sort, not the whole result sorted and serialised)."""
    found = tokens(text)
    try:
        form = _form(found)
    except ValueError:
        return text
    group = _where_group(found, form) if found[form].word != "ASK" else None
    if group is None:
        return text
    tail = found[_close(found, group) + 1:]
    if any(t.kind == "name" and t.word in ("LIMIT", "OFFSET", "VALUES") for t in tail):
        return text
    return f"{text.rstrip()}\nLIMIT {int(rows)}\n"


def _projection(found: list[Token], start: int, group: int) -> list[str]:
    """The variables a SELECT projects, as written (none for SELECT *)."""
    names, depth, previous = [], 0, ""
    for token in found[start + 1:group]:
        if token.word == "*" and depth == 0:
            return []
        if token.word == "(":
            depth += 1
        elif token.word == ")":
            depth -= 1
        elif is_variable(token) and (depth == 0 or previous == "AS"):
            names.append(token.raw)
        previous = token.word
    return names


def _unordered_cut(found: list[Token], index: int) -> int | None:
    """Where ORDER BY goes among a sub-query's modifiers (the offset of its LIMIT or OFFSET),
    None when it is ordered already or not cut."""
    cut = None
    while index < len(found) and found[index].word != "}":
        word = found[index].word
        if word == "ORDER":
            return None
        if word in ("LIMIT", "OFFSET") and cut is None:
            cut = found[index].start
        index += 1
    return cut
