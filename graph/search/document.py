"""What the search index holds of a publication: its texts, each with its language, and the
values it is counted under in each facet, read off its record's triples.

Built where a record is prepared for loading (from the triples the mapping made), and, to
rebuild an index, from the store (the record's graph and the graphs of what it names): the
same triples give the same document.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field

from rdflib import Literal, URIRef
from rdflib.term import Node

from policykg.graph.aggregates.hierarchy import ConceptHierarchy
from policykg.graph.rdf.namespaces import BIBO, DCTERMS, FOAF, PKG, RDF, RDFS, SKOS

# The facets a publication is counted under, and the property each is read from.
FACET_PROPERTIES = {
    "type": DCTERMS.type,
    "division": PKG.division,
    "jel": PKG.jel,
    "region": DCTERMS.spatial,
    "language": DCTERMS.language,
    "author": DCTERMS.creator,
    "keyword": PKG.keyword,
}
HIERARCHICAL = ("division", "jel", "region")  # counted with every broader value too
_LABELS = (SKOS.prefLabel, FOAF.name, RDFS.label)
_YEAR = re.compile(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")

Text = tuple[str, str | None]  # a text and its language tag (None: not known)


@dataclass(frozen=True)
class SearchDocument:
    """One publication as the search index holds it."""

    iri: str
    titles: list[Text] = field(default_factory=list)
    abstracts: list[Text] = field(default_factory=list)
    people: list[str] = field(default_factory=list)  # its creators' names, in order
    topics: list[Text] = field(default_factory=list)  # keywords, subjects, JEL labels
    facets: dict[str, list[str]] = field(default_factory=dict)  # facet -> IRIs (rolled up)
    year: int | None = None
    date: int | None = None  # YYYYMMDD of its issue (00 for what is not known), to sort by

    @property
    def title(self) -> str:
        """The title to sort by: the first one."""
        return self.titles[0][0] if self.titles else ""

    def digest(self) -> str:
        """A digest of everything indexed of it: two equal documents index alike."""
        text = json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)
        return hashlib.blake2s(text.encode("utf-8"), digest_size=12).hexdigest()


def document(publication: Node, triples: Iterable[tuple[Node, Node, Node]],
             hierarchy: ConceptHierarchy, concept_labels: Mapping[str, tuple[Text, ...]]
             ) -> SearchDocument:
    """The search document of a publication, from its record's triples and those of the
    things it names (rdflib terms); ``concept_labels``: the labels of vocabulary concepts
    (JEL codes) to index as its topics."""
    about: dict[Node, list[Node]] = {}
    labels: dict[Node, list[Text]] = {}
    cells: dict[Node, tuple[Node | None, Node | None]] = {}
    for subject, predicate, value in triples:
        if subject == publication:
            about.setdefault(predicate, []).append(value)
        elif predicate in _LABELS and isinstance(value, Literal):
            labels.setdefault(subject, []).append((str(value), value.language))
        elif predicate in (RDF.first, RDF.rest):
            first, rest = cells.get(subject, (None, None))
            cells[subject] = (value, rest) if predicate == RDF.first else (first, value)
    creators = _ordered(about.get(DCTERMS.creator, []), about.get(BIBO.authorList, []), cells)
    facets = {name: sorted({str(v) for v in about.get(prop, []) if isinstance(v, URIRef)})
              for name, prop in FACET_PROPERTIES.items()}
    facets["author"] = [str(c) for c in creators]
    for name in HIERARCHICAL:
        facets[name] = sorted(hierarchy.rollup(facets[name]))
    issued = _date(about.get(DCTERMS.issued, []))
    return SearchDocument(
        iri=str(publication),
        titles=_texts(about.get(DCTERMS.title, [])) + _texts(about.get(DCTERMS.alternative, [])),
        abstracts=_texts(about.get(DCTERMS.abstract, [])),
        people=[name for c in creators for name, _ in labels.get(c, [])[:1]],
        topics=sorted({label for c in about.get(PKG.keyword, []) + about.get(DCTERMS.subject, [])
                       for label in labels.get(c, [])}
                      | {label for c in about.get(PKG.jel, [])
                         for label in concept_labels.get(str(c), ())}, key=_text_order),
        facets={name: values for name, values in facets.items() if values},
        year=issued // 10000 if issued else None,
        date=issued,
    )


def _texts(values: list[Node]) -> list[Text]:
    """Literals' texts and languages, in a stable order (triples come in any)."""
    return sorted({(str(v), v.language) for v in values
                   if isinstance(v, Literal) and str(v).strip()}, key=_text_order)


def _text_order(text: Text) -> tuple[str, str]:
    return text[1] or "", text[0]


def _ordered(creators: list[Node], lists: list[Node],
             cells: dict[Node, tuple[Node | None, Node | None]]) -> list[Node]:
    """The creators in the order of the author list, then any it does not hold."""
    ordered: list[Node] = []
    for head in lists:
        node: Node | None = head
        seen = set()
        while node is not None and node in cells and node not in seen:
            seen.add(node)
            first, node = cells[node]
            if first is not None and first not in ordered:
                ordered.append(first)
    return ordered + sorted((c for c in creators if c not in ordered), key=str)


def _date(values: list[Node]) -> int | None:
    """YYYYMMDD of the earliest date of issue (00 for a month or day not given)."""
    found = []
    for value in values:
        match = _YEAR.match(str(value))
        if match:
            year, month, day = match.groups()
            found.append(int(year) * 10000 + int(month or 0) * 100 + int(day or 0))
    return min(found) if found else None
