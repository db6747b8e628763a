"""The declarative mapping from DSpace fields to RDF, and its application to one record.

The rules live in a TOML file (graph/data/mapping-idb.toml by default, ``--mapping`` for
another repository); this module only knows the *kinds* of value a rule can name.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from urllib.parse import quote, unquote

from rdflib import RDF, RDFS, SKOS, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import FOAF, XSD
from rdflib.term import Node

from policykg.graph.mapping import normalise
from policykg.graph.mapping.lookups import Lookups
from policykg.graph.mapping.normalise import DoubtfulValue, InvalidValue
from policykg.graph.rdf.flatstore import flat_graph
from policykg.graph.rdf.namespaces import DSF, PKG
from policykg.graph.rdf.terms import Triple
from policykg.graph.rdf.uris import Uris
from policykg.graph.readers.record import FieldValue, Problem, Record

DEFAULT_MAPPING = "mapping-idb.toml"
ORGANISATION_WORDS = frozenset(tomllib.loads(
    (resources.files("policykg.graph") / "data" / "organisation-words.toml").read_text("utf-8")
)["words"])
# The terms every record uses, looked up once: rdflib's namespace classes check each
# attribute access (half a microsecond, a few hundred times a record).
_TYPE, _FIRST, _REST, _NIL = RDF.type, RDF.first, RDF.rest, RDF.nil
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


@dataclass(frozen=True)
class Mapping:
    """A repository's mapping: its rules, its record key fields, the fields that identify a
    publication whatever its key (``identifier_fields``) and a digest of its text."""

    name: str
    digest: str
    key_fields: list[str]
    identifier_fields: list[str]
    record_class: URIRef
    language_field: str | None
    rules: dict[str, FieldRule]
    unmapped_namespace: Namespace

    @classmethod
    def load(cls, path: Path | str | None = None) -> Mapping:
        """Read a mapping file; the bundled IDB mapping when no path is given."""
        if path is None:
            text = (resources.files("policykg.graph") / "data" / DEFAULT_MAPPING).read_text("utf-8")
            name = DEFAULT_MAPPING
        else:
            text, name = Path(path).read_text("utf-8"), str(path)
        config = tomllib.loads(text)
        prefixes = config.get("prefixes", {})
        expand = _expander(prefixes, name)
        record = config.get("record", {})
        rules = {
            field_name: _rule(field_name, table, expand)
            for field_name, table in config.get("fields", {}).items()
        }
        return cls(
            name=name,
            digest=hashlib.sha256(text.encode("utf-8")).hexdigest()[:16],
            key_fields=list(record.get("key", [])),
            identifier_fields=_mapped(record.get("identifiers", []), rules, name),
            record_class=expand(record.get("class", "pkg:Publication")),
            language_field=record.get("language-field"),
            rules=rules,
            unmapped_namespace=Namespace(prefixes.get("dsf", str(DSF))),
        )

    def fields_of(self, property_iri: str) -> list[str]:
        """The DSpace fields whose values land under a property (for naming fields in reports)."""
        fields = [rule.field for rule in self.rules.values() if str(rule.property) == property_iri]
        if property_iri.startswith(str(self.unmapped_namespace)):
            fields.append(unquote(property_iri[len(self.unmapped_namespace):]))
        return fields

    def unmapped_property(self, field_name: str) -> URIRef:
        """The property a field with no rule is kept under: the field's name in the dsf:
        namespace, quoted where an IRI cannot hold it."""
        return self.unmapped_namespace[quote(field_name, safe="-._~:@")]


def _mapped(fields: list[str], rules: dict[str, FieldRule], source: str) -> list[str]:
    """Fields the mapping has a rule for, else a ValueError naming the one that has none."""
    for name in fields:
        if name not in rules:
            raise ValueError(f"{source}: identifier field '{name}' has no [fields] table")
    return list(fields)


def _expander(prefixes: dict[str, str], source: str) -> Callable[[str], URIRef]:
    def expand(curie: str) -> URIRef:
        prefix, _, local = curie.partition(":")
        if prefix in prefixes:
            return URIRef(prefixes[prefix] + local)
        if curie.startswith(("http://", "https://")):
            return URIRef(curie)
        raise ValueError(f"{source}: unknown prefix in '{curie}'")

    return expand


_OPTION_IRIS = {"ordered", "same-as", "recorded-as"}


def _rule(field_name: str, table: dict[str, str], expand: Callable[[str], URIRef]) -> FieldRule:
    kind = table.get("kind")
    if kind not in KINDS:
        known = ", ".join(sorted(KINDS))
        raise ValueError(f"mapping field {field_name}: unknown kind {kind!r}; known: {known}")
    options = {
        key: str(expand(value)) if key in _OPTION_IRIS else value
        for key, value in table.items()
        if key not in ("kind", "property")
    }
    return FieldRule(field_name, kind, expand(table["property"]), options)


# Names, labels and keywords recur from record to record: their folded and slugged forms are
# computed once per process.
_slug = lru_cache(maxsize=65_536)(normalise.slug)


@dataclass
class MappedRecord:
    """A record as RDF: its key, its publication IRI, its triples, and what was wrong with it."""

    record: Record
    key: str
    iri: URIRef
    triples: set[Triple]
    problems: list[Problem] = field(default_factory=list)
    unmapped_fields: list[str] = field(default_factory=list)
    # the field values each term (as text) was made from: a problem SHACL finds with an IRI
    # the mapping minted (id/jel/Z99) is told with the value as written ("Z99 - Management")
    sources: dict[str, list[FieldValue]] = field(default_factory=dict)

    def written(self, term: str, fields: list[str]) -> FieldValue | None:
        """The value, of one of ``fields`` (any, if none is given), that ``term`` was made
        from; None if none was."""
        return next((fv for fv in self.sources.get(term, ())
                     if not fields or fv.field in fields), None)

    @cached_property
    def graph(self) -> Graph:
        """The triples as an rdflib Graph (made on first use)."""
        return flat_graph(self.triples)


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


def map_record(record: Record, mapping: Mapping, uris: Uris, lookups: Lookups,
               key: str | None = None) -> MappedRecord:
    """The RDF of one record, under ``key`` (else its own: record_key); values that cannot
    be converted become Violations."""
    key = key or record_key(record, mapping)
    subject = uris.id("publication", key)
    triples: set[Triple] = set()
    emitter = Emitter(triples, subject, uris, lookups, _record_language(record, mapping))
    mapped = MappedRecord(record, key, subject, triples, sources=emitter.sources)
    triples.add((subject, _TYPE, mapping.record_class))
    for fv in record.fields:
        if normalise.control_characters(fv.value):
            mapped.problems.append(Problem("Violation", fv.field, fv.value,
                                           "contains control characters"))
            continue
        emitter.current = fv
        try:
            _map_value(emitter, mapping, mapped, fv)
        except DoubtfulValue as error:
            emitter.add(mapping.unmapped_property(fv.field), emitter.text(fv))
            mapped.problems.append(Problem("Warning", fv.field, fv.value,
                                           f"{error}; kept as written"))
        except InvalidValue as error:
            mapped.problems.append(Problem("Violation", fv.field, fv.value, str(error)))
        except Exception as error:  # a bug of ours on one value must not stop a whole load
            mapped.problems.append(Problem(
                "Violation", fv.field, fv.value,
                f"could not be mapped ({type(error).__name__}: {error}); please report it"))
    emitter.current = None
    labels = _list_labels(key)
    for number, (predicate, members) in enumerate(emitter.lists.items()):
        emitter.add(predicate, _rdf_list(triples, members, f"{labels}x{number}"))
    return mapped


def _map_value(emitter: Emitter, mapping: Mapping, mapped: MappedRecord,
               fv: FieldValue) -> None:
    """The triples of one value: by its field's rule, else kept under the dsf: property."""
    rule = mapping.rules.get(fv.field)
    if rule is None:
        emitter.add(mapping.unmapped_property(fv.field), emitter.text(fv))
        mapped.unmapped_fields.append(fv.field)
    else:
        KINDS[rule.kind](emitter, rule, fv)


