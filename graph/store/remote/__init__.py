"""A store reached over HTTP (SPARQL 1.1 Query, Update, Graph Store Protocol): ``store`` (the
GraphStore), ``transport`` (the HTTP clients), ``virtuoso`` (Virtuoso's dialect and setup),
``uploads`` (quads sent in whole chunks), ``syntax`` (queries checked before they are sent),
``prepare`` (a query's options written into its text) and ``answers`` (answers read as
pyoxigraph results).
"""

from policykg.graph.store.remote.store import RemoteStore

__all__ = ["RemoteStore"]
