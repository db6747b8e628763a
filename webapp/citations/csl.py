"""A publication's CSL-JSON item, made from its RDF: the one citation form from which BibTeX,
RIS, formatted references and the pages' citation_* tags are all made.

The RDF is a ``Description`` (describe.py): a publication's own description, or the triples
of several publications at once (citation.rq, for an export), which ``objects`` reads by
subject either way. The CSL types of the classes are data (citations.toml).

    item = csl_item(description, "http://localhost:8000/id/publication/IDB-LM-00577")
    items = csl_items(store, [iri, ...])      # one query for all of them
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from importlib.resources import files
from typing import Any

import pyoxigraph as ox

from policykg.graph.rdf.namespaces import BIBO, DCTERMS, FOAF, PKG, RDF
from policykg.graph.rdf.queries import QueryFolder
from policykg.graph.rdf.terms import value_of
from policykg.webapp.linked_data.describe import Description, Term, best_label

CITATION_QUERIES = QueryFolder("policykg.webapp.citations", "queries")
LANGUAGES = "http://id.loc.gov/vocabulary/iso639-1/"
_DATE = re.compile(r"^(-?\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")
CSLItem = dict[str, Any]


@cache
def settings() -> dict[str, Any]:
    """The citation settings (citations.toml), read once."""
    text = files("policykg.webapp.citations").joinpath("citations.toml").read_text("utf-8")
    return tomllib.loads(text)


@cache
def _class_types() -> tuple[tuple[str, str], ...]:
    """(class IRI, CSL type), in the order of citations.toml (its classes are pkg: CURIEs)."""
    return tuple((PKG + curie.removeprefix("pkg:"), csl_type)
                 for curie, csl_type in settings()["csl"]["types"])


def csl_item(description: Description, iri: str) -> CSLItem:
    """The CSL-JSON item of the publication ``iri`` described in ``description``."""
    this = ox.NamedNode(iri)
    languages = [value_of(t)[len(LANGUAGES):] for t in description.objects(DCTERMS + "language",
                                                                            this)
                 if value_of(t).startswith(LANGUAGES)]
    language = languages[0] if languages else "en"
    number = _text(description, this, PKG + "publicationNumber")
    item: CSLItem = {
        "id": number or iri.rstrip("/").rsplit("/", 1)[-1],
        "type": _csl_type(description, this),
        "title": _text(description, this, DCTERMS + "title", language),
        "author": [_name(description, person) for person in _authors(description, this)],
        "issued": _date(_text(description, this, DCTERMS + "issued")),
        "DOI": _text(description, this, BIBO + "doi"),
        "publisher": _label(description, DCTERMS + "publisher", this),
        "number": number,
        "genre": _label(description, DCTERMS + "type", this),
        "URL": _url(description, this) or iri,
        "abstract": _text(description, this, DCTERMS + "abstract", language),
        "language": language if languages else None,
        "keyword": ", ".join(sorted(_labels(description, PKG + "keyword", this),
                                    key=str.lower)) or None,
        "ISBN": _text(description, this, BIBO + "isbn"),
        "ISSN": _text(description, this, BIBO + "issn"),
        "number-of-pages": _text(description, this, BIBO + "numPages"),
    }
    return {key: value for key, value in item.items() if value not in (None, "", [])}


def csl_items(store, iris: list[str]) -> list[CSLItem]:
    """The CSL-JSON items of several publications, in their order, read by one query
    (citation.rq); a publication the store does not have gives no item."""
    if not iris:
        return []
    listed = " ".join(str(ox.NamedNode(iri)) for iri in iris)
    text = CITATION_QUERIES.text("citation.rq").replace("#PUBLICATIONS", listed)
    triples = {ox.Triple(row["s"], row["p"], row["o"]) for row in store.query(text)}
    described = Description(ox.NamedNode(iris[0]), own=triples)
    known = {t.subject for t in triples}
    return [csl_item(described, iri) for iri in iris if ox.NamedNode(iri) in known]


def _csl_type(description: Description, this: ox.NamedNode) -> str:
    classes = {value_of(t) for t in description.objects(RDF + "type", this)}
    found = (csl_type for iri, csl_type in _class_types() if iri in classes)
    return next(found, settings()["csl"]["default-type"])


def _text(description: Description, this: Term, predicate: str,
          language: str = "en") -> str | None:
    """The literal of ``predicate`` in ``language``, else English, else untagged, else any."""
    literals = [t for t in description.objects(predicate, this) if isinstance(t, ox.Literal)]
    ranked = sorted(literals, key=lambda lit: (_language_rank(lit, language), lit.value))
    return ranked[0].value if ranked else None


def _language_rank(literal: ox.Literal, language: str) -> int:
    tag = (literal.language or "").split("-")[0]
    return 0 if tag == language else 1 if tag == "en" else 2 if not tag else 3


def _labels(description: Description, predicate: str, this: Term) -> list[str]:
    """The (English) labels of the things ``this`` links to by ``predicate``."""
    found = []
    for thing in description.objects(predicate, this):
        label = best_label(description.labels.get(thing, []))
        if label:
            found.append(label)
    return found


def _label(description: Description, predicate: str, this: Term) -> str | None:
    labels = _labels(description, predicate, this)
    return labels[0] if labels else None


def _authors(description: Description, this: ox.NamedNode) -> list[Term]:
    """The creators in the order of the author list, then any others."""
    heads = description.objects(BIBO + "authorList", this)
    ordered = description.rdf_list(heads[0]) if heads else []
    others = [c for c in description.objects(DCTERMS + "creator", this) if c not in ordered]
    return [*ordered, *others]


def _name(description: Description, person: Term) -> dict[str, str]:
    """A CSL name: family and given names, else the name as written (literal)."""
    family = _text(description, person, FOAF + "familyName")
    given = _text(description, person, FOAF + "givenName")
    if family:
        return {"family": family, "given": given} if given else {"family": family}
    name = _text(description, person, FOAF + "name")
    return {"literal": name or value_of(person).rsplit("/", 1)[-1]}


def _date(value: str | None) -> dict[str, list[list[int]]] | None:
    """A CSL date from an xsd:dateTime, date, gYearMonth or gYear."""
    match = _DATE.match(value or "")
    if not match:
        return None
    return {"date-parts": [[int(part) for part in match.groups() if part]]}


def _url(description: Description, this: ox.NamedNode) -> str | None:
    pages = sorted(value_of(t) for t in description.objects(FOAF + "page", this)
                   if value_of(t).startswith(("http://", "https://")))
    return pages[0] if pages else None