def _list_labels(key: str) -> str:
    """The start of the blank node labels of a record's lists: its own (a hash of its key),
    and the same each time it is mapped, so that mapping a record is a pure function."""
    return "l" + hashlib.blake2s(key.encode(), digest_size=8).hexdigest()


def _rdf_list(triples: set[Triple], members: list[URIRef], label: str) -> BNode | URIRef:
    """An rdf:List of members (as rdflib's Collection writes it), its nodes labelled
    ``label`` and their position; its head."""
    if not members:
        return _NIL
    head = BNode(f"{label}n0")
    node: BNode | URIRef = head
    for index, member in enumerate(members):
        triples.add((node, _FIRST, member))
        following = BNode(f"{label}n{index + 1}") if index + 1 < len(members) else _NIL
        triples.add((node, _REST, following))
        node = following
    return head


def unmapped_fields(record: Record, mapping: Mapping) -> list[str]:
    """The fields of a record that no rule maps (kept as dsf: literals), as map_record finds
    them: one entry per value, values with control characters left out (they are rejected)."""
    return [fv.field for fv in record.fields
            if fv.field not in mapping.rules and not normalise.control_characters(fv.value)]


def record_key(record: Record, mapping: Mapping) -> str:
    """The publication's natural key: the first key field present, else a hash of the source id."""
    for key_field in mapping.key_fields:
        value = record.first(key_field)
        if not value:
            continue
        rule = mapping.rules.get(key_field)
        if rule is not None and rule.kind == "doi":
            try:
                return "doi-" + normalise.doi(value).replace("/", "_")
            except InvalidValue:
                continue
        key = normalise.tidy(value).replace(" ", "-")
        if key:
            return key
    return "h-" + hashlib.sha256(f"{record.source}#{record.source_id}".encode()).hexdigest()[:16]


