"""The query catalogue: named SPARQL queries (policykg.sparql, ``sparql/*.rq``) with typed
parameters, bound safely.

Each file opens with a header of ``#+`` comment lines (format: sparql/README.md)::

    #+ title: Publications per JEL top-level category
    #+ description: How many publications fall under each top-level JEL category ...
    #+   (an indented line continues the one above)
    #+ tags: jel, counts
    #+ param: jel | jel-code | O | A JEL code at any level (O, O3, O31)
    #+ param: limit | limit(1000) | 20 | Rows to return

A parameter is the query variable of the same name. Its value is checked against its type and
bound with SPARQL substitutions (SEP-0007, pyoxigraph ``substitutions=``): it never enters the
query text, so ``"} ; DROP ALL ; #`` is just a string. A value of a type that names a thing
of the graph (a JEL code, a region, a division, a person, a keyword, a subject) is found by
its key, code or name, when the caller gives a resolver (the app's ``Names``); a value that
names nothing is refused. Oxigraph substitutes projected variables
only, so each parameter variable is in the SELECT clause (and GROUP BY, if any). The ``limit``
type is not a variable: it caps the rows returned, and the query goes to the store with
``LIMIT`` one row past it (``NamedQuery.sent_text``; none is added to a query with its own).
``limit(1000)`` says the query itself answers 1000 rows at most (a subquery ranks that many).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from itertools import islice
from typing import Any

import pyoxigraph as ox

from policykg.graph.mapping.normalise import slug, tidy
from policykg.graph.rdf.namespaces import XSD
from policykg.graph.rdf.queries import QueryFolder
from policykg.graph.rdf.sparql_text import with_limit
from policykg.graph.rdf.terms import XSD_STRING
from policykg.graph.rdf.uris import DEFAULT_BASE, Uris
from policykg.graph.search import syntax
from policykg.graph.search.names import Resolve, UnknownName, key_pattern
from policykg.graph.search.sparql import MatchError, expand_matches, mentions_matches
from policykg.webapp.context import app_uris

PACKAGE = "policykg.sparql"
HEADER_KEYS = ("title", "description", "tags", "param")
REQUIRED_KEYS = ("title", "description")
MAX_STRING = 200
# The largest LIMIT run() adds: Virtuoso refuses ORDER BY with a LIMIT above 10000 rows (its
# MaxSortedTopRows, error SR353).
LIMIT_ADDED_UP_TO = 10_000
SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+$")

Term = ox.NamedNode | ox.Literal


class CatalogueError(ValueError):
    """A query file whose header is incomplete or wrong."""


class ParameterError(ValueError):
    """A parameter value that does not fit its type; says which parameter and why."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"parameter '{name}': {message}")
        self.name = name


# --- parameter types ----------------------------------------------------------------------


@dataclass(frozen=True)
class ParameterType:
    """What a parameter accepts, its OpenAPI schema, and how a value becomes an RDF term;
    ``facet``: the search facet whose names a value may be (search.names), if any."""

    name: str
    description: str
    schema: dict[str, Any]
    convert: Callable[[str, Uris], Term | int]
    facet: str | None = None


def _integer(text: str, low: int | None = None, high: int | None = None) -> int:
    if not re.fullmatch(r"[+-]?\d{1,18}", text.strip()):
        raise ValueError(f"'{text}' is not a whole number")
    number = int(text)
    if low is not None and high is not None and not low <= number <= high:
        raise ValueError(f"{number} is not from {low} to {high}")
    if low is not None and number < low:
        raise ValueError(f"{number} is less than {low}")
    return number


def _integer_literal(number: int) -> ox.Literal:
    return ox.Literal(str(number), datatype=ox.NamedNode(XSD + "integer"))


def _string(text: str, _: Uris) -> ox.Literal:
    if len(text) > MAX_STRING:
        raise ValueError(f"longer than {MAX_STRING} characters")
    return ox.Literal(text)


