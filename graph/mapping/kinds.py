"""The kinds of value a mapping rule can name (text, date, person, concept ...) and how a
value of each becomes triples: ``KINDS`` maps a kind's name to its handler, which writes through
an ``Emitter`` or raises InvalidValue / DoubtfulValue.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from rdflib import RDF, RDFS, SKOS, BNode, Literal, URIRef
from rdflib.namespace import FOAF, XSD
from rdflib.term import Node

from policykg.graph.mapping import normalise
from policykg.graph.mapping.lookups import Lookups
from policykg.graph.mapping.normalise import DoubtfulValue, InvalidValue
from policykg.graph.rdf.namespaces import PKG
from policykg.graph.rdf.terms import Triple
from policykg.graph.rdf.uris import Uris
from policykg.graph.readers.record import FieldValue

ORGANISATION_WORDS = frozenset(tomllib.loads(
    (resources.files("policykg.graph") / "data" / "organisation-words.toml").read_text("utf-8")
)["words"])
# The terms every record uses, looked up once: rdflib's namespace classes check each
# attribute access, a few hundred times a record.
_TYPE = RDF.type
_LABEL, _CONCEPT, _IN_SCHEME, _PREF_LABEL, _NOTATION = (
    RDFS.label, SKOS.Concept, SKOS.inScheme, SKOS.prefLabel, SKOS.notation)
_PERSON, _NAME, _FAMILY_NAME, _GIVEN_NAME = (
    FOAF.Person, FOAF.name, FOAF.familyName, FOAF.givenName)


@dataclass(frozen=True)
class FieldRule:
    """How one DSpace field becomes RDF: its kind, its property and the kind's options."""

    field: str
    kind: str
    property: URIRef
    options: dict[str, str]


# Names, labels and keywords recur from record to record: their folded and slugged forms are
# computed once per process.
_slug = lru_cache(maxsize=65_536)(normalise.slug)


@dataclass
class Emitter:
    """What a kind handler needs: where to write, about what, and how to name things."""

    triples: set[Triple]
    subject: URIRef
    uris: Uris
    lookups: Lookups
    language: str | None
    lists: dict[URIRef, list[URIRef]] = field(default_factory=dict)
    sources: dict[str, list[FieldValue]] = field(default_factory=dict)
    current: FieldValue | None = None  # the value being mapped

    def add(self, predicate: URIRef, obj: URIRef | Literal | BNode) -> None:
        self.triples.add((self.subject, predicate, obj))
        self._source(obj)

    def about(self, subject: URIRef, predicate: URIRef, obj: URIRef | Literal) -> None:
        self.triples.add((subject, predicate, obj))
        self._source(obj)

    def _source(self, obj: Node) -> None:
        if self.current is not None:
            found = self.sources.setdefault(str(obj), [])
            if self.current not in found:
                found.append(self.current)

    def text(self, fv: FieldValue, value: str | None = None) -> Literal:
        """A value as a literal in the value's language, else the record's (if any is a tag)."""
        language = normalise.language_tag(fv.language) or self.language
        return Literal(fv.value if value is None else value, lang=language)

    def label(self, fv: FieldValue, name: str) -> Literal:
        """A name taken from a value, in the value's own language (if it has a tag)."""
        return Literal(name, lang=normalise.language_tag(fv.language))


# Kind handlers: each adds the triples of one value or raises InvalidValue.


def _text(out: Emitter, rule: FieldRule, fv: FieldValue) -> None:
    out.add(rule.property, out.text(fv))


def _string(out: Emitter, rule: FieldRule, fv: FieldValue) -> None:
    out.add(rule.property, Literal(normalise.tidy(fv.value)))


def _date(out: Emitter, rule: FieldRule, fv: FieldValue) -> None:
    out.add(rule.property, normalise.date(fv.value))


def _page_count(out: Emitter, rule: FieldRule, fv: FieldValue) -> None:
    out.add(rule.property, Literal(normalise.page_count(fv.value), datatype=XSD.integer))


def _doi(out: Emitter, rule: FieldRule, fv: FieldValue) -> None:
    bare = normalise.doi(fv.value)
    out.add(rule.property, Literal(bare))
    if "same-as" in rule.options:
        out.add(URIRef(rule.options["same-as"]), normalise.doi_iri(bare))


def _iri(out: Emitter, rule: FieldRule, fv: FieldValue) -> None:
    out.add(rule.property, normalise.web_address(fv.value))


def _language(out: Emitter, rule: FieldRule, fv: FieldValue) -> None:
    unknown = []
    for part in normalise.language_parts(fv.value):
        try:
            out.add(rule.property, normalise.language_iri(part))
        except DoubtfulValue:
            unknown.append(part)
    if unknown:
        raise DoubtfulValue(f"{', '.join(map(repr, unknown))}: no ISO 639 language code")


