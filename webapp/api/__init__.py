"""The API: ``catalogue`` (the named SPARQL queries of sparql/*.rq, with typed parameters bound
safely), ``search`` (/api/search) and ``routes`` (the blueprint: /api/queries, /api/search,
/api/openapi.json).
"""
