"""RDF building blocks every stage shares: ``namespaces``, ``uris`` (the IRIs the graph mints),
``terms`` (rdflib and pyoxigraph terms, N-Quads text), ``queries`` (reading .rq files),
``sparql_text`` (rewriting query text), ``sparql_errors`` (syntax errors as people read them)
and ``flatstore`` (a lean in-memory rdflib store).
Imports nothing of policykg.
"""
