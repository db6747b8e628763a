"""What a request may not do, checked where it runs (a query process, inside its time limit):
nest deeper than the parsers take, or make this server call another host (SERVICE outside
``service_allow``, LOAD); and the protocol's using-graph parameters written as USING clauses of
an update. Nothing here parses more than the tokens of the text, in time linear in it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urljoin

from policykg.graph.rdf.sparql_text import Token, check_nesting, is_variable, tokens

_SERVICE = re.compile(r"(?i)\bservice\b")
_LOAD = re.compile(r"(?i)\bload\b")


class Refused(ValueError):
    """A request this server will not run (answered 400 with the reason)."""


def checked(text: str, update: bool, service_allow: tuple[str, ...] = (),
            base_iri: str | None = None, using: tuple[str, ...] = (),
            using_named: tuple[str, ...] = ()) -> str:
    """The request as it is to run (an update with its USING clauses), once it passed every
    check; else Refused (or TooDeep) saying why."""
    check_nesting(text)
    check_calls(text, update, service_allow, base_iri)
    return with_using(text, list(using), list(using_named)) if update else text


def check_calls(text: str, update: bool, service_allow: tuple[str, ...] = (),
                base_iri: str | None = None) -> None:
    """Refuse SERVICE outside ``service_allow`` and LOAD: no request may make us call out.

    A SERVICE keyword (outside strings, IRIs and comments) must name an allowed endpoint: an
    IRI or a prefixed name, resolved as the parser resolves it (a variable is refused); an
    update may not LOAD.
    """
    if not (_SERVICE.search(text) or (update and _LOAD.search(text))):
        return  # neither word anywhere: no need for the tokens
    allowed = set(service_allow)
    for word, endpoint, written in _calls(tokens(text), base_iri):
        if word == "LOAD" and update:
            raise Refused("LOAD is not allowed: this server fetches nothing")
        if word == "SERVICE" and (endpoint is None or endpoint not in allowed):
            raise Refused(f"SERVICE {written} is not allowed: federated queries may only call "
                          "the endpoints in service_allow")


def _calls(found: list[Token], base_iri: str | None) -> Iterator[tuple[str, str | None, str]]:
    """(SERVICE or LOAD, the endpoint's IRI or None when it is not one, as written), with the
    PREFIX and BASE declarations met before each."""
    prefixes: dict[str, str] = {}
    base = base_iri or ""
    for index, token in enumerate(found):
        if token.kind != "name":
            continue
        following = found[index + 1:index + 3]
        if token.word == "BASE" and following and following[0].kind == "iri":
            base = urljoin(base, following[0].raw[1:-1])
        elif (token.word == "PREFIX" and len(following) == 2 and following[1].kind == "iri"
              and following[0].raw.endswith(":")):
            prefixes[following[0].raw[:-1]] = urljoin(base, following[1].raw[1:-1])
        elif token.word in ("SERVICE", "LOAD"):
            target = next((t for t in following if t.word != "SILENT"), None)
            yield token.word, _iri(target, prefixes, base), target.raw if target else "(none)"


def _iri(token: Token | None, prefixes: dict[str, str], base: str) -> str | None:
    """The IRI a token names (None: a variable, or not an IRI)."""
    if token is None:
        return None
    if token.kind == "iri":
        return urljoin(base, token.raw[1:-1])
    if token.kind == "name" and not is_variable(token) and ":" in token.raw:
        prefix, _, local = token.raw.partition(":")
        namespace = prefixes.get(prefix)
        return None if namespace is None else namespace + local
    return None


def with_using(text: str, using: list[str], using_named: list[str]) -> str:
    """An update with the protocol's using-graph-uri / using-named-graph-uri as USING clauses.

    They apply to every DELETE/INSERT ... WHERE operation; an update that has its own USING or
    WITH cannot take them (Refused).
    """
    if not using and not using_named:
        return text
    clauses = "".join(f"USING <{iri}> " for iri in using)
    clauses += "".join(f"USING NAMED <{iri}> " for iri in using_named)
    pieces, last, depth, previous = [], 0, 0, ""
    for token in tokens(text):
        kind, word, offset = token.kind, token.word, token.start
        if kind == "punct" and word in "{}":
            depth += 1 if word == "{" else -1
        elif depth == 0 and kind == "name":
            if word in ("USING", "WITH"):
                raise Refused(f"the update has its own {word} clause: it cannot also take "
                              "using-graph-uri or using-named-graph-uri")
            if word == "WHERE" and previous != "DELETE":
                pieces += [text[last:offset], clauses]
                last = offset
        if depth == 0:
            previous = word
    return "".join([*pieces, text[last:]])
