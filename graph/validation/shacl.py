"""SHACL validation of mapped records against the policykg shapes and the reference vocabularies.

Records are validated in batches: one pyshacl run over the union of the record graphs and the
reference graph (ontology and vocabularies), each result then attributed to the records whose
graph describes (has as a subject) the result's focus node. The shapes target only nodes that
records assert, so the reference graph on its own yields no results.

The reference is merged into the data graph rather than passed as pyshacl's ont_graph: that
mixes in only RDFS/OWL axioms, not the vocabularies' skos:inScheme and skos:notation triples
the shapes read (and was slower).

A batch is split in two runs when some of its values may fail the constraints pyshacl checks
dearly and records rarely fail (sh:or lists of datatypes, sh:not and sh:node of "has value"):
those records against the whole shapes, the others against the shapes without them
(policykg.graph.validation.shortcuts). Like the batch's bounds, the split decides which records'
triples a record is validated with: a person two records describe differently (two family
names) is only seen so when both are in the same run.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from itertools import chain

import pyshacl
from rdflib import Graph, Literal
from rdflib.namespace import FOAF, RDFS, SH, SKOS
from rdflib.term import Node, URIRef

from policykg.graph.rdf.flatstore import FlatStore, flat_graph
from policykg.graph.rdf.terms import Triple
from policykg.graph.validation.shortcuts import Shortcuts

SEVERITY_RANK = {"Violation": 0, "Warning": 1, "Info": 2}
VALUE_CHARS = 200  # longer literal values are cut in Issue.value
_LABELS = (SKOS.notation, RDFS.label, SKOS.prefLabel, FOAF.name)
_PLACEHOLDER = re.compile(r"\{[?$](value|length)\}")


@dataclass(frozen=True)
class Issue:
    """One SHACL result: severity ("Violation", "Warning", "Info"), focus node IRI, the property
    IRI (or None), the offending value (cut to VALUE_CHARS characters, or None), the message;
    for a value that is an IRI, how messages name it (its notation or label, else the last
    segment of the IRI: id/jel/Z99 -> Z99)."""

    severity: str
    focus: str
    path: str | None
    value: str | None
    message: str
    named: str | None = None

    def __str__(self) -> str:
        return f"{self.severity}: {self.message}"


@cache
def load_shapes() -> Graph:
    """The policykg shapes graph (cached and shared: do not modify it)."""
    text = (files("policykg.shapes") / "policykg-shapes.ttl").read_text(encoding="utf-8")
    parsed = Graph().parse(data=text, format="turtle")
    # pyshacl reads the shapes graph for every shape it checks on every focus node: a FlatStore.
    return flat_graph(parsed, parsed.namespaces())


@cache
def _default_shortcuts() -> Shortcuts:
    return Shortcuts.of(load_shapes())


def validate(
    record_graphs: Mapping[str, Iterable[Triple]], reference: Iterable[Triple],
    shapes: Graph | None = None,
) -> dict[str, list[Issue]]:
    """The issues of each record (every key present, clean records with an empty list).

    A record "graph" is anything that iterates over its triples: a Graph, a set of triples."""
    return validate_with_report(record_graphs, reference, shapes)[0]


def validate_with_report(
    record_graphs: Mapping[str, Iterable[Triple]], reference: Iterable[Triple],
    shapes: Graph | None = None,
) -> tuple[dict[str, list[Issue]], Graph]:
    """The issues of each record, and the SHACL report graph of the batch (of one pyshacl run,
    or two: see above)."""
    owners: dict[str, set[str]] = defaultdict(set)
    for key, graph in record_graphs.items():
        for subject in {triple[0] for triple in graph}:
            owners[str(subject)].add(key)
    found: dict[str, list[Issue]] = {key: [] for key in record_graphs}
    report = Graph()
    reference = list(reference)
    for graphs, shapes_graph in _runs(record_graphs, reference, shapes):
        _, part_report, issues = _run(union([*graphs, reference]), shapes_graph)
        report += part_report
        for issue in issues:
            for key in owners.get(issue.focus, ()):
                found[key].append(issue)
    return found, report


def _runs(
    record_graphs: Mapping[str, Iterable[Triple]], reference: list[Triple], shapes: Graph | None
) -> list[tuple[list[Iterable[Triple]], Graph]]:
    """The batch's pyshacl runs: the records none of whose values can fail a shortcut
    constraint against the shapes without them, the others against the whole shapes."""
    whole = shapes if shapes is not None else load_shapes()
    shortcuts = _default_shortcuts() if shapes is None else Shortcuts.of(shapes)
    if not shortcuts:
        return [(list(record_graphs.values()), whole)]
    facts = shortcuts.facts(chain(reference, *record_graphs.values()))
    checked: list[Iterable[Triple]] = []
    passing: list[Iterable[Triple]] = []
    for graph in record_graphs.values():
        (checked if shortcuts.may_fail(graph, facts) else passing).append(graph)
    runs = [(passing, shortcuts.without), (checked, whole)]
    return [(graphs, shapes_graph) for graphs, shapes_graph in runs if graphs]


def validate_graph(
    data: Graph, reference: Graph | None = None, shapes: Graph | None = None
) -> tuple[bool, Graph, list[Issue]]:
    """(conforms, SHACL report graph, issues) for a whole data graph, e.g. a store's contents.

    Warnings and infos do not break conformance. Messages in the report are filled in as in
    the issues.
    """
    return _run(data if reference is None else union([data, reference]), shapes)


def union(graphs: Iterable[Iterable[Triple]]) -> Graph:
    """A new graph holding the triples of all the given graphs (or sets of triples), on a
    FlatStore, which pyshacl reads faster than rdflib's default store (bench/profile_load.py)."""
    merged = flat_graph()
    store = merged.store
    assert isinstance(store, FlatStore)
    add = store.add_triples
    for graph in graphs:
        add(graph)
    return merged


