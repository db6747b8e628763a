"""A SPARQL syntax error as a person reads it: where the parser stopped, the line with a caret,
and the word before that place that is no SPARQL keyword (a misspelled one, most likely).

pyoxigraph says ``error at 1:10: expected CONSTRUCT`` for ``SELEC ?x WHERE {...}``: the place
where its parser gave up, which is often past the word at fault. A bare word (not a variable,
IRI, prefixed name, literal or language tag) can only be a keyword in SPARQL, so the last bare
word before that place that is not one is pointed at, with the keyword it is closest to.

    explain("SELEC ?x WHERE { ?x ?p ?o }", "error at 1:10: expected CONSTRUCT")
"""

from __future__ import annotations

import difflib
import re

from policykg.graph.rdf.sparql_text import Token, tokens

# SPARQL 1.1 Query and Update keywords and built-in functions, with RDF-star's and the
# LATERAL join pyoxigraph reads.
KEYWORDS = frozenset((
    "BASE", "PREFIX", "SELECT", "CONSTRUCT", "DESCRIBE", "ASK", "FROM", "NAMED", "WHERE", "ORDER",
    "BY", "ASC", "DESC", "LIMIT", "OFFSET", "VALUES", "DISTINCT", "REDUCED", "OPTIONAL", "GRAPH",
    "SERVICE", "SILENT", "BIND", "UNDEF", "MINUS", "UNION", "FILTER", "AS", "GROUP", "HAVING",
    "NOT", "IN", "EXISTS", "A", "TRUE", "FALSE", "SEPARATOR", "LATERAL", "LOAD", "CLEAR", "DROP",
    "CREATE", "ADD", "MOVE", "COPY", "INSERT", "DELETE", "DATA", "WITH", "USING", "DEFAULT",
    "ALL", "INTO", "TO", "STR", "LANG", "LANGMATCHES", "DATATYPE", "BOUND", "IRI", "URI", "BNODE",
    "RAND", "ABS", "CEIL", "FLOOR", "ROUND", "CONCAT", "STRLEN", "UCASE", "LCASE",
    "ENCODE_FOR_URI", "CONTAINS", "STRSTARTS", "STRENDS", "STRBEFORE", "STRAFTER", "YEAR",
    "MONTH", "DAY", "HOURS", "MINUTES", "SECONDS", "TIMEZONE", "TZ", "NOW", "UUID", "STRUUID",
    "MD5", "SHA1", "SHA256", "SHA384", "SHA512", "COALESCE", "IF", "STRLANG", "STRDT", "SAMETERM",
    "ISIRI", "ISURI", "ISBLANK", "ISLITERAL", "ISNUMERIC", "REGEX", "SUBSTR", "REPLACE", "COUNT",
    "SUM", "MIN", "MAX", "AVG", "SAMPLE", "GROUP_CONCAT", "TRIPLE", "SUBJECT", "PREDICATE",
    "OBJECT", "ISTRIPLE",
))
# Keywords of two words, as a misspelling that runs them together reads ("GROUPBY").
_JOINED = {"GROUPBY": "GROUP BY", "ORDERBY": "ORDER BY", "INSERTDATA": "INSERT DATA",
           "DELETEDATA": "DELETE DATA", "DELETEWHERE": "DELETE WHERE"}
_CANDIDATES = {**{word: word for word in KEYWORDS}, **_JOINED}
_PLACE = re.compile(r"error at (\d+):(\d+): (.*)", re.S)
EXPECTED_CHARS = 120  # a longer "expected ..." list (character ranges) is cut


def explain(query: str, message: str) -> str:
    """pyoxigraph's syntax error ``message`` about ``query`` as lines a person reads: where,
    what was expected, the line with a caret under the word at fault (or the place)."""
    found = _PLACE.fullmatch(message.strip())
    lines = query.split("\n")
    if found is None or not 1 <= int(found[1]) <= len(lines):
        return message
    line, column, expected = int(found[1]), int(found[2]), found[3]
    expected = expected.split(", [", 1)[0]  # character ranges do not help a person
    if len(expected) > EXPECTED_CHARS:
        expected = expected[:EXPECTED_CHARS] + "…"
    place = sum(len(text) + 1 for text in lines[:line - 1]) + column - 1
    said = [f"line {line}, column {column}: {expected}"]
    suspect = _suspect(query, place)
    if suspect is None:
        return "\n".join(said + _caret(query, place, 1))
    token, keyword = suspect
    hint = f"did you mean {keyword}?" if keyword else "it is no SPARQL keyword"
    return "\n".join(said + _caret(query, token.start, len(token.raw))
                     + [f"{token.raw!r}: {hint}"])


def _suspect(query: str, place: int) -> tuple[Token, str | None] | None:
    """The last bare word up to ``place`` that is no keyword, and the keyword closest to it."""
    found = [token for token in tokens(query) if token.start <= place]
    for index in range(len(found) - 1, -1, -1):
        token = found[index]
        tag = index > 0 and found[index - 1].raw == "@" and found[index - 1].end == token.start
        if token.kind != "name" or tag or not _bare(token.raw):
            continue
        if token.word in KEYWORDS:
            continue
        close = difflib.get_close_matches(token.word, _CANDIDATES, n=1, cutoff=0.75)
        return token, _CANDIDATES[close[0]] if close else None
    return None


def _bare(word: str) -> bool:
    """A word that can only be a keyword: no variable, prefixed name, number or escape."""
    return word[:1].isalpha() and ":" not in word and "\\" not in word and "%" not in word


def _caret(query: str, offset: int, width: int) -> list[str]:
    """The line holding ``offset``, and carets under ``width`` characters from it."""
    start = query.rfind("\n", 0, offset) + 1
    end = query.find("\n", offset)
    text = query[start:end if end >= 0 else len(query)].rstrip("\r")
    indent = len(text[:offset - start].expandtabs())
    return [f"  {text.expandtabs()}", "  " + " " * indent + "^" * max(width, 1)]