def identifiers(record: Record, mapping: Mapping, uris: Uris,
                lookups: Lookups) -> list[tuple[URIRef, URIRef | Literal]]:
    """The (property, value) pairs of a record's identifier fields (its DOI, its handle), as
    its graph holds them; values that do not map are left out (map_record reports them)."""
    found: list[tuple[URIRef, URIRef | Literal]] = []
    subject = uris.id("publication", record_key(record, mapping))
    for field_name in mapping.identifier_fields:
        rule = mapping.rules[field_name]
        for fv in record.fields:
            if fv.field != field_name:
                continue
            triples: set[Triple] = set()
            try:
                KINDS[rule.kind](Emitter(triples, subject, uris, lookups, None), rule, fv)
            except (InvalidValue, DoubtfulValue):
                continue
            found += [(rule.property, o) for _, p, o in sorted(triples)
                      if p == rule.property and isinstance(o, URIRef | Literal)]
    return found


def is_number_key(key: str) -> bool:
    """Whether a publication key was minted from a field as recorded (the publication number),
    not from a DOI ("doi-...") or a hash of the source ("h-...")."""
    return not key.startswith(("doi-", "h-"))


def _record_language(record: Record, mapping: Mapping) -> str | None:
    """The language tag of the record's texts that have none: the primary subtag of its
    language field ('es_AR' -> 'es'), or the code of the language it names ('Español' ->
    'es'); None when it is neither."""
    value = record.first(mapping.language_field) if mapping.language_field else None
    tag = normalise.language_tag(value)
    code = tag.split("-")[0] if tag else ""
    if len(code) in (2, 3):
        return code
    try:
        return normalise.language_code(value) if value else None
    except DoubtfulValue:
        return None


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
    name = normalise.tidy(fv.value)
    found = out.lookups.find("regions", name)
    if found is None:
        found = out.uris.id("region", _slug(name))
        out.about(found, _LABEL, out.label(fv, name))
    out.add(rule.property, found)


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
    name = normalise.tidy(fv.value)
    concept = out.lookups.find("doctypes", name)
    if concept is None:
        concept = out.uris.id("doctype", _slug(name))
        out.about(concept, _LABEL, out.label(fv, name))
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