def _run(data: Graph, shapes: Graph | None) -> tuple[bool, Graph, list[Issue]]:
    """Validate data (not modified: no inference runs) and read the report."""
    conforms, report, _ = pyshacl.validate(
        data,
        shacl_graph=shapes if shapes is not None else load_shapes(),
        inference="none",
        abort_on_first=False,
        allow_warnings=True,
        allow_infos=True,
        inplace=True,
    )
    issues = [_issue(report, result, data) for result in report.objects(None, SH.result)]
    issues.sort(key=lambda i: (SEVERITY_RANK.get(i.severity, 3), i.focus, i.path or "", i.message))
    return bool(conforms), report, issues


def _issue(report: Graph, result: Node, data: Graph) -> Issue:
    """The Issue of one sh:ValidationResult; fills the message's placeholders in the report too."""
    focus = report.value(result, SH.focusNode)
    value = report.value(result, SH.value)
    path = report.value(result, SH.resultPath)
    if not isinstance(path, URIRef) and value is not None:  # alternative path: which property?
        properties = set(data.predicates(focus, value))
        path = properties.pop() if len(properties) == 1 else None
    message = report.value(result, SH.resultMessage)
    text = _fill(str(message), value, data) if message is not None else "does not conform"
    if isinstance(message, Literal) and text != str(message):
        report.set((result, SH.resultMessage, Literal(text, lang=message.language)))
    value_text = None if value is None else str(value)
    if value_text is not None and len(value_text) > VALUE_CHARS:
        value_text = value_text[:VALUE_CHARS] + "…"
    return Issue(
        severity=str(report.value(result, SH.resultSeverity)).rpartition("#")[2],
        focus=str(focus),
        path=str(path) if isinstance(path, URIRef) else None,
        value=value_text,
        message=text,
        named=_display(value, data) if isinstance(value, URIRef) else None,
    )


def _fill(message: str, value: Node | None, data: Graph) -> str:
    """{?value}: the value's notation or label (or the value); {?length}: its characters."""
    if value is None:
        return message

    def replace(match: re.Match[str]) -> str:
        if match.group(1) == "length":
            return f"{len(str(value)):,}"
        return _display(value, data)

    return _PLACEHOLDER.sub(replace, message)


def _display(value: Node, data: Graph) -> str:
    """How a message names a value: its skos:notation, rdfs:label, skos:prefLabel or foaf:name,
    else the last segment of its IRI (id/jel/Z99 -> Z99); a literal as itself, cut."""
    if isinstance(value, Literal):
        text = str(value)
        return text if len(text) <= 80 else text[:80] + "…"
    for prop in _LABELS:
        label = data.value(value, prop)
        if label is not None:
            return str(label)
    return re.split(r"[/#]", str(value).rstrip("/#"))[-1] or str(value)