def _date(text: str, _: Uris) -> ox.Literal:
    try:
        value = date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"'{text}' is not a date (YYYY-MM-DD)") from None
    return ox.Literal(value.isoformat(), datatype=ox.NamedNode(XSD + "date"))


def _iri(text: str, _: Uris) -> ox.NamedNode:
    if not _IRI.match(text.strip()):
        raise ValueError(f"'{text}' is not an absolute IRI")
    return ox.NamedNode(text.strip())


def _text(text: str, _: Uris) -> ox.Literal:
    if syntax.parse(text) is None:
        raise ValueError(f"'{text}' has no word to search for")
    return ox.Literal(text.strip())


def _person_name(text: str, _: Uris) -> ox.Literal:
    if not slug(text):
        raise ValueError(f"'{text}' has no letter or digit of a name")
    return ox.Literal(key_pattern(text))


def _key(kind: str, pattern: str, prepare: Callable[[str], str]) -> Callable[[str, Uris], Term]:
    def convert(text: str, uris: Uris) -> ox.NamedNode:
        key = prepare(text)
        if not re.fullmatch(pattern, key):
            raise ValueError(f"'{text}' is not {_NOUNS[kind]}")
        return ox.NamedNode(str(uris.id(kind, key)))
    return convert


_NOUNS = {"jel": "a JEL code", "region": "a region or country", "org": "an organisation's key",
          "person": "a person's key or name", "keyword": "a keyword",
          "subject": "a subject", "operation": "an operation number"}


def _region(text: str) -> str:
    text = text.strip()
    return text.upper() if len(text) == 2 else slug(text)


def _type(name: str, description: str, schema: dict[str, Any],
          convert: Callable[[str, Uris], Term | int], facet: str | None = None
          ) -> ParameterType:
    return ParameterType(name, description, schema, convert, facet)


TYPES: dict[str, ParameterType] = {t.name: t for t in (
    _type("string", "Any text (a plain literal)", {"type": "string", "maxLength": MAX_STRING},
          _string),
    _type("integer", "An integer", {"type": "integer"},
          lambda text, _: _integer_literal(_integer(text))),
    _type("year", "A year, e.g. 2023", {"type": "integer", "minimum": 1000, "maximum": 2999},
          lambda text, _: _integer_literal(_integer(text, 1000, 2999))),
    _type("date", "A date, YYYY-MM-DD (xsd:date)", {"type": "string", "format": "date"}, _date),
    _type("iri", "An absolute IRI", {"type": "string", "format": "uri"}, _iri),
    _type("limit", "The most rows to return, a whole number from 1",
          {"type": "integer", "minimum": 1}, lambda text, _: _integer(text, 1)),
    _type("text", "Words to search for, as in the search box: every word by default; OR, "
          '-word, "a phrase", prefix*, title: or author: (case, accents and word endings '
          "ignored)", {"type": "string", "minLength": 1, "maxLength": MAX_STRING}, _text),
    _type("jel-code", "A JEL code at any level (O, O3, O31) or its label (id/jel/{code})",
          {"type": "string", "minLength": 1, "maxLength": MAX_STRING},
          _key("jel", r"[A-Z][0-9]{0,2}", lambda t: t.strip().upper()), "jel"),
    _type("region-key", "A country (its ISO 3166-1 alpha-2 code, JM, or its name, Jamaica) or "
          "a region (its key or name: caribbean, Central America) (id/region/{key})",
          {"type": "string", "minLength": 2, "maxLength": MAX_STRING},
          _key("region", f"[A-Z]{{2}}|{SLUG}", _region), "region"),
    _type("org-key", "A division, department or organisation: its key (ifd-cti), acronym "
          "(IFD/CTI, CTI) or name (id/org/{key})",
          {"type": "string", "minLength": 1, "maxLength": MAX_STRING},
          _key("org", SLUG, str.strip), "division"),
    _type("person", "A person key (rabellotti-roberta) or name (Rabellotti, Roberta) "
          "(id/person/{key})", {"type": "string", "minLength": 1, "maxLength": MAX_STRING},
          _key("person", SLUG, slug), "author"),
    _type("person-name", "A person's name or part of one (Pérez, Javier; javier perez; Rabel): "
          "each word starts a part of the name, in any order, case and accents aside",
          {"type": "string", "minLength": 1, "maxLength": MAX_STRING}, _person_name),
    _type("keyword", "A keyword key or label (regional ecosystem) (id/keyword/{key})",
          {"type": "string", "minLength": 1, "maxLength": MAX_STRING},
          _key("keyword", SLUG, slug), "keyword"),
    _type("subject", "An IDB subject key or label (small business) (id/subject/{key})",
          {"type": "string", "minLength": 1, "maxLength": MAX_STRING},
          _key("subject", SLUG, slug), "subject"),
    _type("operation", "An IDB operation number, e.g. RG-E1776 (id/operation/{number})",
          {"type": "string", "pattern": "^[A-Za-z0-9]+([ -][A-Za-z0-9]+)*$"},
          _key("operation", r"[A-Z0-9]+(?:-[A-Z0-9]+)*",
               lambda t: tidy(t).upper().replace(" ", "-"))),
)}


