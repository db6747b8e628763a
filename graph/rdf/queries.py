"""The one reader of the query files the code runs: SPARQL queries (.rq) and updates (.ru), and
the SQL of the pair counts file, each read from the package folder it ships in, once a process.

    AGGREGATE_QUERIES.text("hierarchy.rq")   # graph/data/aggregates/hierarchy.rq
    QueryFolder("policykg.sparql").names()   # the named analyst queries, sparql/*.rq
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files


@dataclass(frozen=True)
class QueryFolder:
    """A folder of query files inside a package (``folder`` empty: the package's own)."""

    package: str
    folder: str = ""

    def text(self, name: str) -> str:
        """The text of one file of the folder."""
        return _read(self.package, self.folder, name)

    def names(self, suffix: str = ".rq") -> list[str]:
        """The names of the folder's files that end with ``suffix``, sorted."""
        root = files(self.package)
        folder = root / self.folder if self.folder else root
        return sorted(entry.name for entry in folder.iterdir()
                      if entry.is_file() and entry.name.endswith(suffix))


@cache
def _read(package: str, folder: str, name: str) -> str:
    root = files(package)
    return ((root / folder if folder else root) / name).read_text(encoding="utf-8")


AGGREGATE_QUERIES = QueryFolder("policykg.graph.data", "aggregates")
STORE_QUERIES = QueryFolder("policykg.graph.data", "queries")  # statistics of a store
