"""The remote store's own tests' Virtuoso, emptied for each test, and the example terms they
write. A test module imports ``emptied_virtuoso`` to have the ``server`` fixture."""

from __future__ import annotations

from collections.abc import Iterator

import pyoxigraph as ox
import pytest
from virtuoso import Virtuoso

EX = "http://example.org/"
XSD = "http://www.w3.org/2001/XMLSchema#"


def node(name: str) -> ox.NamedNode:
    return ox.NamedNode(EX + name)


@pytest.fixture(name="server")
def emptied_virtuoso(virtuoso: Virtuoso) -> Iterator[Virtuoso]:
    """The session's Virtuoso, emptied, its state unknown afterwards."""
    virtuoso.ensure("empty")
    virtuoso.dirty()
    yield virtuoso
    if virtuoso.process is None or virtuoso.process.poll() is not None:
        virtuoso.start()  # a test that stopped it and failed
    virtuoso.dirty()
