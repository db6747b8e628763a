"""OWL RL inference: ``vocabularies`` (the ontology and reference vocabularies of ontology/ as
named graphs), ``reference`` (their closure and the look-ups loading needs) and ``entailment``
(the per-record entailments read off the closure). Imports ``graph.store``, ``graph.mapping``
and ``graph.rdf``.
"""