def _person(out: Emitter, rule: FieldRule, fv: FieldValue) -> None:
    if "organisations" in rule.options:
        organisation = _corporate(out, rule.options["organisations"], fv)
        if organisation is not None:
            _in_order(out, rule, organisation)
            return
    family, given, display = normalise.person_name(fv.value)
    if not _slug(display):
        raise InvalidValue(f"'{fv.value}' is not a person's name")
    person = out.uris.id("person", _slug(f"{family} {given or ''}"))
    out.about(person, _TYPE, _PERSON)
    out.about(person, _NAME, Literal(display))
    out.about(person, _FAMILY_NAME, Literal(family))
    if given:
        out.about(person, _GIVEN_NAME, Literal(given))
    _in_order(out, rule, person)


def _in_order(out: Emitter, rule: FieldRule, agent: URIRef) -> None:
    """An author (or editor), in the list that keeps their order when the rule has one."""
    out.add(rule.property, agent)
    if "ordered" in rule.options:
        members = out.lists.setdefault(URIRef(rule.options["ordered"]), [])
        if agent not in members:
            members.append(agent)


def _corporate(out: Emitter, vocabulary: str, fv: FieldValue) -> URIRef | None:
    """The organisation an author's name is, if it is one's: the vocabulary's, found by any
    of its names, else one minted from the name when its words say it is an organisation's
    (graph/data/organisation-words.toml); None for a person's name."""
    name = normalise.tidy(fv.value)
    found = out.lookups.find(vocabulary, name)
    if found is not None:
        return found
    words = normalise.slug(name).split("-")
    if ("," in name and len(words) <= 3) or not ORGANISATION_WORDS.intersection(words):
        return None
    return _minted_organisation(out, fv, name)


def _minted_organisation(out: Emitter, fv: FieldValue, name: str) -> URIRef:
    """An organisation the vocabularies do not have, under id/org/ by its name."""
    found = out.uris.id("org", _slug(name))
    out.about(found, _TYPE, FOAF.Organization)
    out.about(found, _LABEL, out.label(fv, name))
    return found


def _organisation(out: Emitter, rule: FieldRule, fv: FieldValue) -> None:
    name = normalise.tidy(fv.value)
    found = out.lookups.find(rule.options.get("vocabulary", "org"), name)
    if found is None:
        found = _minted_organisation(out, fv, name)
    out.add(rule.property, found)


def _region(out: Emitter, rule: FieldRule, fv: FieldValue) -> None:
    out.add(rule.property, _named(out, fv, "regions", "region"))


def _named(out: Emitter, fv: FieldValue, vocabulary: str, kind: str) -> URIRef:
    """The thing of a vocabulary a value names; else one minted under ``kind`` and labelled
    with the value."""
    name = normalise.tidy(fv.value)
    found = out.lookups.find(vocabulary, name)
    if found is None:
        found = out.uris.id(kind, _slug(name))
        out.about(found, _LABEL, out.label(fv, name))
    return found


def _concept(out: Emitter, rule: FieldRule, fv: FieldValue, label: str | None = None) -> None:
    label = normalise.tidy(label or fv.value)
    scheme = rule.options["scheme"]
    kind = {"subjects": "subject", "keywords": "keyword"}.get(scheme, scheme)
    key = _slug(label)
    if not key:
        raise InvalidValue(f"'{label}' has no letters or digits")
    concept = out.uris.id(kind, key)
    out.about(concept, _TYPE, _CONCEPT)
    out.about(concept, _IN_SCHEME, out.uris.id("scheme", scheme))
    out.about(concept, _PREF_LABEL, out.text(fv, label))
    out.add(rule.property, concept)


def _keywords(out: Emitter, rule: FieldRule, fv: FieldValue) -> None:
    for keyword in normalise.keywords(fv.value):
        _concept(out, rule, fv, keyword)


def _jel(out: Emitter, rule: FieldRule, fv: FieldValue) -> None:
    code, _label = normalise.jel_code(fv.value)
    out.add(rule.property, out.uris.id("jel", code))
    if "recorded-as" in rule.options:
        out.add(URIRef(rule.options["recorded-as"]), Literal(normalise.tidy(fv.value)))


def _doctype(out: Emitter, rule: FieldRule, fv: FieldValue) -> None:
    concept = _named(out, fv, "doctypes", "doctype")
    out.add(rule.property, concept)
    for class_iri in out.lookups.document_classes.get(concept, []):
        out.add(_TYPE, class_iri)


def _operation(out: Emitter, rule: FieldRule, fv: FieldValue) -> None:
    number = normalise.tidy(fv.value).upper()
    if not _slug(number):
        raise InvalidValue(f"'{fv.value}' is not an operation number")
    operation = out.uris.id("operation", number.replace(" ", "-"))
    out.about(operation, _TYPE, PKG.Operation)
    out.about(operation, _NOTATION, Literal(number))
    out.about(operation, _LABEL, Literal(number))
    out.add(rule.property, operation)


KINDS: dict[str, Callable[[Emitter, FieldRule, FieldValue], None]] = {
    "text": _text,
    "string": _string,
    "date": _date,
    "page-count": _page_count,
    "doi": _doi,
    "iri": _iri,
    "language": _language,
    "person": _person,
    "organisation": _organisation,
    "region": _region,
    "concept": _concept,
    "keywords": _keywords,
    "jel": _jel,
    "doctype": _doctype,
    "operation": _operation,
}
