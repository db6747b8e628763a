"""Where the graph lives: the ``GraphStore`` interface every other stage speaks, its two
backends (``embedded``: Oxigraph in this process; ``remote``: any SPARQL 1.1 store over HTTP) and
the registry that opens one by the scheme of its location. Imports nothing of policykg but
``graph.rdf`` and ``graph.config``.
"""

from policykg.graph.store.interface import (
    EXPORT_FORMATS,
    GraphStore,
    StoreBusy,
    StoreError,
    StoreTimeout,
    StoreUnavailable,
    WriteBatch,
)
from policykg.graph.store.registry import is_embedded, open_store, scheme_of

__all__ = ["EXPORT_FORMATS", "GraphStore", "StoreBusy", "StoreError", "StoreTimeout",
           "StoreUnavailable", "WriteBatch", "is_embedded", "open_store", "scheme_of"]
