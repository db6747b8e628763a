"""The declarative mapping from DSpace fields to RDF, and its application to one record.

The rules live in a TOML file (graph/data/mapping-idb.toml by default, ``--mapping`` for
another repository); the *kinds* of value a rule can name, and what each makes, are ``kinds``.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from urllib.parse import quote, unquote

from rdflib import RDF, BNode, Graph, Literal, Namespace, URIRef

from policykg.graph.mapping import normalise
from policykg.graph.mapping.kinds import KINDS, Emitter, FieldRule
from policykg.graph.mapping.lookups import Lookups
from policykg.graph.mapping.normalise import DoubtfulValue, InvalidValue
from policykg.graph.rdf.flatstore import flat_graph
from policykg.graph.rdf.namespaces import DSF
from policykg.graph.rdf.terms import Triple
from policykg.graph.rdf.uris import Uris
from policykg.graph.readers.record import FieldValue, Problem, Record

DEFAULT_MAPPING = "mapping-idb.toml"
_TYPE, _FIRST, _REST, _NIL = RDF.type, RDF.first, RDF.rest, RDF.nil


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