@dataclass(frozen=True)
class Parameter:
    """One parameter of a named query; ``maximum``: the most rows a ``limit`` parameter's
    query answers of itself (None: as many as the ``max_rows`` setting)."""

    name: str
    type: ParameterType
    default: str | None
    description: str
    maximum: int | None = None

    @property
    def required(self) -> bool:
        return self.default is None

    def most(self, max_rows: int) -> int:
        """The largest value a ``limit`` parameter takes effect with."""
        return max_rows if self.maximum is None else min(self.maximum, max_rows)

    def value(self, raw: str | None, uris: Uris, resolve: Resolve | None = None) -> Term | int:
        """The term (or, for ``limit``, the number) of a value given as text; a value given
        of a type that names things is looked up by ``resolve``, when there is one (a default
        is the query's own key)."""
        if raw is None or raw == "":
            if self.default is None:
                raise ParameterError(self.name, "is required")
            raw, resolve = self.default, None
        facet = self.type.facet
        try:
            if resolve is not None and facet is not None:
                return ox.NamedNode(resolve(facet, raw))
            return self.type.convert(raw, uris)
        except UnknownName as error:  # its message says what to give
            raise ParameterError(self.name, str(error)) from None
        except ValueError as error:
            raise ParameterError(self.name, f"{error}; expected "
                                 f"{_sentence(self.type.description)}") from None


def _sentence(description: str) -> str:
    """A type's description inside a sentence: its first letter in lower case."""
    return description[:1].lower() + description[1:]


# --- named queries ------------------------------------------------------------------------


@dataclass(frozen=True)
class Binding:
    """A query's parameters bound: the substitutions and the row cap."""

    substitutions: dict[ox.Variable, Term]
    limit: int


