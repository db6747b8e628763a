"""Stores opened by the scheme of their location.

    open_store("oxigraph:/data/store")              # the embedded store on disk (or a plain path)
    open_store(None)                                 # the embedded store in memory
    open_store("sparql+http://host:8890/sparql")     # a SPARQL 1.1 store on the network

A backend is a function ``(location, read_only, settings) -> GraphStore`` registered under a
scheme. The two shipped ones are named in SHIPPED; another package adds one by declaring it in
the entry point group ``policykg.stores`` (name: the scheme, value: ``module:function``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib import import_module
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from policykg.graph.store.interface import GraphStore

if TYPE_CHECKING:
    from policykg.graph.config import Settings

ENTRY_POINTS = "policykg.stores"
EMBEDDED = "oxigraph"
SHIPPED = {
    EMBEDDED: "policykg.graph.store.embedded.oxigraph:open_location",
    "sparql+http": "policykg.graph.store.remote.store:open_location",
    "sparql+https": "policykg.graph.store.remote.store:open_location",
}

Opener = Callable[..., GraphStore]


@cache
def backends() -> dict[str, str]:
    """Scheme -> ``module:function`` of every backend: the shipped ones and the plugins."""
    found = dict(SHIPPED)
    found.update((point.name, point.value) for point in entry_points(group=ENTRY_POINTS))
    return found


def scheme_of(location: str | None) -> str:
    """The scheme of a store location (a plain path, or None for memory: the embedded store)."""
    if location is None:
        return EMBEDDED
    scheme, colon, _ = location.partition(":")
    return scheme if colon and scheme in backends() else EMBEDDED


def is_embedded(location: str | None) -> bool:
    """Whether a location names the embedded store (on disk or in memory)."""
    return scheme_of(location) == EMBEDDED


def open_store(location: str | None, read_only: bool = False,
               settings: Settings | None = None) -> GraphStore:
    """Open the store at a location with the backend of its scheme (a remote store takes its
    endpoints, credentials and time limit from ``settings``; nothing is requested before
    the first operation)."""
    return _opener(backends()[scheme_of(location)])(location, read_only=read_only,
                                                     settings=settings)


def _opener(reference: str) -> Opener:
    module, _, name = reference.partition(":")
    opener: Any = getattr(import_module(module), name)
    return opener
