"""The reference vocabularies' names, folded, to find a resource by any of them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from rdflib import RDFS, SKOS, Graph, URIRef

from policykg.graph.mapping import normalise
from policykg.graph.rdf.namespaces import PKG


@dataclass(frozen=True)
class Lookups:
    """Labels of the reference vocabularies, folded, to find a resource by any of its names."""

    by_label: dict[str, dict[str, URIRef]]
    document_classes: dict[URIRef, list[URIRef]]

    @classmethod
    def from_graphs(cls, graphs: dict[str, Graph]) -> Lookups:
        """Index the vocabulary graphs (graph IRI -> Graph) by their last path segment."""
        label_properties = (SKOS.prefLabel, SKOS.altLabel, SKOS.hiddenLabel, RDFS.label,
                            SKOS.notation, PKG.acronym)
        by_label: dict[str, dict[str, URIRef]] = {}
        classes: dict[URIRef, list[URIRef]] = {}
        for graph_iri, graph in graphs.items():
            index = by_label.setdefault(graph_iri.rstrip("/").rsplit("/", 1)[-1], {})
            for prop in label_properties:
                for subject, label in graph.subject_objects(prop):
                    if isinstance(subject, URIRef):
                        index.setdefault(normalise.fold(normalise.tidy(str(label))), subject)
            for concept, class_iri in graph.subject_objects(PKG.documentClass):
                assert isinstance(concept, URIRef) and isinstance(class_iri, URIRef)  # doctypes.ttl
                classes.setdefault(concept, []).append(class_iri)
        return cls(by_label, classes)

    def find(self, vocabulary: str, label: str) -> URIRef | None:
        """The resource of a vocabulary with this label (case and accents ignored)."""
        folded = _folded(label)
        index = self.by_label.get(vocabulary, {})
        found = index.get(folded)
        if found is None and folded.startswith("the "):
            found = index.get(folded[4:])
        return found


@lru_cache(maxsize=65_536)
def _folded(text: str) -> str:
    """A name as looked up (computed once per process: names recur from record to record)."""
    return normalise.fold(normalise.tidy(text))
