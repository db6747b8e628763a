"""The query catalogue over HTTP: ``catalogue`` (the named SPARQL queries of sparql/*.rq, with
typed parameters bound safely) and ``routes`` (/api/queries, /api/openapi.json).
"""

from policykg.webapp.api.routes import blueprint

__all__ = ["blueprint"]
