"""The embedded store: Oxigraph on disk (``oxigraph``), the folder's life beside other processes
(``folder``: read-only opens, write fingerprints, durability; ``read_snapshot``: private
hard-linked snapshots for readers) and the journal that undoes a bulk write cut short.
"""

from policykg.graph.store.embedded.oxigraph import OxigraphStore

__all__ = ["OxigraphStore"]
