"""Generate ontology/closure.ttl: the OWL RL closure of the ontology and the vocabularies.

A store's first load installs the vocabularies with their closure (graph/reference.py);
computing it with owlrl takes seconds, so the closure of the files as shipped is shipped too.
Its second line names the digest of the files it was computed from: a store whose files
differ (a changed vocabulary, not yet rebuilt) computes its own. Run after changing any file
that ontology/vocabularies.toml lists: ``python -m policykg.ontology.build_closure [-o PATH]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rdflib import Graph

from policykg.graph.inference.entailment import closure
from policykg.graph.inference.vocabularies import CLOSURE_FILE, closure_header, vocabulary_graphs
from policykg.ontology.build_jel import PLACEHOLDER, serialize_relative

OUTPUT = Path(__file__).with_name(CLOSURE_FILE)


def build_graph() -> Graph:
    """The closure of every vocabulary file, its instance IRIs under the placeholder base."""
    graphs = vocabulary_graphs(PLACEHOLDER).values()
    asserted = Graph(bind_namespaces="none")
    for graph in graphs:
        asserted += graph
    inferred = closure(asserted)
    for graph in graphs:  # the files' own prefixes (not those of the base's IRIs)
        for prefix, namespace in graph.namespaces():
            if not str(namespace).startswith(PLACEHOLDER):
                inferred.bind(prefix, namespace, override=False)
    return inferred


def main(argv: list[str] | None = None) -> None:
    """Command line: write closure.ttl (or the given path)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    serialize_relative(build_graph(), args.output, "policykg.ontology.build_closure",
                       note=closure_header())


if __name__ == "__main__":
    main()