@dataclass(frozen=True)
class NamedQuery:
    """A query of the catalogue: its header and its SPARQL text."""

    name: str
    title: str
    description: str
    text: str
    tags: tuple[str, ...] = ()
    parameters: tuple[Parameter, ...] = field(default_factory=tuple)

    def bind(self, args: Mapping[str, str], uris: Uris, max_rows: int,
             resolve: Resolve | None = None) -> Binding:
        """Check and convert the given values (text), defaults for the rest; ``resolve``
        finds the things values name (search.names.Names.resolve)."""
        known = {p.name for p in self.parameters}
        unknown = sorted(set(args) - known)
        if unknown:
            raise ParameterError(unknown[0], f"no such parameter; this query takes "
                                 f"{', '.join(sorted(known)) or 'no parameters'}")
        substitutions: dict[ox.Variable, Term] = {}
        limit = max_rows
        for parameter in self.parameters:
            value = parameter.value(args.get(parameter.name), uris, resolve)
            if isinstance(value, int):
                limit = min(value, parameter.most(max_rows))
            else:
                substitutions[ox.Variable(parameter.name)] = value
        return Binding(substitutions, limit)

    def sent_text(self, binding: Binding) -> str:
        """The text ``run`` gives the store: the query with ``LIMIT`` one row past the cap (so
        that a cut shows), when it has no outer LIMIT of its own and the cap is at most
        LIMIT_ADDED_UP_TO. The store then sorts for the top rows only and sends those,
        instead of the whole result."""
        if binding.limit + 1 > LIMIT_ADDED_UP_TO:
            return self.text
        return with_limit(self.text, binding.limit + 1)

    def example(self, uris: Uris) -> str:
        """The query as it runs with its defaults, for a SPARQL editor: the defaults in a
        VALUES block opening each WHERE (subqueries too: they do not see the outer one's
        bindings), and a LIMIT. Defaults only, never a request's values (those are bound with
        substitutions)."""
        terms = {p.name: p.value(None, uris) for p in self.parameters if not p.required}
        text = self.text
        for parameter in self.parameters:  # a search text is written into its pattern
            term = terms.get(parameter.name)
            if parameter.type.name == "text" and isinstance(term, ox.Literal):
                pattern = re.compile(rf"(pkg:matches\s+)\?{parameter.name}\b")
                text = pattern.sub(r"\g<1>" + str(term).replace("\\", "\\\\"), text)
        bound = {name: term for name, term in terms.items() if not isinstance(term, int)}
        if bound:
            names = " ".join(f"?{name}" for name in bound)
            values = " ".join(_sparql_term(term) for term in bound.values())
            block = f" VALUES ({names}) {{ ({values}) }}"
            if not _WHERE.search(text):
                raise CatalogueError(f"{self.name}: no 'WHERE {{' to open")
            text = _WHERE.sub(lambda match: match.group(0) + block, text)
        limits = [term for term in terms.values() if isinstance(term, int)]
        if limits:
            text = text.rstrip() + f"\nLIMIT {limits[0]}\n"
        return text


_WHERE = re.compile(r"^(?!\s*#)(.*?\bWHERE\s*\{)", re.IGNORECASE | re.MULTILINE)


def _sparql_term(term: Term) -> str:
    """A term written as SPARQL (N-Triples syntax is valid SPARQL)."""
    return str(term)


def parse(name: str, text: str) -> NamedQuery:
    """A named query from its file's text; CatalogueError when the header is incomplete."""
    header: dict[str, list[str]] = {key: [] for key in HEADER_KEYS}
    last: str | None = None
    for line in text.splitlines():
        if not line.startswith("#+"):
            continue
        body = line[2:]
        if body.startswith("   ") and last is not None:
            header[last][-1] += " " + body.strip()
            continue
        key, colon, value = body.strip().partition(":")
        if not colon or key.strip() not in HEADER_KEYS:
            raise CatalogueError(f"{name}: unknown header line '{line}' "
                                 f"(keys: {', '.join(HEADER_KEYS)})")
        last = key.strip()
        header[last].append(value.strip())
    for key in REQUIRED_KEYS:
        if len(header[key]) != 1 or not header[key][0]:
            raise CatalogueError(f"{name}: the header needs exactly one '#+ {key}:'")
    parameters = tuple(_parameter(name, line) for line in header["param"])
    tags = tuple(t.strip() for line in header["tags"] for t in line.split(",") if t.strip())
    return NamedQuery(name, header["title"][0], header["description"][0], text, tags,
                      parameters)


_BOUNDED_LIMIT = re.compile(r"limit\((\d+)\)")


def _parameter(query: str, line: str) -> Parameter:
    parts = [part.strip() for part in line.split("|")]
    if len(parts) != 4 or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", parts[0]):
        raise CatalogueError(f"{query}: a param line is 'name | type | default | description'"
                             f", not '{line}'")
    name, type_name, default, description = parts
    bounded = _BOUNDED_LIMIT.fullmatch(type_name)
    maximum = int(bounded.group(1)) if bounded else None
    type_name = "limit" if bounded else type_name
    if type_name not in TYPES:
        raise CatalogueError(f"{query}: parameter '{name}' has unknown type '{type_name}' "
                             f"(types: {', '.join(TYPES)}, limit(N))")
    if not description:
        raise CatalogueError(f"{query}: parameter '{name}' has no description")
    return Parameter(name, TYPES[type_name], default or None, description, maximum)


@cache
def catalogue() -> dict[str, NamedQuery]:
    """Every named query of policykg.sparql, by name (the file name without .rq)."""
    found = {}
    folder = QueryFolder(PACKAGE)
    for file_name in folder.names():
        name = file_name.removesuffix(".rq")
        found[name] = parse(name, folder.text(file_name))
    return found


# --- running ------------------------------------------------------------------------------


@dataclass
class Result:
    """Rows of a named query: variable names, at most ``limit`` solutions, whether cut."""

    variables: list[str]
    rows: list[ox.QuerySolution]
    truncated: bool


def run(query: NamedQuery, store: Any, args: Mapping[str, str], uris: Uris,
        max_rows: int, resolve: Resolve | None = None) -> Result:
    """Run a named query with parameter values given as text (ParameterError if one is bad;
    ``resolve``: how values name things, see ``NamedQuery.bind``)."""
    binding = query.bind(args, uris, max_rows, resolve)
    text, substitutions = query.sent_text(binding), binding.substitutions
    if mentions_matches(text):
        texts = {variable.value: term.value for variable, term in substitutions.items()
                 if isinstance(term, ox.Literal)}
        try:
            text = expand_matches(text, store.text_index().matches, bindings=texts)
        except MatchError as error:
            raise CatalogueError(f"{query.name}: {error}") from error
        substitutions = {v: term for v, term in substitutions.items() if v.value not in texts
                         or f"?{v.value}" in text}
    solutions = store.query(text, substitutions=substitutions)
    rows = list(islice(solutions, binding.limit + 1))
    return Result([v.value for v in solutions.variables], rows[:binding.limit],
                  len(rows) > binding.limit)


def catalogue_examples(uris: Uris | None = None) -> list[dict[str, str]]:
    """The named queries as examples for a SPARQL editor: name, title, query (with defaults)."""
    uris = uris or _current_uris()
    return [{"name": q.name, "title": q.title, "query": q.example(uris)}
            for q in catalogue().values()]


def _current_uris() -> Uris:
    try:

        return app_uris()
    except (RuntimeError, KeyError):
        return Uris(DEFAULT_BASE)


def solutions_json(result: Result) -> dict[str, Any]:
    """SPARQL 1.1 Query Results JSON of a result (this runs for every term of every answer of
    the API: rows are walked by position, not looked up by variable name)."""
    variables = result.variables
    bindings = [{name: term_json(term) for name, term in zip(variables, row, strict=True)
                 if term is not None} for row in result.rows]
    return {"head": {"vars": variables}, "results": {"bindings": bindings}}


def term_json(term: Any) -> dict[str, str]:
    """One RDF term in SPARQL Results JSON."""
    kind = type(term)
    if kind is ox.NamedNode:
        return {"type": "uri", "value": term.value}
    if kind is ox.BlankNode:
        return {"type": "bnode", "value": term.value}
    if term.language:
        return {"type": "literal", "value": term.value, "xml:lang": term.language}
    datatype = term.datatype.value
    if datatype == XSD_STRING:
        return {"type": "literal", "value": term.value}
    return {"type": "literal", "value": term.value, "datatype": datatype}


def csv_rows(result: Result) -> Iterator[list[str]]:
    """SPARQL 1.1 Query Results CSV rows: the header, then plain values ('' when unbound)."""
    yield result.variables
    for row in result.rows:
        yield ["" if row[name] is None else row[name].value for name in result.variables]
